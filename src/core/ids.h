// Identifiers: time-ordered ULIDs with a readable type prefix ("rec_01JD..."), so ids sort
// by creation time (good for B-tree locality and cursors) and tell what they name.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace rapport {

// Thread-safe. Ids from one source are strictly increasing, even within a millisecond.
class IdSource {
 public:
  virtual ~IdSource() = default;
  // `prefix` + "_" + 26 Crockford base32 characters.
  virtual std::string Next(std::string_view prefix) = 0;
};

// ULIDs from the given clock and a random generator; `seed` 0 means seeded from the OS,
// any other value makes the sequence deterministic (for tests and the simulator).
class UlidSource final : public IdSource {
 public:
  explicit UlidSource(const Clock& clock, uint64_t seed = 0);
  std::string Next(std::string_view prefix) override;

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::mt19937_64 rng_;
  uint64_t last_ms_ = 0;
  uint64_t rand_hi_ = 0;  // 16 bits used
  uint64_t rand_lo_ = 0;  // 64 bits used
};

// A fast non-cryptographic 64-bit hash (XXH3) for content fingerprints and blocking
// keys, and its 16-digit lowercase hex form.
uint64_t Hash64(std::string_view data);
std::string Hex64(uint64_t v);

}  // namespace rapport
