-- Resource-owner password grant on one keep-alive connection per wrk connection.
-- The body is fixed, so wrk builds the request once; `client_id`/`client_secret` in the form
-- body is 2BA's documented client authentication.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=password&username=demo&password=demo" ..
           "&client_id=demo-client&client_secret=demo-secret"

function init(args)
  local opts = common.parse_args(args)
  common.watch_limit(opts)
end

setup = common.setup
done = common.done
