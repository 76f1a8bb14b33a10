#include "core/status.h"

#include <gtest/gtest.h>

namespace rapport {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("odd number", "x");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return OkStatus();
}

TEST(StatusTest, ToStringNamesCodeMessageAndWhere) {
  Status s = InvalidArgument("missing required field", "line 3: occurred_at");
  EXPECT_EQ(s.ToString(), "invalid_argument: missing required field (at line 3: occurred_at)");
  EXPECT_EQ(OkStatus().ToString(), "ok");
}

TEST(StatusTest, WithContextKeepsCodeAndWhere) {
  Status s = NotFound("no such record", "id").WithContext("GET /v1/records");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "GET /v1/records: no such record");
  EXPECT_EQ(s.where(), "id");
}

TEST(ResultTest, MacrosPropagateTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_FALSE(CheckEven(5).ok());
}

TEST(ResultTest, BuildingFromOkStatusIsAnInternalError) {
  Result<int> r = OkStatus();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace rapport
