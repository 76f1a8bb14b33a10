#include "core/clock.h"

#include <gtest/gtest.h>

namespace rapport {
namespace {

using namespace std::chrono_literals;

TEST(TimeTest, ParsesRfc3339WithZoneAndFraction) {
  auto t = ParseTime("2026-11-23T10:00:00Z");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(FormatTime(*t), "2026-11-23T10:00:00Z");
  EXPECT_EQ(ToMicros(*t), 1795428000LL * 1000000);

  auto with_offset = ParseTime("2026-11-23T11:00:00.5+01:00");
  ASSERT_TRUE(with_offset.ok());
  EXPECT_EQ(FormatTime(*with_offset), "2026-11-23T10:00:00.500Z");

  auto micro = ParseTime("2026-11-23T10:00:00.000001Z");
  ASSERT_TRUE(micro.ok());
  EXPECT_EQ(FormatTime(*micro), "2026-11-23T10:00:00.000001Z");

  auto date_only = ParseTime("2026-02-28");
  ASSERT_TRUE(date_only.ok());
  EXPECT_EQ(FormatTime(*date_only), "2026-02-28T00:00:00Z");
  EXPECT_EQ(FormatTime(*ParseTime("0001-01-01T00:00:00.123Z")), "0001-01-01T00:00:00.123Z");
  EXPECT_EQ(FormatTime(*ParseTime("9999-12-31T23:59:59.999999Z")), "9999-12-31T23:59:59.999999Z");
}

TEST(TimeTest, RejectsMalformedTimesWithTheText) {
  for (const char* bad : {"", "2026-13-01", "2026-02-30", "2026-11-23T10:00:00", "yesterday",
                          "2026-11-23T25:00:00Z", "2026-11-23T10:00:00Zjunk"}) {
    auto t = ParseTime(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_NE(t.status().message().find(std::string("'") + bad + "'"), std::string::npos);
    }
  }
}

TEST(DurationTest, ParsesCompoundUnitsAndRoundTrips) {
  EXPECT_EQ(*ParseDuration("14d"), 14 * 24h);
  EXPECT_EQ(*ParseDuration("1d12h"), 36h);
  EXPECT_EQ(*ParseDuration("90s"), 90s);
  EXPECT_EQ(*ParseDuration("500ms"), 500ms);
  EXPECT_EQ(*ParseDuration("2w"), 14 * 24h);
  EXPECT_EQ(FormatDuration(36h), "1d12h");
  EXPECT_EQ(FormatDuration(0s), "0s");
  EXPECT_FALSE(ParseDuration("12").ok());
  EXPECT_FALSE(ParseDuration("d").ok());
  EXPECT_FALSE(ParseDuration("-3d").ok());
  EXPECT_FALSE(ParseDuration("3 days").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999d").ok());
}

TEST(ManualClockTest, MovesOnlyForward) {
  ManualClock clock(*ParseTime("2026-01-01T00:00:00Z"));
  ASSERT_TRUE(clock.Advance(3 * 24h).ok());
  EXPECT_EQ(FormatTime(clock.Now()), "2026-01-04T00:00:00Z");
  EXPECT_FALSE(clock.Advance(-1s).ok());
  Status back = clock.AdvanceTo(*ParseTime("2026-01-02T00:00:00Z"));
  EXPECT_EQ(back.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(FormatTime(clock.Now()), "2026-01-04T00:00:00Z");
  ASSERT_TRUE(clock.AdvanceTo(*ParseTime("2026-02-01T00:00:00Z")).ok());
  EXPECT_EQ(FormatTime(clock.Now()), "2026-02-01T00:00:00Z");
  EXPECT_TRUE(clock.IsManual());
  EXPECT_FALSE(SystemClock().IsManual());
}

}  // namespace
}  // namespace rapport
