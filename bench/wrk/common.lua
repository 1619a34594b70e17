-- Shared by the bench scripts: settings come from BENCH_* environment variables (set by bench/wrk.py),
-- and done() prints one machine-readable line that the harness parses instead of wrk's text summary.
local M = {}

function M.env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

function M.headers(with_body)
  local h = {}
  if with_body then h["Content-Type"] = "application/json" end
  local auth = M.env("BENCH_AUTH", nil)
  if auth then h["Authorization"] = auth end
  return h
end

function M.read_lines(path)
  local out = {}
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if line ~= "" then out[#out + 1] = line end
  end
  f:close()
  return out
end

-- a monotonic clock in seconds, or nil when LuaJIT's FFI is not available
function M.clock()
  local ok, ffi = pcall(require, "ffi")
  if not ok then return nil end
  pcall(ffi.cdef, [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clk_id, bench_timespec *tp);
  ]])
  local ts = ffi.new("bench_timespec")
  return function()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
  end
end

-- threads seen in setup(); done() asks them how many ids they used up
M.threads = {}

function M.setup(thread)
  thread:set("tindex", #M.threads)
  M.threads[#M.threads + 1] = thread
end

function M.done(summary, latency, requests)
  local exhausted, used = 0, 0
  local first, last = nil, nil
  for _, t in ipairs(M.threads) do
    if t:get("exhausted") then exhausted = exhausted + 1 end
    used = used + (t:get("used") or 0)
    local s, e = t:get("t_start"), t:get("t_end")
    if s and (first == nil or s < first) then first = s end
    if e and (last == nil or e > last) then last = e end
  end
  -- the busy span, only when every thread stopped early (otherwise wrk's duration is right)
  local active_us = -1
  if first and last and exhausted == #M.threads then active_us = (last - first) * 1e6 end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
    '"threads_exhausted":%d,"ids_used":%d,"active_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    exhausted, used, active_us))
end

return M
