#!/usr/bin/env bash
# Seeding speed and read throughput of the contract routes on a national-scale base, release
# build, on SQLite then on PostgreSQL.
#
#   1. builds the release binary and starts it on a fresh database (SQLite: a file in a temp dir;
#      PostgreSQL: a new database ctg_bench_<pid>, dropped at the end);
#   2. seeds, through the API (bench/seed_national.py), one CAF per département that has one,
#      every EPCI as an organisation and 3,000 CTG contracts spread over the départements in
#      proportion to their EPCI count, each with 2 parties and 10 actions;
#   3. measures with wrk (32 connections, 2 threads, 15 s, after a 3 s warm-up):
#        (a) GET /health/live                      static JSON, no token: the ceiling of the stack
#        (b) GET /v1/contracts/{id}                one contract of the biggest département
#        (c) GET /v1/contracts?department=XX&page_size=50   a page of that département
#      (b) and (c) with a caf_agent token of that département;
#   4. prints, per database, the seeding time and requests/s, p50 and p99 per run against the goals.
#
# Usage: bench/contracts.sh
# Knobs (environment): BENCH_DURATION (15s), BENCH_WARMUP (3s), BENCH_CONNECTIONS (32),
# BENCH_THREADS (2), BENCH_CONTRACTS (3000), BENCH_SEED_THREADS (16), BENCH_BACKENDS
# ("sqlite postgres"), BENCH_PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres).
# Needs: cargo, python3 (standard library only), curl, wrk; psql for PostgreSQL. Talks to
# 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${BENCH_DURATION:-15s}"
WARMUP="${BENCH_WARMUP:-3s}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
THREADS="${BENCH_THREADS:-2}"
CONTRACTS="${BENCH_CONTRACTS:-3000}"
SEED_THREADS="${BENCH_SEED_THREADS:-16}"

# shellcheck source=bench/release.sh
source bench/release.sh
require_tools cargo python3 curl
if ! command -v wrk > /dev/null; then
    echo "bench: wrk is needed: 'apt-get install wrk' on Debian/Ubuntu, 'brew install wrk' on macOS" >&2
    exit 1
fi

build_release

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

# wrk_run BACKEND NAME URL TOKEN: a warm-up (discarded), then the measured run; appends
# NAME_rps=.. NAME_p50_ms=.. NAME_p99_ms=.. to $WORK/result-BACKEND.env.
wrk_run() {
    local backend="$1" name="$2" url="$3" token="$4"
    echo "== [$backend] wrk $name: GET ${url#"$BASE"}"
    BENCH_TOKEN="$token" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/wrk_report.lua "$url" > /dev/null
    BENCH_TOKEN="$token" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/wrk_report.lua "$url" \
        | tee "$WORK/$backend-$name.txt"
    local result
    result="$(grep '^BENCH_RESULT' "$WORK/$backend-$name.txt")"
    # Any failed request makes the figures meaningless: stop rather than report them.
    if ! grep -q ' non2xx=0 socket_errors=0$' <<< "$result"; then
        echo "bench: [$backend] $name had failed requests: $result" >&2
        exit 1
    fi
    sed -e 's/^BENCH_RESULT //' -e "s/\([a-z0-9_]*\)=/${name}_\1=/g" -e 's/ /\n/g' <<< "$result" \
        >> "$WORK/result-$backend.env"
}

# run_backend NAME DATABASE_URL: seeds, then measures; leaves the figures in $WORK/result-NAME.env.
run_backend() {
    local name="$1" url="$2"
    start_server "$name" "$url"
    echo "== [$name] seeding through the API"
    # Two hours: seeding must never run into the token's expiry (the default lifetime is one hour).
    local admin_token agent_token
    admin_token="$(CTG_JWT_SECRET="$JWT_SECRET" CTG_JWT_ISSUER=bench "$BIN" token --role admin --sub bench-seeder --lifetime-seconds 7200)"
    python3 bench/seed_national.py --base-url "$BASE" --token "$admin_token" \
        --contracts "$CONTRACTS" --threads "$SEED_THREADS" --out "$WORK/result-$name.env"
    # Sets BENCH_DEPARTMENT, BENCH_CONTRACT_ID, BENCH_SEED_SECONDS, BENCH_SEED_REQUESTS.
    # shellcheck disable=SC1090
    source "$WORK/result-$name.env"
    agent_token="$(CTG_JWT_SECRET="$JWT_SECRET" CTG_JWT_ISSUER=bench "$BIN" token --role caf_agent \
        --department "$BENCH_DEPARTMENT" --sub bench-agent --lifetime-seconds 7200)"
    local url_live="$BASE/health/live" url_one="$BASE/v1/contracts/$BENCH_CONTRACT_ID"
    local url_page="$BASE/v1/contracts?department=$BENCH_DEPARTMENT&page_size=50"
    check "$url_live" ""
    check "$url_one" "$agent_token"
    check "$url_page" "$agent_token"
    local items
    items="$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$WORK/check.json")"
    [[ "$items" == 50 ]] || { echo "bench: the page holds $items contracts, not 50: too few contracts in $BENCH_DEPARTMENT" >&2; exit 1; }
    wrk_run "$name" live "$url_live" ""
    wrk_run "$name" one "$url_one" "$agent_token"
    wrk_run "$name" page "$url_page" "$agent_token"
    stop_server
}

JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
# shellcheck source=bench/backends.sh
source bench/backends.sh
each_backend run_backend

# The goals, checked with awk since the figures are decimals.
verdict() { if awk "BEGIN { exit !($1) }"; then echo "met"; else echo "MISSED"; fi; }
echo
echo "== summary: $CONTRACTS contracts seeded through the API; wrk $THREADS threads, $CONNECTIONS connections, $DURATION per run"
printf '%-10s %10s %9s %12s %12s %9s %12s %9s %24s\n' "database" "seeding s" "requests" "(a) live/s" "(b) one/s" "(b) p99" \
    "(c) page/s" "(c) p99" "goals (b>=15% a, p99, c)"
for backend in $BACKENDS; do
    if [[ "${STATE[$backend]:-}" != done ]]; then
        printf '%-10s %s\n' "$backend" "${STATE[$backend]:-not run}"
        continue
    fi
    (
        # shellcheck disable=SC1090
        source "$WORK/result-$backend.env"
        ratio="$(awk -v a="$one_rps" -v b="$live_rps" 'BEGIN { printf "%.1f", 100 * a / b }')"
        goals="$(verdict "$ratio >= 15") $(verdict "$one_p99_ms < 10") $(verdict "$page_rps >= 3000")"
        printf '%-10s %10s %9s %12s %12s %9s %12s %9s %24s\n' "$backend" "$BENCH_SEED_SECONDS" "$BENCH_SEED_REQUESTS" \
            "$live_rps" "$one_rps" "$one_p99_ms" "$page_rps" "$page_p99_ms" "$goals"
    )
done
