// A time zone for business calendars: which local day an instant falls on, and which instant a
// local wall-clock time of a day is. Named zones ("Europe/Berlin") follow the tz database that
// ICU ships, so days are 23 or 25 hours long across daylight-saving changes; a fixed offset
// ("+01:00") is kept for configurations that want exactly that.
//
// Immutable and cheap to copy (the ICU zone is shared); safe to use from several threads, since
// only ICU's const offset lookups are called.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace rapport::timezone {

class Zone {
 public:
  // UTC: every day is 24 hours.
  Zone();

  // An IANA zone id such as "Europe/Berlin", a fixed offset such as "+01:00" / "-05:30", or
  // "UTC" / "Z" / "". kInvalidArgument names the text if it is none of these.
  static Result<Zone> Parse(std::string_view text);
  static Zone FixedOffset(Duration offset);

  // The id as configured ("Europe/Berlin", "+01:00", "UTC").
  const std::string& name() const { return name_; }

  // Local time minus UTC at instant `utc` (daylight saving included).
  Duration OffsetAt(Time utc) const;
  // The local calendar day that `utc` falls on.
  std::chrono::sys_days LocalDay(Time utc) const;
  // Time since local midnight of LocalDay(utc), as a wall clock shows it.
  Duration LocalTimeOfDay(Time utc) const;
  // The instant at which local wall-clock time `time_of_day` (may be 24h: the next midnight)
  // occurs on `day`. A wall time skipped by a spring-forward jump lands after the jump (02:30
  // on the 23-hour day is 03:30 summer time); a wall time that repeats in autumn is its first
  // occurrence.
  Time ToUtc(std::chrono::sys_days day, Duration time_of_day) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;  // null: a fixed offset (UTC by default)
  Duration fixed_offset_{0};
  std::string name_ = "UTC";
};

}  // namespace rapport::timezone
