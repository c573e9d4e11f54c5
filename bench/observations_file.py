#!/usr/bin/env python3
"""Writes a CSV of observations over the real communes of the territory reference.

Rows cycle through the commune-level annual indicators of the seeded catalogue, every current
commune and the years from 2024 backwards, in the order an export is usually sorted (indicator,
commune, year), until --rows rows are written. About 2% of the values are suppressed, as
statistical secrecy leaves them; the others have one decimal.

Usage: observations_file.py --rows 1000000 --out observations.csv
"""

import argparse
import gzip
import json
import random
from pathlib import Path

INDICATORS = [
    "places_eaje",
    "places_assistants_maternels",
    "places_prescolarisation",
    "places_garde_domicile",
    "enfants_0_2",
    "enfants_3_5",
    "enfants_6_11",
    "enfants_12_17",
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args()

    reference = Path(__file__).resolve().parent.parent / "reference" / "communes.json.gz"
    with gzip.open(reference, "rt", encoding="utf-8") as source:
        communes = [c["code"] for c in json.load(source) if c.get("type") == "commune-actuelle"]
    random.seed(2024)
    written = 0
    latest = 2024
    with open(args.out, "w", encoding="utf-8", newline="") as out:
        out.write("indicator,geo_level,geo_code,period,value,suppressed,source,millesime\n")
        while written < args.rows:
            for indicator in INDICATORS:
                for code in communes:
                    for year in range(latest, latest - args.years, -1):
                        if written == args.rows:
                            return
                        if random.random() < 0.02:
                            out.write(f"{indicator},commune,{code},{year},,true,Cnaf,2025\n")
                        else:
                            value = random.randint(0, 20000)
                            out.write(f"{indicator},commune,{code},{year},{value // 10}.{value % 10},false,Cnaf,2025\n")
                        written += 1
            # More rows than indicators × communes × years: go further back in time.
            latest -= args.years


if __name__ == "__main__":
    main()
