#!/usr/bin/env bash
# Payments under a burst of concurrent requests and retries, release build, on SQLite then on
# PostgreSQL.
#
# For each database:
#   1. starts the release binary on a fresh database (SQLite: a file in a temp dir; PostgreSQL: a
#      new database ctg_bench_payments_<pid>, dropped at the end);
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
PG_ADMIN_URL="${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"

for tool in cargo python3 curl; do
    command -v "$tool" > /dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ctg-api-target}"
echo "== building the release binary"
cargo build --release --quiet --bin ctg-api
BIN="$CARGO_TARGET_DIR/release/ctg-api"

WORK="$(mktemp -d)"
SERVER_PID=""
SERVER_LOG=""
PG_DB=""
# The admin URL with its database name replaced: postgres://user@host:port/<name>.
PG_DB_URL_BASE="${PG_ADMIN_URL%/*}"

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2> /dev/null; then
        kill "$SERVER_PID"
        wait "$SERVER_PID" 2> /dev/null || true
    fi
    SERVER_PID=""
}

drop_pg_database() {
    if [[ -n "$PG_DB" ]]; then
        # FORCE: a pooled connection the stopped server left behind must not keep it alive.
        PGCONNECT_TIMEOUT=5 psql "$PG_ADMIN_URL" -Atq -v ON_ERROR_STOP=1 \
            -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" > /dev/null 2>&1 \
            || echo "bench: could not drop database $PG_DB; drop it by hand" >&2
        PG_DB=""
    fi
}

cleanup() {
    local status=$?
    stop_server
    # On failure the server's own words usually say why.
    if [[ $status -ne 0 && -n "$SERVER_LOG" && -s "$SERVER_LOG" ]]; then
        echo "-- last lines of the server log ($SERVER_LOG):" >&2
        tail -n 20 "$SERVER_LOG" >&2
    fi
    drop_pg_database
    rm -rf "$WORK"
}
trap cleanup EXIT

# start_server NAME DATABASE_URL: starts ctg-api on a fresh port and waits until it is ready.
start_server() {
    local name="$1" url="$2"
    # A port the kernel just handed out and released: free unless something grabs it meanwhile.
    PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    BASE="http://127.0.0.1:$PORT"
    SERVER_LOG="$WORK/server-$name.log"
    echo "== [$name] starting ctg-api on $BASE"
    DATABASE_URL="$url" CTG_BIND="127.0.0.1:$PORT" CTG_JWT_SECRET="$JWT_SECRET" CTG_JWT_ISSUER=bench RUST_LOG=warn \
        "$BIN" serve > "$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    # The first start migrates and loads the territory reference; give it up to 120 s.
    for _ in $(seq 1 240); do
        if curl -fs -o /dev/null "$BASE/health/ready"; then return 0; fi
        kill -0 "$SERVER_PID" 2> /dev/null || { echo "bench: [$name] the server exited during start-up" >&2; exit 1; }
        sleep 0.5
    done
    echo "bench: [$name] the server is not ready after 120 s" >&2
    exit 1
}

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
declare -A STATE=()
for backend in $BACKENDS; do
    case "$backend" in
        sqlite)
            run_backend sqlite "sqlite://$WORK/bench.sqlite3"
            STATE[sqlite]=done
            ;;
        postgres)
            if ! command -v psql > /dev/null; then
                echo "== [postgres] SKIPPED: psql is not installed (needed to create the bench database)"
                STATE[postgres]="skipped: no psql"
                continue
            fi
            if ! PGCONNECT_TIMEOUT=3 psql "$PG_ADMIN_URL" -Atqc 'SELECT 1' > /dev/null 2> "$WORK/pg-probe.err"; then
                echo "== [postgres] SKIPPED: PostgreSQL does not answer at $PG_ADMIN_URL: $(head -n 1 "$WORK/pg-probe.err")"
                STATE[postgres]="skipped: unavailable"
                continue
            fi
            PG_DB="ctg_bench_payments_$$"
            psql "$PG_ADMIN_URL" -Atq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$PG_DB\"" > /dev/null
            echo "== [postgres] created database $PG_DB"
            run_backend postgres "$PG_DB_URL_BASE/$PG_DB"
            drop_pg_database
            STATE[postgres]=done
            ;;
        *)
            echo "bench: unknown backend '$backend' in BENCH_BACKENDS (sqlite, postgres)" >&2
            exit 1
            ;;
    esac
done

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
