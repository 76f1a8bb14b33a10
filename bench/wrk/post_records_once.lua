-- wrk script: POST /v1/records, each line of RECORD_BODIES (one JSON object a line) exactly
-- once, one record per request; thread t of n posts lines t, t+n, ... Once its lines are
-- posted a thread asks GET /health only, so that the records' persons can be evaluated whole.
local thread_id = 0
function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end
function init(args)
  token = os.getenv("TOKEN")
  bodies = {}
  local i = 0
  local n = tonumber(os.getenv("THREADS") or "2")
  for line in io.lines(os.getenv("RECORD_BODIES")) do
    if i % n == id then bodies[#bodies + 1] = line end
    i = i + 1
  end
  next_body = 0
  -- wrk calls thread 0's request() once before the run to check what it returns: that first
  -- call gets the /health request, so that no record goes unposted.
  if id == 0 then table.insert(bodies, 1, false) end
end
function request()
  next_body = next_body + 1
  if next_body > #bodies or not bodies[next_body] then return wrk.format("GET", "/health") end
  return wrk.format("POST", "/v1/records", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json"}, bodies[next_body])
end
