-- GET one fixed path with a bearer token: wrk ... -s fixed_get.lua URL -- <path> <token>
local path, token

function init(args)
  path = args[1]
  token = args[2]
end

function request()
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
end
