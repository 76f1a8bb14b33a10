#include "core/ids.h"

#include <xxhash.h>

namespace rapport {

namespace {
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
}

UlidSource::UlidSource(const Clock& clock, uint64_t seed)
    : clock_(clock), rng_(seed != 0 ? seed : std::random_device{}()) {
  if (seed == 0) rng_.seed((static_cast<uint64_t>(std::random_device{}()) << 32) ^ rng_());
}

std::string UlidSource::Next(std::string_view prefix) {
  uint64_t ms = static_cast<uint64_t>(ToMicros(clock_.Now()) / 1000);
  uint64_t hi, lo, t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ms > last_ms_) {
      last_ms_ = ms;
      rand_hi_ = rng_() & 0xFFFF;
      rand_lo_ = rng_();
    } else {
      // Same (or earlier: manual clocks, NTP steps) millisecond: keep order by incrementing.
      if (++rand_lo_ == 0) rand_hi_ = (rand_hi_ + 1) & 0xFFFF;
    }
    t = last_ms_;
    hi = rand_hi_;
    lo = rand_lo_;
  }
  // 26 base32 digits: 10 for the 48-bit millisecond time, 16 for the 80 random bits.
  char out[26];
  for (int i = 9; i >= 0; --i) {
    out[i] = kCrockford[t & 31];
    t >>= 5;
  }
  for (int i = 25; i >= 10; --i) {
    out[i] = kCrockford[lo & 31];
    lo = (lo >> 5) | ((hi & 31) << 59);
    hi >>= 5;
  }
  std::string id;
  id.reserve(prefix.size() + 27);
  id.append(prefix);
  id.push_back('_');
  id.append(out, 26);
  return id;
}

uint64_t Hash64(std::string_view data) { return XXH3_64bits(data.data(), data.size()); }

std::string Hex64(uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i) {
    s[i] = kHex[v & 15];
    v >>= 4;
  }
  return s;
}

}  // namespace rapport
