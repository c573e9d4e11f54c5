# Shared by the benchmarks: sourced from the repository's root, first thing after `cd`.
#
#   require_tools TOOL...   stops with a message naming the first tool not installed
#   build_release           builds the release binary (target directory outside the checkout unless
#                           CARGO_TARGET_DIR says otherwise) and sets BIN to it

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" > /dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
    done
}

build_release() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ctg-api-target}"
    echo "== building the release binary"
    cargo build --release --quiet --bin ctg-api
    BIN="$CARGO_TARGET_DIR/release/ctg-api"
}
