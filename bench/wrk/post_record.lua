-- wrk script: POST /v1/records, one new customer record (a JSON object) per request, taken
-- from RECORD_BODIES (one JSON object per line). Thread t of n posts lines t, t+n, ... so no
-- record is posted twice. Once its lines are posted a thread starts again at its first, or,
-- with ONCE=1, asks GET /health only (so that the records' persons can be evaluated whole).
local thread_id = 0
function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end
function init(args)
  token = os.getenv("TOKEN")
  once = os.getenv("ONCE") == "1"
  bodies = {}
  local i = 0
  local n = tonumber(os.getenv("THREADS") or "2")
  for line in io.lines(os.getenv("RECORD_BODIES")) do
    if i % n == id then bodies[#bodies + 1] = line end
    i = i + 1
  end
  next_body = 0
  -- wrk calls thread 0's request() once before the run to check what it returns: that first
  -- call gets a /health request, so that no record goes unposted.
  if id == 0 then table.insert(bodies, 1, false) end
end
function request()
  next_body = next_body + 1
  if next_body > #bodies then
    if once then return wrk.format("GET", "/health") end
    next_body = 1
  end
  if not bodies[next_body] then return wrk.format("GET", "/health") end
  return wrk.format("POST", "/v1/records", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json"}, bodies[next_body])
end
function done(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, max %.2f ms, requests/s %.0f, errors %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.timeout))
end
