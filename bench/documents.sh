#!/usr/bin/env bash
# Documents: upload and download throughput of a 20 MiB file (BENCH_MIB) against a 2 MiB one
# (BENCH_SMALL_MIB), and the server's peak resident memory (VmHWM) after each: if memory grew
# with the file, the large file's figure would be well above the small one's.
#
#   for each backend (SQLite, then PostgreSQL when one answers at BENCH_POSTGRES_URL) and each
#   file: a fresh server on a fresh database, one contract, the file uploaded with curl
#   (POST /v1/contracts/{id}/documents, the raw file as the body), then downloaded
#   (GET …/content) and compared byte for byte; peak memory read at start, after the upload
#   and after the download.
#
# Usage: bench/documents.sh            (BENCH_PROFILE=debug measures the debug build instead)
# Needs: cargo, python3, curl, cmp; psql for the PostgreSQL part. Talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

MIB="${BENCH_MIB:-20}"
SMALL_MIB="${BENCH_SMALL_MIB:-2}"
POSTGRES_URL="${BENCH_POSTGRES_URL-postgres://postgres@127.0.0.1:5432}"
PROFILE="${BENCH_PROFILE:-release}"

# shellcheck source=bench/release.sh
source bench/release.sh
require_tools cargo python3 curl cmp

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ctg-api-target}"
echo "== building the $PROFILE binary"
if [[ "$PROFILE" == release ]]; then
    cargo build --release --quiet --bin ctg-api
else
    cargo build --quiet --bin ctg-api
fi
BIN="$CARGO_TARGET_DIR/$PROFILE/ctg-api"

WORK="$(mktemp -d)"
SERVER_PID=""
SCRATCH_DB="ctg_bench_documents_$$"
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

# pdf_file MIB PATH: a file the service takes for a PDF, random after its first line.
pdf_file() {
    { printf '%%PDF-1.7\n'; head -c "$(($1 * 1024 * 1024 - 9))" /dev/urandom; } > "$2"
}
pdf_file "$SMALL_MIB" "$WORK/small.pdf"
pdf_file "$MIB" "$WORK/large.pdf"

start_server() {
    local port
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    BASE="http://127.0.0.1:$port"
    export CTG_BIND="127.0.0.1:$port"
    export CTG_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
    # A benchmark is one client far past any rate a person sends: the limits are off.
    export CTG_RATE_LIMIT_PER_SUBJECT=0 CTG_RATE_LIMIT_PER_ADDRESS=0
    export CTG_JWT_ISSUER=bench
    export RUST_LOG="${RUST_LOG:-warn}"
    "$BIN" serve > "$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 120); do
        if curl -fs -o /dev/null "$BASE/health/ready"; then break; fi
        kill -0 "$SERVER_PID" 2> /dev/null || { echo "bench: the server exited during start-up" >&2; exit 1; }
        sleep 0.5
    done
    curl -fs -o /dev/null "$BASE/health/ready" || { echo "bench: the server is not ready after 60 s" >&2; exit 1; }
    TOKEN="$("$BIN" token --role admin --sub bench-documents --lifetime-seconds 7200)"
    CONTRACT="$(curl -fs -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d '{"kind":"ctg","title":"CTG banc","department":"74","start_date":"2025-01-01","end_date":"2029-12-31","fields":["petite_enfance"],"perimeter":{"epcis":["200000172"]}}' \
        "$BASE/v1/contracts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
}

peak_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }
mib_per_s() { python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]):.1f}')" "$1" "$2"; }

fresh_database() {
    if [[ "$1" == sqlite ]]; then
        export DATABASE_URL="sqlite://$WORK/$2.sqlite3"
    else
        psql -q "$POSTGRES_URL/postgres" -c "CREATE DATABASE ${SCRATCH_DB}_$2" > /dev/null
        SCRATCH_DBS+=("${SCRATCH_DB}_$2")
        export DATABASE_URL="$POSTGRES_URL/${SCRATCH_DB}_$2"
    fi
}

# measure BACKEND NAME MIB: one file through a fresh server.
measure() {
    local backend="$1" name="$2" mib="$3" start code up down location
    fresh_database "$backend" "$name"
    start_server
    start="$(peak_mb)"
    read -r code up < <(curl -s -o "$WORK/created.json" -w '%{http_code} %{time_total}\n' -X POST \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' -T "$WORK/$name.pdf" \
        "$BASE/v1/contracts/$CONTRACT/documents?kind=other&filename=$name.pdf")
    [[ "$code" == 201 ]] || { echo "bench: the upload answered $code: $(head -c 500 "$WORK/created.json")" >&2; exit 1; }
    local after_upload
    after_upload="$(peak_mb)"
    location="$(python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); print("/v1/contracts/%s/documents/%s" % (d["contract_id"], d["id"]))' "$WORK/created.json")"
    read -r code down < <(curl -s -o "$WORK/back.pdf" -w '%{http_code} %{time_total}\n' \
        -H "Authorization: Bearer $TOKEN" "$BASE$location/content")
    [[ "$code" == 200 ]] || { echo "bench: the download answered $code" >&2; exit 1; }
    cmp -s "$WORK/$name.pdf" "$WORK/back.pdf" || { echo "bench: the download differs from the upload" >&2; exit 1; }
    echo "   $mib MiB: upload $up s ($(mib_per_s "$mib" "$up") MiB/s), download $down s ($(mib_per_s "$mib" "$down") MiB/s);" \
        "peak memory $start MB at start, $after_upload MB after the upload, $(peak_mb) MB after the download"
    stop_server
}

for backend in sqlite postgres; do
    if [[ "$backend" == postgres ]] && ! { [[ -n "$POSTGRES_URL" ]] && command -v psql > /dev/null \
        && psql -q "$POSTGRES_URL/postgres" -c "SELECT 1" > /dev/null 2>&1; }; then
        echo "== PostgreSQL skipped: nothing answers at '$POSTGRES_URL' (or psql is missing)"
        continue
    fi
    echo "== $backend ($PROFILE build)"
    measure "$backend" small "$SMALL_MIB"
    measure "$backend" large "$MIB"
done
