-- GET one page of a user's readings, the token from the first argument.
local headers

function init(args)
  headers = {["Authorization"] = "Bearer " .. args[1]}
end

function request()
  return wrk.format("GET", "/api/v1/readings/?limit=10", headers)
end
