#!/usr/bin/env bash
# Read throughput of the contract routes on a national-scale SQLite base, release build.
#
#   1. builds the release binary and starts it on a fresh SQLite file in a temp dir;
#   2. seeds, through the API (bench/seed_national.py), one CAF per département that has one,
#      every EPCI as an organisation and 3,000 CTG contracts spread over the départements in
#      proportion to their EPCI count, each with 2 parties and 10 actions;
#   3. measures with wrk (32 connections, 2 threads, 15 s, after a 3 s warm-up):
#        (a) GET /health/live                      static JSON, no token: the ceiling of the stack
#        (b) GET /v1/contracts/{id}                one contract of the biggest département
#        (c) GET /v1/contracts?department=XX&page_size=50   a page of that département
#      (b) and (c) with a caf_agent token of that département;
#   4. prints requests/s, p50 and p99 per run against the goals.
#
# Usage: bench/contracts.sh
# Knobs (environment): BENCH_DURATION (15s), BENCH_WARMUP (3s), BENCH_CONNECTIONS (32),
# BENCH_THREADS (2), BENCH_CONTRACTS (3000), BENCH_SEED_THREADS (16).
# Needs: cargo, python3 (standard library only), curl, wrk. Talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${BENCH_DURATION:-15s}"
WARMUP="${BENCH_WARMUP:-3s}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
CONTRACTS="${BENCH_CONTRACTS:-3000}"
SEED_THREADS="${BENCH_SEED_THREADS:-16}"

for tool in cargo python3 curl; do
    command -v "$tool" > /dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done
if ! command -v wrk > /dev/null; then
    echo "bench: wrk is needed: 'apt-get install wrk' on Debian/Ubuntu, 'brew install wrk' on macOS" >&2
    exit 1
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ctg-api-target}"
echo "== building the release binary"
cargo build --release --quiet --bin ctg-api
BIN="$CARGO_TARGET_DIR/release/ctg-api"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    local status=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2> /dev/null; then
        kill "$SERVER_PID"
        wait "$SERVER_PID" 2> /dev/null || true
    fi
    # On failure the server's own words usually say why.
    if [[ $status -ne 0 && -s "$WORK/server.log" ]]; then
        echo "-- last lines of the server log:" >&2
        tail -n 20 "$WORK/server.log" >&2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# A port the kernel just handed out and released: free unless something grabs it meanwhile.
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="sqlite://$WORK/bench.sqlite3"
export CTG_BIND="127.0.0.1:$PORT"
export CTG_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
# A benchmark is one client far past any rate a person sends: the limits are off.
export CTG_RATE_LIMIT_PER_SUBJECT=0 CTG_RATE_LIMIT_PER_ADDRESS=0
export CTG_JWT_ISSUER=bench
export RUST_LOG=warn

echo "== starting ctg-api on $BASE (database in $WORK)"
"$BIN" serve > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
# The first start migrates and loads the territory reference; give it up to 60 s.
for _ in $(seq 1 120); do
    if curl -fs -o /dev/null "$BASE/health/ready"; then break; fi
    kill -0 "$SERVER_PID" 2> /dev/null || { echo "bench: the server exited during start-up" >&2; exit 1; }
    sleep 0.5
done
curl -fs -o /dev/null "$BASE/health/ready" || { echo "bench: the server is not ready after 60 s" >&2; exit 1; }

echo "== seeding through the API"
# Two hours: seeding must never run into the token's expiry (the default lifetime is one hour).
ADMIN_TOKEN="$("$BIN" token --role admin --sub bench-seeder --lifetime-seconds 7200)"
python3 bench/seed_national.py --base-url "$BASE" --token "$ADMIN_TOKEN" \
    --contracts "$CONTRACTS" --threads "$SEED_THREADS" --out "$WORK/target.env"
# Sets BENCH_DEPARTMENT, BENCH_CONTRACT_ID, BENCH_SEED_SECONDS, BENCH_SEED_REQUESTS.
source "$WORK/target.env"
AGENT_TOKEN="$("$BIN" token --role caf_agent --department "$BENCH_DEPARTMENT" --sub bench-agent --lifetime-seconds 7200)"
# The WAL is shown apart: after the seeding burst it can dwarf the database, and reads pay for it.
size_mb() { if [[ -f "$1" ]]; then du -m "$1" | cut -f1; else echo 0; fi; }
DB_MB="$(size_mb "$WORK/bench.sqlite3")"
WAL_MB="$(size_mb "$WORK/bench.sqlite3-wal")"

