#!/usr/bin/env python3
"""Builds the compact territory reference embedded in the binary.

Reads the files of the npm package @etalab/decoupage-administratif (communes.json, epci.json,
departements.json) and writes the same format, keeping only the fields the service reads and the
communes it keeps (current communes and municipal arrondissements), gzip-compressed.

    python3 reference/compact.py SOURCE_DIR reference/
"""
import gzip
import json
import pathlib
import sys

FIELDS = {
    "departements.json": ["code", "nom", "region", "chefLieu", "zone"],
    "epci.json": ["code", "nom", "type", "modeFinancement", "populationMunicipale", "membres"],
    "communes.json": ["code", "nom", "type", "departement", "region", "siren", "commune", "codesPostaux", "population"],
}
KEPT_COMMUNE_TYPES = {"commune-actuelle", "arrondissement-municipal"}


def compact(name, rows):
    keep = FIELDS[name]
    if name == "communes.json":
        rows = [row for row in rows if row["type"] in KEPT_COMMUNE_TYPES]
    out = []
    for row in rows:
        entry = {key: row[key] for key in keep if key in row}
        if name == "epci.json":
            entry["membres"] = [{"code": member["code"]} for member in row["membres"]]
        out.append(entry)
    return out


def main(source, target):
    for name in FIELDS:
        rows = json.loads((pathlib.Path(source) / name).read_text(encoding="utf-8"))
        text = json.dumps(compact(name, rows), ensure_ascii=False, separators=(",", ":"))
        # mtime=0 keeps the output byte-identical from one run to the next.
        with open(pathlib.Path(target) / f"{name}.gz", "wb") as raw:
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
                out.write(text.encode("utf-8"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
