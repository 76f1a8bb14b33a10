// Business time for SLAs: working hours per weekday and holidays in a time zone (an IANA zone
// such as "Europe/Berlin", so a Monday after the change to summer time opens at 08:00 summer
// time; or a fixed offset). An SLA of "24h" on a business calendar means 24 hours of working time,
// so a case opened on Friday evening is not breached over the weekend.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "timezone/zone.h"

namespace rapport::cases {

// One working window of a day, in minutes after local midnight: [open, close).
struct WorkingHours {
  int open_minute = 0;
  int close_minute = 0;  // > open_minute; 1440 is the end of the day
};

// Immutable after construction; safe to share between threads.
class BusinessCalendar {
 public:
  // Every day, all day: business time equals elapsed time.
  static BusinessCalendar AlwaysOpen();

  // hours[w] for weekday w (0 = Sunday .. 6 = Saturday); an empty optional means closed.
  // The hours and holidays are local to `zone`.
  // kInvalidArgument if no weekday has working hours (no deadline could ever be reached).
  static Result<BusinessCalendar> Create(std::array<std::vector<WorkingHours>, 7> hours,
                                         std::vector<std::chrono::sys_days> holidays,
                                         timezone::Zone zone);

  // The time at which `amount` of business time has passed after `start`. A start outside
  // working hours counts from the next opening.
  Time Add(Time start, Duration amount) const;
  // Business time between `from` and `to` (0 if to <= from).
  Duration Between(Time from, Time to) const;
  bool IsWorkingTime(Time t) const;
  bool always_open() const { return always_open_; }
  const timezone::Zone& zone() const { return zone_; }

 private:
  BusinessCalendar() = default;
  // Working windows of the local day `day`, as UTC intervals.
  std::vector<std::pair<Time, Time>> Windows(std::chrono::sys_days local_day) const;

  bool always_open_ = false;
  std::array<std::vector<WorkingHours>, 7> hours_;
  std::vector<int64_t> holidays_;  // local days since epoch, sorted
  timezone::Zone zone_;
};

// "08:00-18:00" → WorkingHours; "closed" or "" → none. Errors name the text.
Result<std::vector<WorkingHours>> ParseWorkingHours(std::string_view text);

}  // namespace rapport::cases
