#include "cases/calendar.h"

#include <gtest/gtest.h>

namespace rapport::cases {
namespace {

Time T(const char* s) { return *ParseTime(s); }

// Mon-Fri 08:00-18:00 local time at UTC+01:00, with 2026-12-24 and 2026-12-25 off.
BusinessCalendar Office() {
  std::array<std::vector<WorkingHours>, 7> hours;
  for (int d = 1; d <= 5; ++d) hours[d] = *ParseWorkingHours("08:00-18:00");
  return *BusinessCalendar::Create(hours,
                                   {std::chrono::floor<std::chrono::days>(T("2026-12-24")),
                                    std::chrono::floor<std::chrono::days>(T("2026-12-25"))},
                                   *ParseUtcOffset("+01:00"));
}

TEST(BusinessCalendar, CountsOnlyWorkingHoursWithinADay) {
  // Monday 2026-11-23 09:00 local = 08:00Z; 3 business hours later is 12:00 local.
  EXPECT_EQ(Office().Add(T("2026-11-23T08:00:00Z"), std::chrono::hours(3)),
            T("2026-11-23T11:00:00Z"));
}

TEST(BusinessCalendar, SkipsNightsAndWeekends) {
  // Friday 2026-11-27 17:00 local (16:00Z): 1 h on Friday, 10 h Monday, 10 h Tuesday, 3 h
  // Wednesday → Wednesday 11:00 local.
  EXPECT_EQ(Office().Add(T("2026-11-27T16:00:00Z"), std::chrono::hours(24)),
            T("2026-12-02T10:00:00Z"));
}

TEST(BusinessCalendar, StartOutsideHoursCountsFromTheNextOpening) {
  // Saturday → Monday 08:00 local + 2 h.
  EXPECT_EQ(Office().Add(T("2026-11-28T12:00:00Z"), std::chrono::hours(2)),
            T("2026-11-30T09:00:00Z"));
}

TEST(BusinessCalendar, SkipsHolidays) {
  // Wednesday 2026-12-23 17:00 local: 1 h, then Thursday and Friday are holidays → Monday 28th.
  EXPECT_EQ(Office().Add(T("2026-12-23T16:00:00Z"), std::chrono::hours(2)),
            T("2026-12-28T08:00:00Z"));
}

TEST(BusinessCalendar, BetweenIsTheInverseOfAdd) {
  BusinessCalendar cal = Office();
  Time start = T("2026-11-27T16:30:00Z");
  for (int h : {1, 5, 10, 24, 50}) {
    Time end = cal.Add(start, std::chrono::hours(h));
    EXPECT_EQ(cal.Between(start, end), std::chrono::hours(h)) << h;
  }
  EXPECT_FALSE(cal.IsWorkingTime(T("2026-11-28T10:00:00Z")));  // Saturday
  EXPECT_TRUE(cal.IsWorkingTime(T("2026-11-30T10:00:00Z")));
}

TEST(BusinessCalendar, AlwaysOpenIsPlainTime) {
  EXPECT_EQ(BusinessCalendar::AlwaysOpen().Add(T("2026-11-28T12:00:00Z"), std::chrono::hours(24)),
            T("2026-11-29T12:00:00Z"));
}

TEST(BusinessCalendar, RejectsBadHoursAndAnEmptyWeek) {
  EXPECT_FALSE(ParseWorkingHours("18:00-08:00").ok());
  EXPECT_FALSE(ParseWorkingHours("8-18").ok());
  EXPECT_FALSE(ParseWorkingHours("08:00-12:00, 11:00-14:00").ok());
  EXPECT_EQ(ParseWorkingHours("08:00-12:00, 13:00-17:00")->size(), 2u);
  EXPECT_FALSE(ParseUtcOffset("+1").ok());
  EXPECT_FALSE(BusinessCalendar::Create({}, {}, Duration(0)).ok());
}

}  // namespace
}  // namespace rapport::cases
