-- One fixed request (method, path, JSON body, Authorization) repeated: wrk pre-builds it, so the
-- load generator costs almost nothing per request.
local common = dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local body = common.env("BENCH_BODY", nil)
wrk.method = common.env("BENCH_METHOD", "GET")
wrk.path = common.env("BENCH_PATH", "/api/health")
wrk.body = body
wrk.headers = common.headers(body ~= nil)

setup = common.setup
done = common.done
