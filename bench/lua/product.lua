-- Product-API call with a Bearer token (args: token=ACCESS_TOKEN [limit=N]).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

function init(args)
  local opts = common.parse_args(args)
  wrk.headers["Authorization"] = "Bearer " .. (opts.token or "")
  common.watch_limit(opts)
end

setup = common.setup
done = common.done
