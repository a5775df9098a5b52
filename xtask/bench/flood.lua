-- wrk script for `cargo xtask bench --flood`: a flood of token requests naming made-up but
-- well-formed client ids, each from a made-up address (X-Forwarded-For, which the server trusts
-- from loopback), with a share of real clients' requests mixed in. Arguments:
--   1. the requests file of the real clients (one `Basic …` value per line);
--   2. a well-formed client secret that belongs to no client;
--   3. the share of requests that are real clients' (0 to 1).
-- `done` prints one JSON line: the requests, the duration, and the answers by status.
local lines = {}
local secret, real_share = "", 0.1
local alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
local counts = {}

function setup(thread)
  table.insert(counts, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    lines[#lines + 1] = line
  end
  secret = args[2]
  real_share = tonumber(args[3])
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  ok, unauthorized, limited, other = 0, 0, 0, 0
end

local function made_up_id()
  -- `cli_`, then 26 base32 characters whose first is at most 7 (a 128-bit body).
  local chars = { "cli_", tostring(math.random(0, 7)) }
  for _ = 1, 25 do
    local i = math.random(1, 32)
    chars[#chars + 1] = alphabet:sub(i, i)
  end
  return table.concat(chars)
end

local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }

function request()
  if math.random() < real_share then
    form["Authorization"] = lines[math.random(#lines)]
    form["X-Forwarded-For"] = nil
    return wrk.format("POST", "/oauth/token", form, "grant_type=client_credentials")
  end
  form["Authorization"] = nil
  form["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  local body = "grant_type=client_credentials&client_id=" .. made_up_id() .. "&client_secret=" .. secret
  return wrk.format("POST", "/oauth/token", form, body)
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 401 then
    unauthorized = unauthorized + 1
  elseif status == 429 then
    limited = limited + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local total = { ok = 0, unauthorized = 0, limited = 0, other = 0 }
  for _, thread in ipairs(counts) do
    for k, _ in pairs(total) do
      total[k] = total[k] + (thread:get(k) or 0)
    end
  end
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"ok":%d,"unauthorized":%d,"limited":%d,"other":%d,"errors_connect":%d,"errors_timeout":%d}\n',
    summary.requests, summary.duration, total.ok, total.unauthorized, total.limited, total.other,
    summary.errors.connect, summary.errors.timeout))
end
