-- Requests addressed by record id, read from BENCH_IDS_FILE (one id a line) and substituted for
-- "{id}" in BENCH_PATH. Ids are dealt out to threads round-robin so no two threads share one.
-- BENCH_ID_MODE=cycle reuses ids (view); "once" uses each id once and stops the thread when its
-- share runs out (delete: a second DELETE of the same id would measure a 404, not a delete).
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local method = common.env("BENCH_METHOD", "GET")
local template = common.env("BENCH_PATH", "/api/health")
local once = common.env("BENCH_ID_MODE", "cycle") == "once"
local nthreads = tonumber(common.env("BENCH_THREADS", "1"))
local fallback = wrk.format("GET", "/api/health")

local reqs = {}
local pos = 0
used = 0
exhausted = false
-- wrk's own duration is the full -d even when a thread stops early, so a thread that runs out of
-- ids notes when it started and stopped (monotonic clock through LuaJIT's FFI, when available)
t_start = nil
t_end = nil
local now = common.clock()

function init(args)
  local headers = common.headers(false)
  local ids = common.read_lines(common.env("BENCH_IDS_FILE", "/dev/null"))
  for i, id in ipairs(ids) do
    if (i - 1) % nthreads == tindex then
      local path = template:gsub("{id}", id)
      reqs[#reqs + 1] = wrk.format(method, path, headers)
    end
  end
end

function request()
  if t_start == nil and now then t_start = now() end
  pos = pos + 1
  if pos > #reqs then
    if once or #reqs == 0 then
      if not exhausted and now then t_end = now() end
      exhausted = true
      wrk.thread:stop()
      return fallback
    end
    pos = 1
  end
  used = math.max(used, pos)
  return reqs[pos]
end

setup = common.setup
done = common.done
