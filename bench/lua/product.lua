-- Product-API call with a Bearer token (args: token=ACCESS_TOKEN [limit=N]).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

function init(args)
  local opts = common.parse_args(args)
  wrk.headers["Authorization"] = "Bearer " .. (opts.token or "")
  local limit = tonumber(opts.limit or "0")
  if limit > 0 then
    local count = common.counter(limit)
    response = function() count() end
  end
end

setup = common.setup
done = common.done
