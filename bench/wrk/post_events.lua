-- wrk script: POST /v1/events with NDJSON batches of 1,000 new events each.
-- Ids are unique per thread and request so every event is really stored.
local counter = 0
local thread_id = 0
local batch = tonumber(os.getenv("BATCH") or "1000")

function setup(thread)
  thread:set("id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  token = os.getenv("TOKEN")
  run = os.getenv("RUN") or "r"
end

function request()
  counter = counter + 1
  local lines = {}
  for i = 1, batch do
    lines[i] = string.format(
      '{"id":"%s-%d-%d-%d","type":"kit.delivered","subject":"cust-%d","keys":{"order_id":"O-%d"},"occurred_at":"2026-11-01T10:00:00Z","payload":{"carrier":"DHL"}}',
      run, id, counter, i, i % 977, counter)
  end
  local body = table.concat(lines, "\n")
  return wrk.format("POST", "/v1/events", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/x-ndjson"}, body)
end

function done(summary, latency, requests)
  io.write(string.format("events/s: %.0f\n", summary.requests / (summary.duration / 1e6) * batch))
end
