-- GET <prefix><random id in [first, last]> with an optional bearer token.
-- wrk ... -s get_by_id.lua URL -- <prefix> <first> <last> [token]
local prefix, first, last, token

function init(args)
  prefix = args[1]
  first = tonumber(args[2])
  last = tonumber(args[3])
  token = args[4]
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 1000)
end

function request()
  local headers = {}
  if token then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("GET", prefix .. math.random(first, last), headers)
end
