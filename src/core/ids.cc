#include "core/ids.h"

#include <sodium.h>
#include <xxhash.h>

#include <cstdlib>

namespace rapport {

namespace {
constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
// A step within one millisecond is 1 to 2^48: wide enough that the next id cannot be guessed
// from the last, narrow enough that a frozen manual clock (the demo mints every id in one
// millisecond) overflows the 80 random bits only after about 2^31 ids.
constexpr uint64_t kStepMask = (uint64_t{1} << 48) - 1;
}  // namespace

UlidSource::UlidSource(const Clock& clock, uint64_t seed)
    : clock_(clock), from_os_(seed == 0), rng_(seed) {
  // randombytes_buf is thread-safe only after sodium_init (idempotent, cheap when repeated).
  if (from_os_ && sodium_init() < 0) std::abort();  // only on a broken system
}

uint64_t UlidSource::Random64() {
  if (!from_os_) return rng_();
  uint64_t v;
  randombytes_buf(&v, sizeof v);
  return v;
}

std::string UlidSource::Next(std::string_view prefix) {
  uint64_t ms = static_cast<uint64_t>(ToMicros(clock_.Now()) / 1000);
  uint64_t hi, lo, t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    bool fresh = ms > last_ms_;
    if (!fresh) {
      // Same (or earlier: manual clocks, NTP steps) millisecond: keep order by a random step.
      uint64_t step = (Random64() & kStepMask) + 1;
      uint64_t lo = rand_lo_ + step;
      uint64_t hi = rand_hi_ + (lo < rand_lo_ ? 1 : 0);
      if (hi > 0xFFFF) {
        fresh = true;  // 80 bits overflowed: continue in the next millisecond
        ms = last_ms_ + 1;
      } else {
        rand_lo_ = lo;
        rand_hi_ = hi;
      }
    }
    if (fresh) {
      last_ms_ = ms;
      rand_hi_ = Random64() & 0xFFFF;
      rand_lo_ = Random64();
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
