// HTTP bodies of POST /v1/events and /v1/records, as JSON and as NDJSON.
#include <cstdint>
#include <string_view>

#include "core/ids.h"
#include "ingest/ingest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  rapport::Time now = rapport::FromMicros(1795428000000000);
  rapport::ManualClock clock(now);
  rapport::UlidSource ids(clock, 1);
  for (auto format : {rapport::ingest::BodyFormat::kJson, rapport::ingest::BodyFormat::kNdjson}) {
    auto events = rapport::ingest::ParseEvents(body, format, now);
    if (events.ok()) {
      for (const auto& e : *events) {
        if (e.id.empty() || e.type.empty()) __builtin_trap();  // validated fields are present
      }
    }
    (void)rapport::ingest::ParseRecords(body, format, now, ids);
  }
  return 0;
}
