-- wrk script for bench/contracts.sh: adds the bearer token (when BENCH_TOKEN is set) and, at the
-- end, prints one machine-readable line the shell script turns into its summary table.
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end

function done(summary, latency, requests)
    local seconds = summary.duration / 1e6
    local errors = summary.errors
    -- Non-2xx/3xx answers count as failures: a run full of 401s or 404s would look fast.
    io.write(string.format(
        "BENCH_RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d socket_errors=%d\n",
        summary.requests / seconds,
        latency:percentile(50) / 1000,
        latency:percentile(99) / 1000,
        summary.requests,
        errors.status,
        errors.connect + errors.read + errors.write + errors.timeout))
end
