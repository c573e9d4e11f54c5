#!/usr/bin/env bash
# A mixed workload for a while (BENCH_SOAK_SECONDS, 600) on SQLite then on PostgreSQL, release
# build (bench/soak.py): readers, writers, payments retried under their Idempotency-Key, a feed
# reader, and one bulk file of observations a minute (BENCH_SOAK_ROWS, 150,000 rows: a job).
#
# Prints, per minute, the server's resident memory and the counts so far; then, per database: the
# requests, errors (any answer the workload did not expect) and 5xx, the slowest write as its
# client saw it, and the slowest apply of a file as the server logged it. The goals: 0 errors,
# 0 5xx, memory flat after the first minutes, and no write slower than the slowest apply (the only
# thing a writer may wait for).
#
# Usage: bench/soak.sh
# Knobs (environment): BENCH_SOAK_SECONDS (600), BENCH_SOAK_ROWS (150000), MALLOC_ARENA_MAX (2), BENCH_BACKENDS
# ("sqlite postgres"), BENCH_PG_ADMIN_URL (see bench/backends.sh).
# Needs: cargo, python3 (standard library only), curl; psql for PostgreSQL. Talks to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${BENCH_SOAK_SECONDS:-600}"
ROWS="${BENCH_SOAK_ROWS:-150000}"
# shellcheck source=bench/release.sh
source bench/release.sh
require_tools cargo python3 curl

build_release

# As the Docker image runs it: glibc's default of one malloc arena per thread makes resident
# memory creep with every thread that has run a bulk file (see the README).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
# shellcheck source=bench/backends.sh
source bench/backends.sh
# Each apply of a file logs how long it took: that is all other writers may wait for.
export BENCH_RUST_LOG="warn,ctg_api::ingest=info"

echo "== generating a bulk file of $ROWS observations"
python3 bench/observations_file.py --rows "$ROWS" --out "$WORK/observations.csv"

run_backend() {
    local name="$1" url="$2" token
    start_server "$name" "$url"
    token="$(CTG_JWT_SECRET="$JWT_SECRET" CTG_JWT_ISSUER=bench "$BIN" token --role admin --sub bench-soak --lifetime-seconds 7200)"
    echo "== [$name] $SECONDS_PER_RUN s of mixed workload"
    python3 bench/soak.py --base-url "$BASE" --token "$token" --pid "$SERVER_PID" --seconds "$SECONDS_PER_RUN" \
        --file "$WORK/observations.csv" --out "$WORK/result-$name.env"
    grep -aoE 'applied [0-9]+ rows in [0-9.]+ s' "$SERVER_LOG" | awk '{ print $5 }' | sort -n | tail -n 1 \
        > "$WORK/apply-$name" || true
    stop_server
}

each_backend run_backend

echo
echo "== summary: $SECONDS_PER_RUN s each"
printf '%-10s %9s %7s %5s %17s %17s %8s  %s\n' "database" "requests" "errors" "5xx" "slowest write ms" "slowest apply ms" "imports" "resident MB, minute by minute"
for backend in $BACKENDS; do
    if [[ "${STATE[$backend]:-}" != done ]]; then
        printf '%-10s %s\n' "$backend" "${STATE[$backend]:-not run}"
        continue
    fi
    (
        # shellcheck disable=SC1090
        source "$WORK/result-$backend.env"
        apply="$(python3 -c "import sys; t = sys.argv[1]; print(f'{float(t) * 1000:.0f}' if t else '-')" "$(cat "$WORK/apply-$backend")")"
        printf '%-10s %9s %7s %5s %17s %17s %8s  %s\n' "$backend" "$SOAK_REQUESTS" "$SOAK_ERRORS" "$SOAK_5XX" \
            "$SOAK_SLOWEST_WRITE_MS" "$apply" "$SOAK_IMPORTS" "$SOAK_MEMORY_MB"
    )
done
