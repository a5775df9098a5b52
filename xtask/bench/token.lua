-- wrk script for a token endpoint. Arguments: the credentials file (one `Basic …` value per
-- line), then `random` (each request authenticates as a client picked at random, so the load
-- spreads over all of them) or `sequential` (the threads walk the file in turn, so a short run
-- touches every client: the warm-up), the number of threads, and optionally the token path
-- (default /oauth/token) and extra form parameters (the peer wants `&scope=bench:read`). `done`
-- prints one JSON line with the counts and latency percentiles (microseconds).
local creds = {}
local sequential = false
local threads, sent = 1, 0
local path, body = "/oauth/token", "grant_type=client_credentials"
local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  for line in io.lines(args[1]) do
    creds[#creds + 1] = line
  end
  sequential = args[2] == "sequential"
  threads = tonumber(args[3] or "1")
  path = args[4] or path
  body = body .. (args[5] or "")
  math.randomseed(os.time() + (thread_index or 0) * 7919)
end

local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function request()
  local i
  if sequential then
    i = (sent * threads + (thread_index or 0)) % #creds + 1
    sent = sent + 1
  else
    i = math.random(#creds)
  end
  headers["Authorization"] = creds[i]
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
    '"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
