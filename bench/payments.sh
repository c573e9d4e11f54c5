#!/usr/bin/env bash
# Payments under a burst of concurrent requests and retries, release build, on SQLite then on
# PostgreSQL.
#
# For each database:
#   1. starts the release binary on a fresh database (SQLite: a file in a temp dir; PostgreSQL: a
#      new database ctg_bench_<pid>, dropped at the end);
#   2. sets up through the API (bench/payments_race.py), as admin: the CAF 74, one EPCI, a signed
#      CTG, a committed commitment of 25,000,000 cents for 2025 and its schedule (one advance of 100%);
#   3. fires 500 payment requests of 100,000 cents, 250 Idempotency-Keys each sent twice (the second
#      a retry with the identical body), shuffled, through 64 client threads: the year holds exactly
#      250 of them; then 100 new keys, which must all be refused 409 (the year is full);
#   4. checks that only 201 and 409 "still in progress" came back, that the payments add up to
#      25,000,000 cents in 250 payments with 250 distinct references, that every 201 of a key names
#      the same payment, and that the over-limit round got only 409. Anything else stops the run;
#   5. prints requests/s of the 500-request burst and p50/p99 of each request's duration, measured
#      client-side, per database.
#
# Usage: bench/payments.sh
# Knobs (environment): BENCH_THREADS (64), BENCH_SEED (random shuffle seed; printed, to replay an
# order), BENCH_PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres; the database to connect
# to for CREATE/DROP DATABASE), BENCH_BACKENDS ("sqlite postgres").
# Needs: cargo, python3 (standard library only), curl; psql for PostgreSQL. Talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS="${BENCH_THREADS:-64}"
SEED="${BENCH_SEED:-}"

# shellcheck source=bench/release.sh
source bench/release.sh
require_tools cargo python3 curl

build_release

# run_backend NAME DATABASE_URL: one full run; leaves BENCH_* results in $WORK/result-NAME.env.
run_backend() {
    local name="$1" url="$2" token seed_args=()
    start_server "$name" "$url"
    # Tokens are minted with the same secret and issuer as the server's.
    token="$(CTG_JWT_SECRET="$JWT_SECRET" CTG_JWT_ISSUER=bench "$BIN" token --role admin --sub bench-payments --lifetime-seconds 3600)"
    [[ -n "$SEED" ]] && seed_args=(--seed "$SEED")
    echo "== [$name] setting up, then the burst: 250 keys x 2, $THREADS client threads"
    python3 bench/payments_race.py --base-url "$BASE" --token "$token" --threads "$THREADS" \
        "${seed_args[@]}" --out "$WORK/result-$name.env"
    # A 5xx the checks did not see (a failed idempotency release, say) still leaves a trace here.
    local errors
    errors="$(grep -c -E '\b(ERROR|WARN)\b' "$SERVER_LOG" || true)"
    echo "$errors" > "$WORK/log-warnings-$name"
    if [[ "$errors" -gt 0 ]]; then
        echo "   [$name] the server logged $errors warning/error lines; the first ones:"
        grep -E '\b(ERROR|WARN)\b' "$SERVER_LOG" | head -n 5 | sed 's/^/     /'
    fi
    stop_server
}

JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
# shellcheck source=bench/backends.sh
source bench/backends.sh
each_backend run_backend

echo
echo "== summary: 500 payment requests (250 keys x 2, shuffled) through $THREADS client threads, then 100 over the limit"
printf '%-10s %8s %11s %8s %8s %8s %6s %7s %9s %13s %16s\n' \
    "database" "burst s" "requests/s" "p50 ms" "p99 ms" "max ms" "201" "replays" "409 busy" "paid cents" "over-limit 409/s"
for backend in $BACKENDS; do
    if [[ "${STATE[$backend]:-}" != done ]]; then
        printf '%-10s %s\n' "$backend" "${STATE[$backend]:-not run}"
        continue
    fi
    (
        # shellcheck disable=SC1090
        source "$WORK/result-$backend.env"
        printf '%-10s %8s %11s %8s %8s %8s %6s %7s %9s %13s %16s\n' "$backend" "$BENCH_SECONDS" "$BENCH_RPS" \
            "$BENCH_P50_MS" "$BENCH_P99_MS" "$BENCH_MAX_MS" "$((BENCH_CREATED + BENCH_REPLAYED))" "$BENCH_REPLAYED" \
            "$BENCH_IN_PROGRESS" "$BENCH_PAID_CENTS" "$BENCH_OVER_RPS"
    )
done
echo
echo "201 counts first answers and replays; '409 busy' are retries refused as still in progress (each was"
echo "answered as a replay when sent again after the burst). Every run passed its checks: 250 payments,"
echo "25,000,000 cents, 250 distinct references, one payment per key, the over-limit round all 409."
