#!/usr/bin/env bash
# Bulk ingestion of observations, release build: rows per second through the API against a bare
# `sqlite3` import of the same file, and the server's peak memory as the file grows.
#
#   1. generates CSV files of observations over the real communes (bench/observations_file.py):
#      a small one (BENCH_SMALL_ROWS, 100,000) and the measured one (BENCH_ROWS, 1,000,000);
#   2. imports the measured file with the sqlite3 command-line tool into a bare table: once with
#      the same primary key as the service's table, once with no key at all;
#   3. posts each file to POST /v1/observations/bulk of a fresh ctg-api on a fresh SQLite file
#      (following it to its end when it is taken as a job), reading the server's peak resident
#      memory (VmHWM) after it, and the log's split between checking and applying (the apply is
#      all other writers ever wait for): if memory grew with the file,
#      the measured file's figure would be well above the small one's; then posts the measured
#      file again (every row an update);
#   4. does the same on PostgreSQL when one answers at BENCH_POSTGRES_URL
#      (postgres://postgres@127.0.0.1:5432, a scratch database is created and dropped; set it
#      empty to skip PostgreSQL).
#
# Usage: bench/observations.sh
# Needs: cargo, python3, curl, sqlite3; psql for the PostgreSQL part. Talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS="${BENCH_ROWS:-1000000}"
SMALL_ROWS="${BENCH_SMALL_ROWS:-100000}"
POSTGRES_URL="${BENCH_POSTGRES_URL-postgres://postgres@127.0.0.1:5432}"

# shellcheck source=bench/release.sh
source bench/release.sh
require_tools cargo python3 curl sqlite3

build_release

WORK="$(mktemp -d)"
SERVER_PID=""
SCRATCH_DB="ctg_bench_observations_$$"
SCRATCH_DBS=()
stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2> /dev/null; then
        kill "$SERVER_PID"
        wait "$SERVER_PID" 2> /dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    local status=$?
    stop_server
    if [[ $status -ne 0 && -s "$WORK/server.log" ]]; then
        echo "-- last lines of the server log:" >&2
        tail -n 20 "$WORK/server.log" >&2
    fi
    for database in "${SCRATCH_DBS[@]}"; do
        psql -q "$POSTGRES_URL/postgres" -c "DROP DATABASE IF EXISTS $database" > /dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }
rate() { python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]):,.0f}')" "$1" "$2"; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

echo "== generating $SMALL_ROWS and $ROWS observations over the reference's communes"
python3 bench/observations_file.py --rows "$SMALL_ROWS" --out "$WORK/small.csv"
python3 bench/observations_file.py --rows "$ROWS" --out "$WORK/observations.csv"
echo "   $(du -m "$WORK/observations.csv" | cut -f1) MB"

# bare_import NAME TAIL: the sqlite3 tool's own CSV import (one transaction) into a fresh table
# whose definition ends with TAIL: the closing parenthesis, after a primary key if there is one.
bare_import() {
    local name="$1" tail="$2" started finished
    rm -f "$WORK/bare.sqlite3"
    sqlite3 "$WORK/bare.sqlite3" "PRAGMA journal_mode = WAL;
        CREATE TABLE observations (indicator TEXT NOT NULL, geo_level TEXT NOT NULL, geo_code TEXT NOT NULL,
            period TEXT NOT NULL, value TEXT, suppressed TEXT, source TEXT NOT NULL, millesime TEXT $tail;" > /dev/null
    started="$(now)"
    sqlite3 "$WORK/bare.sqlite3" ".import --csv --skip 1 $WORK/observations.csv observations"
    finished="$(now)"
    local count
    count="$(sqlite3 "$WORK/bare.sqlite3" 'SELECT count(*) FROM observations')"
    [[ "$count" == "$ROWS" ]] || { echo "bench: the bare import holds $count rows" >&2; exit 1; }
    BARE_SECONDS["$name"]="$(elapsed "$started" "$finished")"
    echo "   sqlite3 .import, $name: ${BARE_SECONDS[$name]} s, $(rate "$ROWS" "${BARE_SECONDS[$name]}") rows/s"
}
declare -A BARE_SECONDS
echo "== bare sqlite3 import"
bare_import "same primary key" ", PRIMARY KEY (indicator, geo_level, geo_code, period)) WITHOUT ROWID"
bare_import "no key" ")"

start_server() {
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    BASE="http://127.0.0.1:$port"
    export CTG_BIND="127.0.0.1:$port"
    export CTG_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
    # A benchmark is one client far past any rate a person sends: the limits are off.
    export CTG_RATE_LIMIT_PER_SUBJECT=0 CTG_RATE_LIMIT_PER_ADDRESS=0
    export CTG_JWT_ISSUER=bench
    export RUST_LOG="${RUST_LOG:-warn,ctg_api::ingest=info}"
    "$BIN" serve > "$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 120); do
        if curl -fs -o /dev/null "$BASE/health/ready"; then break; fi
        kill -0 "$SERVER_PID" 2> /dev/null || { echo "bench: the server exited during start-up" >&2; exit 1; }
        sleep 0.5
    done
    curl -fs -o /dev/null "$BASE/health/ready" || { echo "bench: the server is not ready after 60 s" >&2; exit 1; }
    TOKEN="$("$BIN" token --role admin --sub bench-ingest --lifetime-seconds 7200)"
}

peak_mb() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }

