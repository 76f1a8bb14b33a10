// Time for the whole system. Every component that needs "now" takes a Clock&, so tests
// and `rapport serve --clock manual` can move time deterministically.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "core/status.h"

namespace rapport {

using Duration = std::chrono::microseconds;
using Time = std::chrono::sys_time<Duration>;

// Thread-safe. Now() never goes backwards for ManualClock; SystemClock follows the OS.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time Now() const = 0;
  // True for a clock that only tests and --clock manual move.
  virtual bool IsManual() const { return false; }
};

class SystemClock final : public Clock {
 public:
  Time Now() const override;
};

// A clock that moves only when told to, and only forward.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Time start) : now_us_(start.time_since_epoch().count()) {}
  Time Now() const override { return Time(Duration(now_us_.load())); }
  bool IsManual() const override { return true; }

  // Fails with kInvalidArgument for a negative step.
  Status Advance(Duration step);
  // Fails with kFailedPrecondition if `to` lies before Now().
  Status AdvanceTo(Time to);

 private:
  std::atomic<int64_t> now_us_;
};

// RFC 3339 / ISO 8601: "2026-11-23T10:00:00Z", "2026-11-23T10:00:00.123+01:00",
// "2026-11-23" (midnight UTC). Errors name the offending text.
Result<Time> ParseTime(std::string_view text);
// Always UTC with a 'Z'; milliseconds or microseconds only when non-zero.
std::string FormatTime(Time t);

// "90s", "15m", "12h", "14d", "2w", "1d12h", "500ms". Errors name the offending text.
Result<Duration> ParseDuration(std::string_view text);
// The inverse of ParseDuration for whole units ("14d", "1d12h", "0s").
std::string FormatDuration(Duration d);

inline int64_t ToMicros(Time t) { return t.time_since_epoch().count(); }
inline Time FromMicros(int64_t us) { return Time(Duration(us)); }

}  // namespace rapport
