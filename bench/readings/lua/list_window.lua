-- GET /api/v1/readings/?since=..&until=..&limit=100 over a random window.
-- wrk ... -s list_window.lua URL -- <token> <first epoch s> <last epoch s> <window s> [sensor]
local token, first, last, window, sensor

local function rfc3339(seconds)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", seconds)
end

function init(args)
  token = args[1]
  first = tonumber(args[2])
  last = tonumber(args[3])
  window = tonumber(args[4])
  sensor = args[5]
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
end

function request()
  local since = math.random(first, last - window)
  local path = "/api/v1/readings/?limit=100&since=" .. rfc3339(since)
    .. "&until=" .. rfc3339(since + window)
  if sensor then path = path .. "&sensor=" .. sensor end
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
