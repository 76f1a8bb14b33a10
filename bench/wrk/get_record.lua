-- wrk script: GET /v1/records/{id} with keep-alive over ids listed in RECORD_IDS (a file).
local ids = {}
function init(args)
  token = os.getenv("TOKEN")
  for line in io.lines(os.getenv("RECORD_IDS")) do ids[#ids + 1] = line end
  n = 0
end
function request()
  n = n + 1
  return wrk.format("GET", "/v1/records/" .. ids[(n % #ids) + 1],
                    {["Authorization"] = "Bearer " .. token})
end
function done(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, requests/s %.0f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
