#include "profiles/fields.h"

#include <gtest/gtest.h>

namespace rapport::profiles {
namespace {

TEST(CanonicalFields, SynonymsOfEverySourceMapToOneName) {
  EXPECT_EQ(CanonicalFieldName("Vorname"), "given_name");
  EXPECT_EQ(CanonicalFieldName("last-name"), "surname");
  EXPECT_EQ(CanonicalFieldName("PLZ"), "postcode");
  EXPECT_EQ(CanonicalFieldName("E-Mail"), "email");
  EXPECT_EQ(CanonicalFieldName("order_total"), "");
  Fields f = CanonicalizeFields({{"Name", "Anna Maria Müller"},
                                 {"Ort", "München"},
                                 {"order_total", "12"},
                                 {"Telefon", "n/a"}});
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(*FindField(f, "given_name"), "Anna Maria");
  EXPECT_EQ(*FindField(f, "surname"), "Müller");
  EXPECT_EQ(*FindField(f, "city"), "München");
  EXPECT_EQ(FindField(f, "phone"), nullptr) << "placeholders are missing, not values";
}

TEST(GoldenRecord, EachRuleChoosesAndPointsToItsRecord) {
  Fields a = {{"email", "old@example.de"}, {"surname", "Schmidt"}};
  Fields b = {{"email", "new@example.de"}, {"surname", "Schmitt"}};
  Fields c = {{"email", "crm@example.de"}, {"surname", "SCHMIDT"}};
  Time t0 = *ParseTime("2026-01-01T00:00:00Z");
  std::vector<RecordView> views = {{"rec_a", "shop", t0, &a},
                                   {"rec_b", "shop", t0 + std::chrono::hours(48), &b},
                                   {"rec_c", "crm", t0 + std::chrono::hours(24), &c}};
  GoldenRules rules;
  auto g = GoldenRecord(views, rules);
  EXPECT_EQ(g["email"].value, "new@example.de");
  EXPECT_EQ(g["email"].record, "rec_b");
  rules.by_field["email"] = GoldenRule::kSourcePriority;
  rules.source_priority = {"crm"};
  rules.by_field["surname"] = GoldenRule::kMostFrequent;
  g = GoldenRecord(views, rules);
  EXPECT_EQ(g["email"].value, "crm@example.de");
  EXPECT_EQ(g["email"].source, "crm");
  // Schmidt and SCHMIDT fold to one value (two votes); its better-formed spelling is shown.
  EXPECT_EQ(g["surname"].record, "rec_a");
  EXPECT_EQ(g["surname"].value, "Schmidt");
  EXPECT_EQ(GoldenToJson(g)["surname"]["rule"], "most_frequent");
}

TEST(GoldenRecord, TheNewestValueInItsBestFormedSpelling) {
  Fields shop = {{"surname", "Müller"}, {"street", "Hauptstraße 5"}, {"city", "München"}};
  Fields crm = {{"surname", "MUELLER"}, {"street", "Hauptstr. 5"}, {"city", "Muenchen"}};
  Fields moved = {{"surname", "Mueller"}, {"street", "Lindenweg 2"}, {"city", "Muenchen"}};
  Time t0 = *ParseTime("2026-01-01T00:00:00Z");
  std::vector<RecordView> views = {{"rec_shop", "shop", t0, &shop},
                                   {"rec_crm", "crm", t0 + std::chrono::hours(24), &crm}};
  auto g = GoldenRecord(views, {});
  EXPECT_EQ(g["surname"].value, "Müller");
  EXPECT_EQ(g["surname"].record, "rec_shop");
  EXPECT_EQ(g["street"].value, "Hauptstraße 5");
  EXPECT_EQ(g["city"].value, "München");
  // A move is a new value, not a spelling: the newest address wins, however it is written.
  views.push_back({"rec_moved", "crm", t0 + std::chrono::hours(48), &moved});
  g = GoldenRecord(views, {});
  EXPECT_EQ(g["street"].value, "Lindenweg 2");
  EXPECT_EQ(g["street"].record, "rec_moved");
  EXPECT_EQ(g["city"].value, "München");
  EXPECT_EQ(g["surname"].value, "Müller");
}

TEST(GoldenRules, JsonRoundTripAndErrorsNameTheField) {
  auto r = GoldenRules::FromJson(Json::parse(
      R"({"default":"most_frequent","fields":{"email":"source_priority"},"source_priority":["crm"]})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->default_rule, GoldenRule::kMostFrequent);
  auto back = GoldenRules::FromJson(r->ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->by_field.at("email"), GoldenRule::kSourcePriority);
  auto bad = GoldenRules::FromJson(Json::parse(R"({"fields":{"email":"newest"}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().where(), "fields.email");
  EXPECT_FALSE(GoldenRules::FromJson(Json::parse(R"({"defualt":"most_recent"})")).ok());
}

TEST(Households, KeyIgnoresSpellingButNotNumberOrUnit) {
  std::string a = HouseholdKey({{"street", "Hauptstraße 5"}, {"postcode", "80331"}});
  std::string b = HouseholdKey({{"street", "Hauptstr."},
                                {"house_number", "5"},
                                {"postcode", "80331"},
                                {"city", "Muenchen"}});
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, HouseholdKey({{"street", "Hauptstraße 7"}, {"postcode", "80331"}}));
  EXPECT_NE(a, HouseholdKey({{"street", "Hauptstraße 5"},
                             {"postcode", "80331"},
                             {"address_extra", "2. OG links"}}));
  EXPECT_EQ(HouseholdKey({{"street", "Hauptstraße 5"}}), "") << "no place, no household";
  EXPECT_EQ(SurnameKey("Müller"), SurnameKey("Mueller"));
}

TEST(Households, SalutationNamesTheHousehold) {
  EXPECT_EQ(Salutation({{"Johann", "Müller"}}), "Johann Müller");
  EXPECT_EQ(Salutation({{"Johann", "Müller"}, {"Anna", "Müller"}}), "Anna und Johann Müller");
  EXPECT_EQ(Salutation({{"Johann", "Müller"}, {"Anna", "Müller"}, {"Lena", "Müller"}}),
            "Familie Müller");
  EXPECT_EQ(Salutation({{"Johann", "Müller"}, {"Anna", "Schmidt"}}),
            "Johann Müller und Anna Schmidt");
  EXPECT_EQ(Salutation({{"Johann", "Mueller"}, {"Anna", "Müller"}}), "Anna und Johann Müller");
  EXPECT_EQ(Salutation({}), "");
}

}  // namespace
}  // namespace rapport::profiles
