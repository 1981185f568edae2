-- One wrk workload for both systems, chosen by environment variables so that raftkit and etcd get
-- the same keys, values and mix: BENCH_API (raftkit | etcd), BENCH_WRITE_PERCENT (0 to 100),
-- BENCH_KEYS, BENCH_VALUE_BYTES, BENCH_CONSISTENCY (raftkit reads). Keys are drawn uniformly at
-- random per request. At the end it prints one JSON line (latencies in microseconds).

local api = os.getenv("BENCH_API")
local write_percent = tonumber(os.getenv("BENCH_WRITE_PERCENT"))
local keys = tonumber(os.getenv("BENCH_KEYS"))
local value = string.rep("v", tonumber(os.getenv("BENCH_VALUE_BYTES")))
local consistency = os.getenv("BENCH_CONSISTENCY")

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
-- etcd's JSON gateway takes keys and values as base64.
local function base64(text)
  local out = {}
  for i = 1, #text, 3 do
    local a, b, c = text:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for k = 1, 4 do
      if k <= chars then
        local index = math.floor(n / 64 ^ (4 - k)) % 64 + 1
        out[#out + 1] = alphabet:sub(index, index)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end

local etcd_value = base64(value)
local json = { ["content-type"] = "application/json" }

local function write(key)
  if api == "etcd" then
    return wrk.format("POST", "/v3/kv/put", json,
      '{"key":"' .. base64(key) .. '","value":"' .. etcd_value .. '"}')
  end
  return wrk.format("PUT", "/v1/kv/" .. key, nil, value)
end

local function read(key)
  if api == "etcd" then
    return wrk.format("POST", "/v3/kv/range", json, '{"key":"' .. base64(key) .. '"}')
  end
  return wrk.format("GET", "/v1/kv/" .. key .. "?consistency=" .. consistency)
end

function setup(thread)
  thread:set("seed", math.random(1, 2 ^ 30))
end

function init()
  math.randomseed(seed or 1)
end

function request()
  local key = "k" .. math.random(0, keys - 1)
  if math.random(1, 100) <= write_percent then
    return write(key)
  end
  return read(key)
end

function done(summary, latency)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"errors":%d,"p50":%d,"p99":%d,"p999":%d,"mean":%f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.mean))
end
