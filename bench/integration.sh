#!/usr/bin/env bash
# The integration routes on the national-scale data set, release build, SQLite:
#
#   1. seeds through the API the data set of bench/contracts.sh (a CAF per département, every
#      EPCI, 3,000 CTGs with 2 parties and 10 actions each), then signs and funds every contract
#      of the département with the most contracts (bench/fund_department.py: signatures, a
#      four-year commitment, its schedule and one payment each), then posts a million commune
#      observations (bench/observations_file.py) and a coverage rate for every EPCI;
#   2. measures GET /v1/departments/{code}/summary of that département with wrk (8 connections,
#      2 threads, 15 s after a 3 s warm-up) with a CAF agent token: p50 and p99 against the goal
#      of a p99 under 50 ms;
#   3. follows GET /v1/events from the start to the end, 1,000 events a page, as an admin and as
#      that département's integration: events per second.
#
# Usage: bench/integration.sh
# Knobs (environment): BENCH_CONTRACTS (3000), BENCH_OBSERVATIONS (1000000), BENCH_DURATION (15s).
# Needs: cargo, python3, curl, wrk. Talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

CONTRACTS="${BENCH_CONTRACTS:-3000}"
OBSERVATIONS="${BENCH_OBSERVATIONS:-1000000}"
DURATION="${BENCH_DURATION:-15s}"

# shellcheck source=bench/release.sh
source bench/release.sh
require_tools cargo python3 curl wrk

build_release

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    local status=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2> /dev/null; then
        kill "$SERVER_PID"
        wait "$SERVER_PID" 2> /dev/null || true
    fi
    if [[ $status -ne 0 && -s "$WORK/server.log" ]]; then
        echo "-- last lines of the server log:" >&2
        tail -n 20 "$WORK/server.log" >&2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
export DATABASE_URL="sqlite://$WORK/bench.sqlite3"
export CTG_BIND="127.0.0.1:$PORT"
export CTG_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
# A benchmark is one client far past any rate a person sends: the limits are off.
export CTG_RATE_LIMIT_PER_SUBJECT=0 CTG_RATE_LIMIT_PER_ADDRESS=0
export CTG_JWT_ISSUER=bench
export RUST_LOG=warn

echo "== starting ctg-api on $BASE"
"$BIN" serve > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
    if curl -fs -o /dev/null "$BASE/health/ready"; then break; fi
    kill -0 "$SERVER_PID" 2> /dev/null || { echo "bench: the server exited during start-up" >&2; exit 1; }
    sleep 0.5
done

ADMIN_TOKEN="$("$BIN" token --role admin --sub bench-seeder --lifetime-seconds 7200)"
echo "== seeding $CONTRACTS contracts through the API"
python3 bench/seed_national.py --base-url "$BASE" --token "$ADMIN_TOKEN" --contracts "$CONTRACTS" --out "$WORK/target.env"
source "$WORK/target.env"
echo "== signing and funding the contracts of $BENCH_DEPARTMENT"
python3 bench/fund_department.py --base-url "$BASE" --token "$ADMIN_TOKEN" --department "$BENCH_DEPARTMENT"

echo "== posting $OBSERVATIONS observations and a coverage rate per EPCI"
python3 bench/observations_file.py --rows "$OBSERVATIONS" --out "$WORK/observations.csv"
python3 - "$WORK/rates.csv" <<'PY'
import gzip, json, random, sys
random.seed(7)
epcis = json.load(gzip.open("reference/epci.json.gz", "rt", encoding="utf-8"))
with open(sys.argv[1], "w", encoding="utf-8") as out:
    out.write("indicator,geo_level,geo_code,period,value,source,millesime\n")
    for epci in epcis:
        for year in (2022, 2023, 2024):
            out.write(f"taux_couverture_eaje_epci,epci,{epci['code']},{year},{random.randint(100, 950) / 10},ONAPE,2025\n")
PY
for file in "$WORK/observations.csv" "$WORK/rates.csv"; do
    code="$(curl -s -o "$WORK/ingest.json" -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" \
        -H 'Content-Type: text/csv' --data-binary "@$file" "$BASE/v1/observations/bulk")"
    [[ "$code" == 200 ]] || { echo "bench: bulk answered $code: $(head -c 500 "$WORK/ingest.json")" >&2; exit 1; }
done

AGENT_TOKEN="$("$BIN" token --role caf_agent --department "$BENCH_DEPARTMENT" --sub bench-agent --lifetime-seconds 7200)"
INTEGRATION_TOKEN="$("$BIN" token --role integration --department "$BENCH_DEPARTMENT" --sub bench-sync --lifetime-seconds 7200)"
URL_SUMMARY="$BASE/v1/departments/$BENCH_DEPARTMENT/summary"
curl -fs -H "Authorization: Bearer $AGENT_TOKEN" "$URL_SUMMARY" > "$WORK/summary.json"
python3 - "$WORK/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
c = s["coverage"]
print(f"   summary of {s['department']}: {c['communes_covered']}/{c['communes_total']} communes, "
      f"{c['epcis_covered']}/{c['epcis_total']} EPCI covered; {len(s['funding'])} funding rows; "
      f"{len(s['latest_coverage_rates'])} coverage rates")
assert c["communes_covered"] > 0 and s["funding"] and s["latest_coverage_rates"], "the summary is empty: nothing measured"
PY

echo "== wrk GET /v1/departments/$BENCH_DEPARTMENT/summary"
BENCH_TOKEN="$AGENT_TOKEN" wrk -t2 -c8 -d3s -s bench/wrk_report.lua "$URL_SUMMARY" > /dev/null
BENCH_TOKEN="$AGENT_TOKEN" wrk -t2 -c8 -d"$DURATION" --latency -s bench/wrk_report.lua "$URL_SUMMARY" | tee "$WORK/summary.txt"
RESULT="$(grep '^BENCH_RESULT' "$WORK/summary.txt")"
grep -q ' non2xx=0 socket_errors=0$' <<< "$RESULT" || { echo "bench: failed requests: $RESULT" >&2; exit 1; }
eval "$(sed -e 's/^BENCH_RESULT //' -e 's/\([a-z0-9_]*\)=/summary_\1=/g' <<< "$RESULT")"

# follow NAME TOKEN: reads the feed from the start to the end; prints events, seconds, events/s.
follow() {
    python3 - "$BASE" "$2" "$1" <<'PY'
import json, sys, time, urllib.parse, urllib.request
base, token, name = sys.argv[1:4]
cursor, events, started = None, 0, time.monotonic()
while True:
    query = {"limit": 1000}
    if cursor:
        query["after"] = cursor
    request = urllib.request.Request(f"{base}/v1/events?{urllib.parse.urlencode(query)}",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        page = json.load(response)
    events += len(page["items"])
    cursor = page["next_cursor"]
    if len(page["items"]) < 1000:
        break
elapsed = time.monotonic() - started
print(f"   feed as {name}: {events:,} events in {elapsed:.2f} s, {events / elapsed:,.0f} events/s")
PY
}
echo "== following the feed from the start"
follow admin "$ADMIN_TOKEN"
follow "integration $BENCH_DEPARTMENT" "$INTEGRATION_TOKEN"

VERDICT="$(awk -v p="$summary_p99_ms" 'BEGIN { print (p < 50) ? "met" : "MISSED" }')"
echo
echo "== summary of $BENCH_DEPARTMENT: $summary_rps requests/s, p50 $summary_p50_ms ms, p99 $summary_p99_ms ms (goal p99 < 50 ms: $VERDICT)"
