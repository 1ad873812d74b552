-- POST one fixed JSON body, with an optional bearer token (a JWT or a device key).
-- wrk ... -s post_json.lua URL -- <path> <body> [token]
local path, body, token

function init(args)
  path = args[1]
  body = args[2]
  token = args[3]
end

function request()
  local headers = {["Content-Type"] = "application/json"}
  if token then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", path, headers, body)
end
