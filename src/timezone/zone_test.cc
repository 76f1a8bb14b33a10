#include "timezone/zone.h"

#include <gtest/gtest.h>

namespace rapport::timezone {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

Time T(const char* s) { return *ParseTime(s); }
std::chrono::sys_days D(const char* s) { return std::chrono::floor<std::chrono::days>(T(s)); }

TEST(Zone, BerlinFollowsDaylightSaving) {
  Zone berlin = *Zone::Parse("Europe/Berlin");
  EXPECT_EQ(berlin.name(), "Europe/Berlin");
  EXPECT_EQ(berlin.OffsetAt(T("2026-01-15T12:00:00Z")), hours(1));
  EXPECT_EQ(berlin.OffsetAt(T("2026-07-15T12:00:00Z")), hours(2));
  // 2026-03-29 has 23 hours, 2026-10-25 has 25.
  EXPECT_EQ(berlin.ToUtc(D("2026-03-30"), hours(0)) - berlin.ToUtc(D("2026-03-29"), hours(0)),
            hours(23));
  EXPECT_EQ(berlin.ToUtc(D("2026-10-26"), hours(0)) - berlin.ToUtc(D("2026-10-25"), hours(0)),
            hours(25));
  EXPECT_EQ(berlin.ToUtc(D("2026-03-30"), hours(8)), T("2026-03-30T06:00:00Z"));
  EXPECT_EQ(berlin.ToUtc(D("2026-03-27"), hours(8)), T("2026-03-27T07:00:00Z"));
  EXPECT_EQ(berlin.ToUtc(D("2026-03-29"), hours(24)), T("2026-03-29T22:00:00Z"));
}

TEST(Zone, LocalDayAndTimeOfDayAroundMidnight) {
  Zone berlin = *Zone::Parse("Europe/Berlin");
  // 23:30Z on 2026-06-30 is 01:30 on 1 July in Berlin.
  EXPECT_EQ(berlin.LocalDay(T("2026-06-30T23:30:00Z")), D("2026-07-01"));
  EXPECT_EQ(berlin.LocalTimeOfDay(T("2026-06-30T23:30:00Z")), hours(1) + minutes(30));
  EXPECT_EQ(Zone().LocalDay(T("2026-06-30T23:30:00Z")), D("2026-06-30"));
}

TEST(Zone, SkippedAndRepeatedWallTimes) {
  Zone berlin = *Zone::Parse("Europe/Berlin");
  // 02:30 does not exist on 2026-03-29: it lands after the jump, at 03:30 summer time.
  EXPECT_EQ(berlin.ToUtc(D("2026-03-29"), hours(2) + minutes(30)), T("2026-03-29T01:30:00Z"));
  // 02:30 happens twice on 2026-10-25: the first one (summer time) is taken.
  EXPECT_EQ(berlin.ToUtc(D("2026-10-25"), hours(2) + minutes(30)), T("2026-10-25T00:30:00Z"));
}

TEST(Zone, FixedOffsetsAndUtc) {
  Zone plus_one = *Zone::Parse("+01:00");
  EXPECT_EQ(plus_one.name(), "+01:00");
  EXPECT_EQ(plus_one.OffsetAt(T("2026-07-15T12:00:00Z")), hours(1));
  EXPECT_EQ(plus_one.ToUtc(D("2026-07-15"), hours(8)), T("2026-07-15T07:00:00Z"));
  EXPECT_EQ(Zone::Parse("-05:30")->OffsetAt(T("2026-07-15T12:00:00Z")), -(hours(5) + minutes(30)));
  EXPECT_EQ(Zone::Parse("UTC")->name(), "UTC");
  EXPECT_EQ(Zone::Parse("")->OffsetAt(T("2026-07-15T12:00:00Z")), Duration(0));
}

TEST(Zone, UnknownZonesAndBadOffsetsAreNamed) {
  auto bad = Zone::Parse("Europe/Atlantis");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("Europe/Atlantis"), std::string::npos);
  EXPECT_FALSE(Zone::Parse("+1").ok());
  EXPECT_FALSE(Zone::Parse("+25:00").ok());
}

}  // namespace
}  // namespace rapport::timezone
