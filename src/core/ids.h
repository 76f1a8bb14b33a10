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

// ULIDs from the given clock and a random generator; `seed` 0 means the operating system's
// CSPRNG (libsodium's randombytes_buf), any other value a deterministic sequence (for tests
// and the simulator). Ids are handed to partners and guessed by them, so they must not be
// predictable from one another: the 80 random bits start random in each millisecond, and a
// second id within the same millisecond adds a random step of 1 to 2^48 instead of 1 (order
// is kept, the next id is not the last one plus one). When the random bits would overflow,
// the id moves to the next millisecond (the ids stay increasing; the time part runs ahead).
class UlidSource final : public IdSource {
 public:
  explicit UlidSource(const Clock& clock, uint64_t seed = 0);
  std::string Next(std::string_view prefix) override;

 private:
  uint64_t Random64();  // under mu_

  const Clock& clock_;
  std::mutex mu_;
  const bool from_os_;
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
