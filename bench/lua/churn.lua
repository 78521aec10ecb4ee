-- Sustained password grants against a fixture with short lifetimes, advancing the mock's
-- virtual clock as it goes so expired tokens become purgeable: every `every` issued grants the
-- next request is POST /__mock/clock {"advance": step}. Stops after `limit` grants.
-- Args: limit=N every=N step=SECONDS
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local kHeaders = {["Content-Type"] = "application/x-www-form-urlencoded"}
local grant_request, advance_request
local every, limit
local advance_due = false
issued = 0
clock_advances = 0

function init(args)
  local opts = common.parse_args(args)
  limit = tonumber(opts.limit or "1000000")
  every = tonumber(opts.every or "2500")
  grant_request = wrk.format("POST", nil, kHeaders,
                             "grant_type=password&username=demo&password=demo" ..
                             "&client_id=demo-client&client_secret=demo-secret")
  advance_request = wrk.format("POST", "/__mock/clock", {["Content-Type"] = "application/json"},
                               string.format('{"advance":%d}', tonumber(opts.step or "15")))
end

function request()
  if advance_due then
    advance_due = false
    clock_advances = clock_advances + 1
    return advance_request
  end
  return grant_request
end

function response(status, headers, body)
  if status ~= 200 or body:sub(1, 16) ~= '{"access_token":' then return end
  issued = issued + 1
  if issued % every == 0 then advance_due = true end
  if issued == limit then
    io.write("BENCH_LIMIT\n")
    io.flush()
    wrk.thread:stop()
  end
end

setup = common.setup
done = common.done
