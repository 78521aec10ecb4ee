-- Refresh grant with rotation: every refresh token is presented exactly once. Each reply's new
-- refresh token goes on a queue the next request takes from, so the connections keep as many
-- independent chains alive as there are connections; a connection seeds its chain with a
-- password grant when it has nothing to refresh (its first request, or after a failed refresh).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local kClient = "&client_id=demo-client&client_secret=demo-secret"
local kHeaders = {["Content-Type"] = "application/x-www-form-urlencoded"}
local password_request
local queue, head, tail = {}, 1, 0
local count
seeds = 0
issued = 0

function init(args)
  local opts = common.parse_args(args)
  count = common.counter(tonumber(opts.limit or "0"))
  password_request = wrk.format("POST", nil, kHeaders,
                                "grant_type=password&username=demo&password=demo" .. kClient)
end

function request()
  if head <= tail then
    local token = queue[head]
    queue[head] = nil
    head = head + 1
    return wrk.format("POST", nil, kHeaders,
                      "grant_type=refresh_token&refresh_token=" .. common.form_encode(token) ..
                      kClient)
  end
  seeds = seeds + 1
  return password_request
end

function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      tail = tail + 1
      queue[tail] = token
      issued = issued + 1
    end
  end
  count()
end

setup = common.setup
done = common.done
