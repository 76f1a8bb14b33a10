// Times and durations from JSON, CSV and YAML: parse, and a parsed time must round-trip.
#include <cstdint>
#include <string_view>

#include "core/clock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = rapport::ParseTime(text);
  if (t.ok()) {
    auto again = rapport::ParseTime(rapport::FormatTime(*t));
    if (!again.ok() || *again != *t) __builtin_trap();
  }
  auto d = rapport::ParseDuration(text);
  if (d.ok()) {
    auto again = rapport::ParseDuration(rapport::FormatDuration(*d));
    if (!again.ok() || *again != *d) __builtin_trap();
  }
  return 0;
}