# ingest FILE ROWS: posts the file, follows it to its end when it is taken as a job (202), checks
# the rows it reports, prints the seconds from the first byte sent to the outcome.
ingest() {
    local file="$1" rows="$2" code seconds started location status
    started="$(now)"
    read -r code seconds < <(curl -s -o "$WORK/report.json" -D "$WORK/headers.txt" -w '%{http_code} %{time_total}\n' \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/csv' --data-binary "@$file" \
        "$BASE/v1/observations/bulk")
    if [[ "$code" == 202 ]]; then
        location="$(awk 'tolower($1) == "location:" { print $2 }' "$WORK/headers.txt" | tr -d '\r')"
        while :; do
            curl -fs -o "$WORK/report.json" -H "Authorization: Bearer $TOKEN" "$BASE$location"
            status="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$WORK/report.json")"
            [[ "$status" == succeeded || "$status" == failed ]] && break
            sleep 0.05
        done
        seconds="$(elapsed "$started" "$(now)")"
        code="$status"
        python3 -c 'import json,sys; r = json.load(open(sys.argv[1])); r["rows"] = r["rows_read"]; json.dump(r, open(sys.argv[1], "w"))' "$WORK/report.json"
    fi
    if [[ "$code" != 200 && "$code" != succeeded ]] || [[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"])' "$WORK/report.json")" != "$rows" ]]; then
        echo "bench: the ingestion answered $code:" >&2
        head -c 2000 "$WORK/report.json" >&2
        exit 1
    fi
    echo "$seconds"
}

# fresh_database BACKEND NAME: points DATABASE_URL at an empty database.
fresh_database() {
    if [[ "$1" == sqlite ]]; then
        export DATABASE_URL="sqlite://$WORK/$2.sqlite3"
    else
        psql -q "$POSTGRES_URL/postgres" -c "CREATE DATABASE ${SCRATCH_DB}_$2" > /dev/null
        SCRATCH_DBS+=("${SCRATCH_DB}_$2")
        export DATABASE_URL="$POSTGRES_URL/${SCRATCH_DB}_$2"
    fi
}

# measure BACKEND: each file into a fresh server and database, so that the peak memory after each
# is that file's own (glibc keeps per-thread arenas across requests: see MALLOC_ARENA_MAX in the
# README); then the measured file again on the same server, every row an update.
declare -A API_SECONDS
measure() {
    local backend="$1" before seconds
    fresh_database "$backend" small
    start_server
    before="$(peak_mb)"
    seconds="$(ingest "$WORK/small.csv" "$SMALL_ROWS")"
    echo "   $SMALL_ROWS rows: $seconds s ($(rate "$SMALL_ROWS" "$seconds") rows/s); peak memory $before MB at start, $(peak_mb) MB after"
    grep -aoE '(checked|ingestion) .*' "$WORK/server.log" | sed 's/^/     /'
    stop_server

    fresh_database "$backend" large
    start_server
    seconds="$(ingest "$WORK/observations.csv" "$ROWS")"
    API_SECONDS["$backend"]="$seconds"
    echo "   $ROWS rows: $seconds s ($(rate "$ROWS" "$seconds") rows/s); peak memory $(peak_mb) MB after"
    seconds="$(ingest "$WORK/observations.csv" "$ROWS")"
    echo "   $ROWS rows again, all updates: $seconds s ($(rate "$ROWS" "$seconds") rows/s); peak memory $(peak_mb) MB after"
    grep -aoE '(checked|ingestion) .*' "$WORK/server.log" | sed 's/^/     /'
    stop_server
}

echo "== API on SQLite"
measure sqlite

if [[ -n "$POSTGRES_URL" ]] && command -v psql > /dev/null && psql -q "$POSTGRES_URL/postgres" -c "SELECT 1" > /dev/null 2>&1; then
    echo "== API on PostgreSQL"
    measure postgres
else
    echo "== PostgreSQL skipped: nothing answers at '$POSTGRES_URL' (or psql is missing)"
fi

SQLITE_RATE="$(rate "$ROWS" "${API_SECONDS[sqlite]}")"
RATIO="$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "${BARE_SECONDS[same primary key]}" "${API_SECONDS[sqlite]}")"
echo
echo "== summary ($ROWS rows, file $(du -m "$WORK/observations.csv" | cut -f1) MB)"
echo "   API on SQLite:        $SQLITE_RATE rows/s  (goal: at least 200,000)"
echo "   bare sqlite3, same key: $(rate "$ROWS" "${BARE_SECONDS[same primary key]}") rows/s; API / bare = $RATIO (goal: at least 0.50)"
echo "   bare sqlite3, no key:   $(rate "$ROWS" "${BARE_SECONDS[no key]}") rows/s"
if [[ -n "${API_SECONDS[postgres]:-}" ]]; then
    echo "   API on PostgreSQL:    $(rate "$ROWS" "${API_SECONDS[postgres]}") rows/s"
fi
