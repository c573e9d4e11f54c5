# Shared by the benchmarks that run on SQLite then on PostgreSQL, each on a fresh database with
# the release binary: sourced, after BIN and JWT_SECRET are set.
#
#   start_server NAME DATABASE_URL   starts ctg-api on a free port; sets BASE and SERVER_LOG
#   stop_server
#   each_backend FUNCTION            runs `FUNCTION NAME DATABASE_URL` for every backend of
#                                    BENCH_BACKENDS ("sqlite postgres"), PostgreSQL on a new
#                                    database dropped afterwards; STATE[NAME] says what happened
#
# Knobs (environment): BENCH_PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres; the
# database to connect to for CREATE/DROP DATABASE), BENCH_BACKENDS ("sqlite postgres").

PG_ADMIN_URL="${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
# The admin URL with its database name replaced: postgres://user@host:port/<name>.
PG_DB_URL_BASE="${PG_ADMIN_URL%/*}"

WORK="$(mktemp -d)"
SERVER_PID=""
SERVER_LOG=""
PG_DB=""
declare -A STATE=()

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

start_server() {
    local name="$1" url="$2"
    # A port the kernel just handed out and released: free unless something grabs it meanwhile.
    PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    BASE="http://127.0.0.1:$PORT"
    SERVER_LOG="$WORK/server-$name.log"
    echo "== [$name] starting ctg-api on $BASE"
    DATABASE_URL="$url" CTG_BIND="127.0.0.1:$PORT" CTG_JWT_SECRET="$JWT_SECRET" CTG_JWT_ISSUER=bench RUST_LOG="${BENCH_RUST_LOG:-warn}" \
        CTG_RATE_LIMIT_PER_SUBJECT=0 CTG_RATE_LIMIT_PER_ADDRESS=0 \
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

each_backend() {
    local run="$1" backend
    for backend in $BACKENDS; do
        case "$backend" in
            sqlite)
                "$run" sqlite "sqlite://$WORK/bench.sqlite3"
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
                PG_DB="ctg_bench_$$"
                psql "$PG_ADMIN_URL" -Atq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$PG_DB\"" > /dev/null
                echo "== [postgres] created database $PG_DB"
                "$run" postgres "$PG_DB_URL_BASE/$PG_DB"
                drop_pg_database
                STATE[postgres]=done
                ;;
            *)
                echo "bench: unknown backend '$backend' in BENCH_BACKENDS (sqlite, postgres)" >&2
                exit 1
                ;;
        esac
    done
}
