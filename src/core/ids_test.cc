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

// Issue 18, finding 4: a partner that knows one person id found others by counting up from
// it. Ids minted in one millisecond are ordered, but the next is not the last one plus one:
// their random parts differ by a random step, far beyond the last characters.
TEST(UlidSourceTest, IdsOfOneMillisecondAreNotGuessableFromEachOther) {
  ManualClock clock(*ParseTime("2026-01-01T00:00:00Z"));
  UlidSource ids(clock);  // the server's source: the OS's randomness
  std::string prev = ids.Next("per");
  std::set<std::string> steps;
  for (int i = 0; i < 100; ++i) {
    std::string id = ids.Next("per");
    ASSERT_LT(prev, id);
    ASSERT_EQ(id.substr(0, 14), prev.substr(0, 14)) << "same millisecond";
    // At least the last four base32 digits (20 bits) changed: not a neighbour of `prev`.
    EXPECT_NE(id.substr(0, id.size() - 4), prev.substr(0, prev.size() - 4)) << prev << " " << id;
    steps.insert(id.substr(id.size() - 8));
    prev = id;
  }
  EXPECT_EQ(steps.size(), 100u);
}

TEST(UlidSourceTest, TwoSourcesFromTheOsStartApartInOneMillisecond) {
  ManualClock clock(*ParseTime("2026-01-01T00:00:00Z"));
  UlidSource a(clock), b(clock);
  EXPECT_NE(a.Next("per"), b.Next("per"));
}

TEST(HashTest, Hex64IsFixedWidth) {
  EXPECT_EQ(Hex64(0), "0000000000000000");
  EXPECT_EQ(Hex64(0xabcdef), "0000000000abcdef");
  EXPECT_NE(Hash64("Müller"), Hash64("Mueller"));
}

}  // namespace
}  // namespace rapport
