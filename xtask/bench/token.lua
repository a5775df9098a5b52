-- wrk script for the token endpoint: every request authenticates as a client picked at random
-- from the credentials file (one `Basic …` value per line), so the load spreads over many
-- clients; `done` prints one JSON line with the counts and latency percentiles (microseconds).
local creds = {}

function init(args)
  for line in io.lines(args[1]) do
    creds[#creds + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function request()
  headers["Authorization"] = creds[math.random(#creds)]
  return wrk.format("POST", "/oauth/token", headers, "grant_type=client_credentials")
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
