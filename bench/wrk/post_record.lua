-- wrk script: POST /v1/records, one new customer record (a JSON object) per request, taken
-- from RECORD_BODIES (one JSON object per line). Thread t of n posts lines t, t+n, ... so no
-- record is posted twice.
local thread_id = 0
local threads = 0
function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
  threads = thread_id
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
end
function request()
  next_body = next_body + 1
  if next_body > #bodies then next_body = 1 end
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
