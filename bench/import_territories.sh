#!/usr/bin/env bash
# Times the territory reference import on SQLite and PostgreSQL, release build:
#   1. a full import into an empty database (`ctg-api migrate` seeds the embedded reference:
#      109 départements, 1,255 EPCI, 35,014 communes);
#   2. a refresh from the full upstream files that changes nothing (every row read and compared);
#   3. a refresh where every commune's population changed (35,008 updates in one transaction).
#
# Usage: bench/import_territories.sh [DIR]
#   DIR holds @etalab/decoupage-administratif's departements.json, epci.json and communes.json
#   (default: ../shared/reference/decoupage-administratif).
# PostgreSQL is measured when BENCH_POSTGRES_URL (a server URL, database name included) answers;
# default postgres://postgres@127.0.0.1:5432/postgres. Needs python3 to write the changed files.
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCE="${1:-../shared/reference/decoupage-administratif}"
PG_ADMIN="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export RUST_LOG=warn

# shellcheck source=bench/release.sh
source bench/release.sh
build_release
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# Every commune's population + 1: a refresh that updates all communes and départements.
mkdir "$WORK/changed"
cp "$SOURCE/departements.json" "$SOURCE/epci.json" "$WORK/changed/"
python3 - "$SOURCE/communes.json" "$WORK/changed/communes.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1], encoding="utf-8"))
for row in rows:
    if "population" in row:
        row["population"] += 1
json.dump(rows, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False)
PY

seconds() { date +%s.%N; }
timed() {
    local label="$1"; shift
    local start end
    start=$(seconds)
    "$@" > "$WORK/last.log"
    end=$(seconds)
    awk -v start="$start" -v end="$end" -v label="$label" 'BEGIN { printf "  %-48s %8.0f ms\n", label, (end - start) * 1000 }'
}

measure() {
    local url="$1"
    timed "full import into an empty database" env DATABASE_URL="$url" "$BIN" migrate
    timed "refresh, nothing changed" env DATABASE_URL="$url" "$BIN" import-territories "$SOURCE"
    grep -q "already up to date" "$WORK/last.log" || { echo "expected no change:"; cat "$WORK/last.log"; exit 1; }
    timed "refresh, every commune's population changed" env DATABASE_URL="$url" "$BIN" import-territories "$WORK/changed"
    grep -Eq "communes: 0 inserted, 3[0-9]{4} updated" "$WORK/last.log" || { echo "unexpected report:"; cat "$WORK/last.log"; exit 1; }
}

echo "SQLite"
measure "sqlite://$WORK/bench.sqlite3"

if psql "$PG_ADMIN" -qAtc 'SELECT 1' > /dev/null 2>&1; then
    DB="ctg_bench_$$"
    psql "$PG_ADMIN" -qc "CREATE DATABASE $DB"
    trap 'psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; rm -rf "$WORK"' EXIT
    echo "PostgreSQL"
    measure "${PG_ADMIN%/*}/$DB"
else
    echo "PostgreSQL: not measured ($PG_ADMIN does not answer)"
fi
