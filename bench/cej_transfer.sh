#!/usr/bin/env bash
# Signing a CTG that replaces 5 CEJs holding 40 funded facilities, and reading its financial
# annex, release build, on SQLite then on PostgreSQL in the same run.
#
# For each database:
#   1. starts the release binary on a fresh database (bench/backends.sh);
#   2. seeds the national data set through the API (bench/seed_national.py: a CAF per
#      département, every EPCI, BENCH_CONTRACTS CTGs);
#   3. in the département with the most contracts, sets up BENCH_ROUNDS CTGs, each replacing five
#      signed CEJs of five member communes of an EPCI, each CEJ with eight facilities and their
#      committed PSEJ commitments (bench/cej_transfer.py);
#   4. signs the CTGs one after the other, timing each signature, and checks that each created
#      the 40 bonus territoire commitments carrying the CEJs' last year for each CTG year;
#   5. reads each annex BENCH_READS times as JSON and as CSV, timing each read, checking totals.
# Prints p50/p99/max of each, per database. Goal (issue 11): p99 under 100 ms on both.
#
# Usage: bench/cej_transfer.sh
# Knobs (environment): BENCH_CONTRACTS (3000), BENCH_ROUNDS (30), BENCH_READS (10), and those of
# bench/backends.sh. Needs: cargo, python3 (standard library only), curl; psql for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

CONTRACTS="${BENCH_CONTRACTS:-3000}"
ROUNDS="${BENCH_ROUNDS:-30}"
READS="${BENCH_READS:-10}"

# shellcheck source=bench/release.sh
source bench/release.sh
require_tools cargo python3 curl

build_release

run_backend() {
    local name="$1" url="$2" token
    start_server "$name" "$url"
    token="$(CTG_JWT_SECRET="$JWT_SECRET" CTG_JWT_ISSUER=bench "$BIN" token --role admin --sub bench-cej --lifetime-seconds 7200)"
    echo "== [$name] seeding $CONTRACTS CTGs nationally"
    python3 bench/seed_national.py --base-url "$BASE" --token "$token" --contracts "$CONTRACTS" --out "$WORK/seed-$name.env"
    # shellcheck disable=SC1090
    source "$WORK/seed-$name.env"
    echo "== [$name] $ROUNDS CTGs replacing 5 CEJs and 40 facilities each, in département $BENCH_DEPARTMENT"
    PYTHONPATH=bench python3 bench/cej_transfer.py --base-url "$BASE" --token "$token" \
        --department "$BENCH_DEPARTMENT" --rounds "$ROUNDS" --reads "$READS" --out "$WORK/result-$name.env"
    if grep -q -E '\bERROR\b' "$SERVER_LOG"; then
        echo "   [$name] the server logged errors; the first ones:"
        grep -E '\bERROR\b' "$SERVER_LOG" | head -n 5 | sed 's/^/     /'
    fi
    stop_server
}

JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
# shellcheck source=bench/backends.sh
source bench/backends.sh
each_backend run_backend

echo
echo "== summary: $ROUNDS signatures of a CTG replacing 5 CEJs with 40 funded facilities; $READS reads of each annex per form"
printf '%-10s %-12s %7s %8s %8s %8s %6s\n' "database" "request" "count" "p50 ms" "p99 ms" "max ms" "goal"
for backend in $BACKENDS; do
    if [[ "${STATE[$backend]:-}" != done ]]; then
        printf '%-10s %s\n' "$backend" "${STATE[$backend]:-not run}"
        continue
    fi
    (
        # shellcheck disable=SC1090
        source "$WORK/result-$backend.env"
        for request in SIGN ANNEX_JSON ANNEX_CSV; do
            count="BENCH_${request}_COUNT" p50="BENCH_${request}_P50_MS" p99="BENCH_${request}_P99_MS" max="BENCH_${request}_MAX_MS"
            verdict="$(awk "BEGIN { print (${!p99} < 100) ? \"met\" : \"MISSED\" }")"
            printf '%-10s %-12s %7s %8s %8s %8s %6s\n' "$backend" "${request,,}" "${!count}" "${!p50}" "${!p99}" "${!max}" "$verdict"
        done
    )
done
