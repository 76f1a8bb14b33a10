#include "core/json.h"

#include <gtest/gtest.h>

namespace rapport {
namespace {

TEST(JsonTest, MalformedJsonNamesLineAndColumn) {
  auto r = ParseJson("{\n  \"a\": tru\n}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().where(), "line 2, column 11");
  EXPECT_NE(r.status().message().find("malformed JSON"), std::string::npos);
}

TEST(JsonTest, NdjsonSkipsBlankLinesAndNamesTheBadLine) {
  auto ok = ParseNdjson("{\"a\":1}\r\n\n{\"a\":2}\n");
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].line, 3);
  EXPECT_EQ((*ok)[1].value["a"], 2);

  auto bad = ParseNdjson("{\"a\":1}\n{\"a\":2}\n{\"a\" 3}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().where(), "line 3, column 6");
}

TEST(JsonTest, NestingDeeperThanTheLimitIsRefusedWithWhere) {
  std::string deep = std::string(70000, '[') + std::string(70000, ']');
  auto r = ParseJson(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nested deeper than 256"), std::string::npos);
  EXPECT_EQ(r.status().where(), "line 1, column 257");

  std::string at_limit = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJson(at_limit).ok());
  // Brackets inside strings are text, not nesting.
  EXPECT_TRUE(ParseJson("{\"s\":\"" + std::string(1000, '[') + "\\\"\"}").ok());

  auto line = ParseNdjson("{}\n{\"payload\":" + deep + "}\n");
  ASSERT_FALSE(line.ok());
  EXPECT_EQ(line.status().where(), "line 2, column 267");
}

TEST(JsonTest, NumbersOutOfRangeAreMalformedNotACrash) {
  auto r = ParseJson(R"({"n": 1e999})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("malformed JSON"), std::string::npos);
  EXPECT_FALSE(ParseNdjson("{\"n\": -1e999}\n").ok());
}

TEST(JsonTest, TypedAccessNamesTheField) {
  Json obj = Json::parse(R"({"type":"kit.delivered","n":3,"at":"2026-13-01T00:00:00Z",
                             "keys":{"order_id":"o1","n":5,"bad":{"x":1}}})");
  EXPECT_EQ(*RequiredString(obj, "type"), "kit.delivered");
  auto missing = RequiredString(obj, "subject", "line 4");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().where(), "line 4.subject");
  EXPECT_EQ(RequiredString(obj, "n").status().message(), "expected a string");
  EXPECT_EQ(RequiredTime(obj, "at").status().where(), "at");
  EXPECT_FALSE(OptionalString(obj, "absent")->has_value());
  auto keys = OptionalStringMap(obj, "keys");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().where(), "keys.bad");
}

}  // namespace
}  // namespace rapport
