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
                                   timezone::Zone::FixedOffset(std::chrono::hours(1)));
}

// Mon-Fri 08:00-18:00 in Berlin (summer time from 2026-03-29, winter time from 2026-10-25),
// with Good Friday and Easter Monday 2026 off.
BusinessCalendar Berlin() {
  std::array<std::vector<WorkingHours>, 7> hours;
  for (int d = 1; d <= 5; ++d) hours[d] = *ParseWorkingHours("08:00-18:00");
  return *BusinessCalendar::Create(hours,
                                   {std::chrono::floor<std::chrono::days>(T("2026-04-03")),
                                    std::chrono::floor<std::chrono::days>(T("2026-04-06"))},
                                   *timezone::Zone::Parse("Europe/Berlin"));
}

// Open all day, every day: business time is elapsed time, whatever the day's length.
BusinessCalendar BerlinAroundTheClock() {
  std::array<std::vector<WorkingHours>, 7> hours;
  for (auto& day : hours) day = *ParseWorkingHours("00:00-24:00");
  return *BusinessCalendar::Create(hours, {}, *timezone::Zone::Parse("Europe/Berlin"));
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

TEST(BusinessCalendar, SlaOverTheSpringForwardWeekendOpensInSummerTime) {
  // Friday 2026-03-27 17:00 CET (16:00Z) + 24 business hours: 1 h Friday, 10 h Monday and
  // Tuesday (now CEST, UTC+2), 3 h Wednesday → Wednesday 2026-04-01 11:00 CEST = 09:00Z.
  // A fixed +01:00 offset would say 10:00Z, an hour late.
  EXPECT_EQ(Berlin().Add(T("2026-03-27T16:00:00Z"), std::chrono::hours(24)),
            T("2026-04-01T09:00:00Z"));
  // Monday after the change opens at 08:00 summer time = 06:00Z.
  EXPECT_FALSE(Berlin().IsWorkingTime(T("2026-03-30T05:59:00Z")));
  EXPECT_TRUE(Berlin().IsWorkingTime(T("2026-03-30T06:00:00Z")));
}

TEST(BusinessCalendar, SlaOverTheFallBackWeekendOpensInWinterTime) {
  // Friday 2026-10-23 17:00 CEST (15:00Z) + 24 business hours → Wednesday 2026-10-28 11:00
  // CET = 10:00Z.
  EXPECT_EQ(Berlin().Add(T("2026-10-23T15:00:00Z"), std::chrono::hours(24)),
            T("2026-10-28T10:00:00Z"));
  EXPECT_EQ(Berlin().Between(T("2026-10-23T15:00:00Z"), T("2026-10-28T10:00:00Z")),
            std::chrono::hours(24));
}

TEST(BusinessCalendar, TheTwentyThreeAndTwentyFiveHourDaysCountTheirRealLength) {
  BusinessCalendar cal = BerlinAroundTheClock();
  // Saturday 2026-03-28 12:00 CET + 24 h → Sunday 13:00 CEST (the clock jumped an hour).
  EXPECT_EQ(cal.Add(T("2026-03-28T11:00:00Z"), std::chrono::hours(24)), T("2026-03-29T11:00:00Z"));
  // The local day 2026-03-29 has 23 working hours, 2026-10-25 has 25.
  EXPECT_EQ(cal.Between(T("2026-03-28T23:00:00Z"), T("2026-03-29T22:00:00Z")),
            std::chrono::hours(23));
  EXPECT_EQ(cal.Between(T("2026-10-24T22:00:00Z"), T("2026-10-25T23:00:00Z")),
            std::chrono::hours(25));
  EXPECT_EQ(cal.Add(T("2026-10-24T22:00:00Z"), std::chrono::hours(25)), T("2026-10-25T23:00:00Z"));
}

TEST(BusinessCalendar, HolidaysInSummerTime) {
  // Thursday 2026-04-02 17:00 CEST (15:00Z) + 2 h: 1 h Thursday, Good Friday, the weekend and
  // Easter Monday are off → Tuesday 2026-04-07 09:00 CEST = 07:00Z.
  EXPECT_EQ(Berlin().Add(T("2026-04-02T15:00:00Z"), std::chrono::hours(2)),
            T("2026-04-07T07:00:00Z"));
  EXPECT_FALSE(Berlin().IsWorkingTime(T("2026-04-06T10:00:00Z")));
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
  EXPECT_FALSE(BusinessCalendar::Create({}, {}, timezone::Zone()).ok());
}

}  // namespace
}  // namespace rapport::cases