URL_LIVE="$BASE/health/live"
URL_ONE="$BASE/v1/contracts/$BENCH_CONTRACT_ID"
URL_PAGE="$BASE/v1/contracts?department=$BENCH_DEPARTMENT&page_size=50"

# Each measured URL must answer 200 with that token first: wrk would happily time 401s or 404s.
check() {
    local url="$1" token="$2" code auth=()
    [[ -n "$token" ]] && auth=(-H "Authorization: Bearer $token")
    code="$(curl -s -o "$WORK/check.json" -w '%{http_code}' "${auth[@]}" "$url")"
    if [[ "$code" != 200 ]]; then
        echo "bench: GET $url answered $code:" >&2
        cat "$WORK/check.json" >&2
        echo >&2
        exit 1
    fi
}
check "$URL_LIVE" ""
check "$URL_ONE" "$AGENT_TOKEN"
check "$URL_PAGE" "$AGENT_TOKEN"
ITEMS="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$WORK/check.json")"
[[ "$ITEMS" == 50 ]] || { echo "bench: the page holds $ITEMS contracts, not 50: too few contracts in $BENCH_DEPARTMENT" >&2; exit 1; }

# run NAME URL TOKEN: a warm-up (discarded), then the measured run; keeps wrk's report in $WORK.
run() {
    local name="$1" url="$2" token="$3"
    echo "== wrk $name: GET ${url#"$BASE"}"
    BENCH_TOKEN="$token" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/wrk_report.lua "$url" > /dev/null
    BENCH_TOKEN="$token" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/wrk_report.lua "$url" \
        | tee "$WORK/$name.txt"
    local result
    result="$(grep '^BENCH_RESULT' "$WORK/$name.txt")"
    # Any failed request makes the figures meaningless: stop rather than report them.
    if ! grep -q ' non2xx=0 socket_errors=0$' <<< "$result"; then
        echo "bench: $name had failed requests: $result" >&2
        exit 1
    fi
    # Turns "rps=.. p50_ms=.. p99_ms=.." into NAME_rps=.. NAME_p50_ms=.. shell variables.
    eval "$(sed -e 's/^BENCH_RESULT //' -e "s/\([a-z0-9_]*\)=/${name}_\1=/g" <<< "$result")"
}
run live "$URL_LIVE" ""
run one "$URL_ONE" "$AGENT_TOKEN"
run page "$URL_PAGE" "$AGENT_TOKEN"

# The goals, checked with awk since the figures are decimals.
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }
RATIO="$(awk -v a="$one_rps" -v b="$live_rps" 'BEGIN { printf "%.1f", 100 * a / b }')"
GOAL_RATIO="$(verdict "$RATIO >= 15")"
GOAL_P99="$(verdict "$one_p99_ms < 10")"
GOAL_PAGE="$(verdict "$page_rps >= 3000")"

echo
echo "== summary: $CONTRACTS contracts seeded in $BENCH_SEED_SECONDS s ($BENCH_SEED_REQUESTS requests), database $DB_MB MB + WAL $WAL_MB MB;"
echo "   département $BENCH_DEPARTMENT; wrk $THREADS threads, $CONNECTIONS connections, $DURATION per run"
printf '%-52s %12s %10s %10s\n' "route" "requests/s" "p50 ms" "p99 ms"
printf '%-52s %12s %10s %10s\n' "(a) GET /health/live" "$live_rps" "$live_p50_ms" "$live_p99_ms"
printf '%-52s %12s %10s %10s\n' "(b) GET /v1/contracts/{id}" "$one_rps" "$one_p50_ms" "$one_p99_ms"
printf '%-52s %12s %10s %10s\n' "(c) GET /v1/contracts?department=$BENCH_DEPARTMENT&page_size=50" "$page_rps" "$page_p50_ms" "$page_p99_ms"
echo
echo "goals:"
printf '  %-52s %-18s %s\n' "(b) rate >= 15% of (a)" "$RATIO%" "$GOAL_RATIO"
printf '  %-52s %-18s %s\n' "(b) p99 < 10 ms" "$one_p99_ms ms" "$GOAL_P99"
printf '  %-52s %-18s %s\n' "(c) >= 3,000 requests/s" "$page_rps/s" "$GOAL_PAGE"
