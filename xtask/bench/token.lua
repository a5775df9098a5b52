-- wrk script for Writ's (and the peer's) endpoints. Arguments:
--   1. the requests file: one `Basic …` value per line (or nothing), optionally followed by a tab
--      and form parameters for that line's request (`token=…` for introspection, a
--      `client_assertion`); `-` for plain GETs;
--   2. `random` (each request takes a line picked at random, so the load spreads over all the
--      clients), `sequential` (the threads walk the file in turn, so a short run touches every
--      client: the warm-up), `chain` (refresh tokens: each thread takes its share of the lines as
--      a pool, sends one, and puts back the `refresh_token` the answer carries, since each works
--      once) or `page` (a GET of the path in the line's form part, with its first part as the
--      `Cookie` header);
--   3. the number of threads;
--   4. the path (default /oauth/token);
--   5. the form body every request starts with (default `grant_type=client_credentials`; the
--      peer's adds `&scope=bench:read`).
-- `done` prints one JSON line with the counts and latency percentiles (microseconds).
local lines = {}
local sequential, chain, page = false, false, false
local pool = {}
local threads, sent = 1, 0
local path, body = "/oauth/token", "grant_type=client_credentials"
local get = false
local next_thread = 0

function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  get = args[1] == "-"
  if not get then
    for line in io.lines(args[1]) do
      local auth, form = line:match("^([^\t]*)\t(.*)$")
      lines[#lines + 1] = { auth or line, form }
    end
  end
  sequential = args[2] == "sequential"
  chain = args[2] == "chain"
  page = args[2] == "page"
  threads = tonumber(args[3] or "1")
  path = args[4] or path
  body = args[5] or body
  math.randomseed(os.time() + (thread_index or 0) * 7919)
  if chain then
    for i = (thread_index or 0) + 1, #lines, threads do
      pool[#pool + 1] = lines[i][2]
    end
    response = take_refresh_token
  end
end

local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function request()
  if get then
    return wrk.format("GET", path)
  end
  if page then
    return wrk.format("GET", lines[1][2], { ["Cookie"] = lines[1][1] })
  end
  if chain then
    -- An empty pool (every token in flight, or lost to an error) sends a spent one: an error.
    local form = table.remove(pool, 1) or lines[1][2]
    headers["Authorization"] = nil
    return wrk.format("POST", path, headers, body .. "&" .. form)
  end
  local i
  if sequential then
    i = (sent * threads + (thread_index or 0)) % #lines + 1
    sent = sent + 1
  else
    i = math.random(#lines)
  end
  local line = lines[i]
  -- No Authorization header when the line's is empty (the client authenticates in the form).
  headers["Authorization"] = line[1] ~= "" and line[1] or nil
  local form = body
  if line[2] then
    form = (form == "" and "" or form .. "&") .. line[2]
  end
  return wrk.format("POST", path, headers, form)
end

-- Defined only for `chain` (from `init`), so the other loads do not pay for reading bodies.
function take_refresh_token(status, resp_headers, resp_body)
  local token = resp_body and resp_body:match('"refresh_token":"([^"]+)"')
  if token then
    pool[#pool + 1] = (lines[1][2]:gsub("refresh_token=[^&]*", "refresh_token=" .. token))
  end
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
