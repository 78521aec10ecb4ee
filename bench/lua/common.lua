-- Shared by the workload scripts. Arguments after `--` are key=value pairs:
--   limit=N   stop after N responses (quick runs, the token-churn run); the runner then ends wrk
-- Every script prints one line `BENCH_RESULT {json}` from done() for the runner to parse.
local common = {}

function common.parse_args(args)
  local opts = {}
  for _, arg in ipairs(args or {}) do
    local key, value = arg:match("^([%w_]+)=(.*)$")
    if key then opts[key] = value end
  end
  return opts
end

-- Form-encodes a value (tokens may carry + / = in hostile fixtures).
function common.form_encode(value)
  return (value:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- Counts responses; at the limit, stops this thread and tells the runner on stdout.
function common.counter(limit)
  local seen = 0
  return function()
    seen = seen + 1
    if limit > 0 and seen == limit then
      io.write("BENCH_LIMIT\n")
      io.flush()
      wrk.thread:stop()
    end
  end
end

-- For scripts with a fixed request: wrk parses responses only when `response` is defined after
-- init(), so it is defined only when a limit asks for counting.
function common.watch_limit(opts)
  local limit = tonumber(opts.limit or "0")
  if limit > 0 then
    local count = common.counter(limit)
    response = function() count() end
  end
end

local threads = {}

function common.setup(thread)
  table.insert(threads, thread)
end

-- Sums a numeric global over the threads (each thread has its own Lua state).
local function thread_sum(name)
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get(name) or 0) end
  return total
end

function common.done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
    '"seeds":%d,"issued":%d,"clock_advances":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, thread_sum("seeds"), thread_sum("issued"), thread_sum("clock_advances")))
  io.flush()
end

return common
