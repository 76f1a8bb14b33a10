// CSV reader: any bytes must give rows or an error, never a crash or a hang.
#include <cstdint>
#include <string>

#include "core/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto reader = rapport::CsvReader::Open(bytes);
  if (!reader.ok()) return 0;
  rapport::CsvRow row;
  size_t rows = 0;
  while (true) {
    auto more = reader->Next(&row);
    if (!more.ok() || !*more) break;
    if (++rows > size + 1) __builtin_trap();  // every row consumes at least one byte
  }
  return 0;
}
