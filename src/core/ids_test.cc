#include "core/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace rapport {
namespace {

TEST(UlidSourceTest, IdsAreStrictlyIncreasingWithinOneMillisecond) {
  ManualClock clock(*ParseTime("2026-01-01T00:00:00Z"));
  UlidSource ids(clock, 42);
  std::string prev = ids.Next("evt");
  for (int i = 0; i < 10000; ++i) {
    std::string id = ids.Next("evt");
    ASSERT_LT(prev, id);
    prev = id;
  }
  EXPECT_EQ(prev.size(), 4u + 26u);
  EXPECT_EQ(prev.rfind("evt_", 0), 0u);
}

TEST(UlidSourceTest, LaterTimeSortsLaterAndSeedIsDeterministic) {
  ManualClock clock(*ParseTime("2026-01-01T00:00:00Z"));
  UlidSource a(clock, 7), b(clock, 7);
  std::string first = a.Next("rec");
  EXPECT_EQ(first, b.Next("rec"));
  ASSERT_TRUE(clock.Advance(std::chrono::milliseconds(1)).ok());
  EXPECT_LT(first, a.Next("rec"));
  // The time part: 1767225600000 ms (2026-01-01) in Crockford base32, computed independently.
  EXPECT_EQ(first.substr(4, 10), "01KDVDNA00");
}

TEST(HashTest, Hex64IsFixedWidth) {
  EXPECT_EQ(Hex64(0), "0000000000000000");
  EXPECT_EQ(Hex64(0xabcdef), "0000000000abcdef");
  EXPECT_NE(Hash64("Müller"), Hash64("Mueller"));
}

}  // namespace
}  // namespace rapport
