#include "core/model.h"

#include <gtest/gtest.h>

namespace rapport {
namespace {

const Time kNow = *ParseTime("2026-11-23T10:00:00Z");

TEST(EventJsonTest, RoundTripsAllFields) {
  auto j = Json::parse(R"({"id":"e1","type":"kit.delivered","subject":"shop:C-1",
    "keys":{"order_id":"O-1","shipment_id":"S-9"},"occurred_at":"2026-11-20T08:30:00+01:00",
    "payload":{"carrier":"DHL"}})");
  auto e = EventFromJson(j, kNow);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(FormatTime(e->occurred_at), "2026-11-20T07:30:00Z");
  EXPECT_EQ(e->received_at, kNow);
  ASSERT_EQ(e->keys.size(), 2u);
  Json back = EventToJson(*e);
  EXPECT_EQ(back["keys"]["shipment_id"], "S-9");
  EXPECT_EQ(back["payload"]["carrier"], "DHL");
  EXPECT_EQ(back["received_at"], "2026-11-23T10:00:00Z");
}

TEST(EventJsonTest, ErrorsNameTheField) {
  auto no_type = EventFromJson(Json::parse(R"({"occurred_at":"2026-11-20T00:00:00Z"})"), kNow, "line 2");
  EXPECT_EQ(no_type.status().where(), "line 2.type");
  auto bad_time = EventFromJson(Json::parse(R"({"type":"x","occurred_at":"soon"})"), kNow);
  EXPECT_EQ(bad_time.status().where(), "occurred_at");
  auto bad_payload =
      EventFromJson(Json::parse(R"({"type":"x","occurred_at":"2026-11-20","payload":[1]})"), kNow);
  EXPECT_EQ(bad_payload.status().where(), "payload");
  EXPECT_FALSE(EventFromJson(Json::array(), kNow).ok());
  EXPECT_EQ(EventFromJson(Json::parse(R"({"id":"","type":"x","occurred_at":"2026-11-20"})"), kNow)
                .status()
                .where(),
            "id");
}

TEST(RecordJsonTest, AcceptsKeyAliasAndNamesMissingFields) {
  auto r = RecordFromJson(
      Json::parse(R"({"source":"shop","key":"C-1","fields":{"name":"Anna","zip":80331}})"), kNow);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source_key, "C-1");
  EXPECT_EQ(*FindField(r->fields, "zip"), "80331");
  EXPECT_EQ(FindField(r->fields, "city"), nullptr);
  EXPECT_EQ(RecordFromJson(Json::parse(R"({"source":"shop","fields":{}})"), kNow).status().where(),
            "source_key");
  EXPECT_EQ(RecordFromJson(Json::parse(R"({"source":"shop","key":"k"})"), kNow).status().where(),
            "fields");
}

}  // namespace
}  // namespace rapport
