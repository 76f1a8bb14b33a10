#include "cases/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace rapport::cases {
namespace {

TEST(LoadConfig, NamesFileLineAndColumnOfAnUnknownTeam) {
  auto c = LoadConfig("teams:\n  - id: a\nrouting:\n  rules:\n    - id: r\n      team: b\n",
                      "cases.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().where(), "cases.yaml:6:13");
  EXPECT_NE(c.status().message().find("unknown team 'b'"), std::string::npos);
}

// Found by cases_fuzzer: a Latin-1 word went into the rules and later broke every JSON answer
// that named it.
TEST(LoadConfig, RefusesTextThatIsNotUtf8NamingLineAndColumn) {
  auto config = LoadConfig(
      "teams:\n  - {id: kasse, name: \"R\xFC"
      "ckgabe\"}\n",
      "cases.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().where(), "cases.yaml:2:25");
  EXPECT_NE(config.status().message().find("not UTF-8"), std::string::npos);
}

TEST(LoadConfig, RefusesControlCharactersNamingLineAndColumn) {
  auto config = LoadConfig(std::string("teams:\n  - id: fs\t\0_rc\n", 23), "cases.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().where(), "cases.yaml:2:12");
  EXPECT_NE(config.status().message().find("control character 0"), std::string::npos)
      << config.status().ToString();
}

// Found by cases_fuzzer: `id: !` is a tagged empty scalar; a team nobody can name got every case.
TEST(LoadConfig, RefusesEmptyIdsNamingWhere) {
  for (const char* yaml :
       {"teams:\n  - id: !\n", "teams:\n  - id: \"\"\n", "fields: [\"\"]\nteams: [{id: a}]\n",
        "teams: [{id: a}]\nrouting:\n  rules:\n    - {id: '', team: a}\n"}) {
    auto config = LoadConfig(yaml, "cases.yaml");
    ASSERT_FALSE(config.ok()) << yaml;
    EXPECT_NE(config.status().message().find("must not be empty"), std::string::npos)
        << config.status().ToString();
    EXPECT_EQ(config.status().where().rfind("cases.yaml:", 0), 0u) << config.status().ToString();
  }
}

TEST(LoadConfig, RejectsUnknownKeysFieldsAndBadDurations) {
  auto key = LoadConfig("teams: [{id: a, colour: red}]\n", "f.yaml");
  ASSERT_FALSE(key.ok());
  EXPECT_NE(key.status().message().find("unknown key 'colour'"), std::string::npos);
  auto need = LoadConfig("fields: [device]\nteams: [{id: a, needs: [serial]}]\n", "f.yaml");
  ASSERT_FALSE(need.ok());
  EXPECT_NE(need.status().message().find("unknown field 'serial'"), std::string::npos);
  auto sla = LoadConfig("teams: [{id: a}]\nsla:\n  - first_contact: soon\n", "f.yaml");
  ASSERT_FALSE(sla.ok());
  EXPECT_EQ(sla.status().where(), "f.yaml:3:20");
  auto syntax = LoadConfig("teams: [\n", "f.yaml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.status().where().rfind("f.yaml:", 0), 0u);
}

TEST(LoadConfig, CalendarTimeZoneIsAnIanaZoneOrAnOffset) {
  auto berlin = LoadConfig(
      "teams: [{id: a}]\ncalendar:\n  time_zone: Europe/Berlin\n  hours: \"08:00-18:00\"\n",
      "f.yaml");
  ASSERT_TRUE(berlin.ok()) << berlin.status().ToString();
  EXPECT_EQ((*berlin)->calendar.zone().name(), "Europe/Berlin");
  auto legacy = LoadConfig(
      "teams: [{id: a}]\ncalendar:\n  utc_offset: \"+01:00\"\n  hours: \"08:00-18:00\"\n",
      "f.yaml");
  ASSERT_TRUE(legacy.ok()) << legacy.status().ToString();
  EXPECT_EQ((*legacy)->calendar.zone().name(), "+01:00");
  auto unknown = LoadConfig(
      "teams: [{id: a}]\ncalendar:\n  time_zone: Europe/Atlantis\n  hours: \"08:00-18:00\"\n",
      "f.yaml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().where(), "f.yaml:3:14");
  EXPECT_NE(unknown.status().message().find("Europe/Atlantis"), std::string::npos);
  auto both = LoadConfig(
      "teams: [{id: a}]\ncalendar:\n  time_zone: UTC\n  utc_offset: Z\n  hours: \"08:00\"\n",
      "f.yaml");
  EXPECT_FALSE(both.ok());
}

TEST(LoadConfig, PicksTheMostSpecificSla) {
  auto c = LoadConfig(R"(
teams: [{id: a}]
sla:
  - {first_contact: 48h}
  - {case_type: feedback, first_contact: 36h}
  - {case_type: feedback, priority: high, first_contact: 24h}
)",
                      "f.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*(*c)->FindSla("feedback", "high")->first_contact, std::chrono::hours(24));
  EXPECT_EQ(*(*c)->FindSla("feedback", "low")->first_contact, std::chrono::hours(36));
  EXPECT_EQ(*(*c)->FindSla("inquiry", "low")->first_contact, std::chrono::hours(48));
}

TEST(LoadConfig, TheExampleAndTheDefaultLoad) {
  EXPECT_TRUE(LoadConfig(DefaultConfigYaml(), "default").ok());
  std::ifstream in(std::string(RAPPORT_CASES_SOURCE_DIR) + "/examples/cases/cases.yaml");
  ASSERT_TRUE(in.good());
  std::stringstream buf;
  buf << in.rdbuf();
  auto c = LoadConfig(buf.str(), "examples/cases/cases.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE((*c)->FindTeam("invoicing"));
}

TEST(EventTypeMatches, PrefixPatterns) {
  EXPECT_TRUE(EventTypeMatches("order.*", "order.placed"));
  EXPECT_FALSE(EventTypeMatches("order.*", "orders.placed"));
  EXPECT_TRUE(EventTypeMatches("order.placed", "order.placed"));
}

}  // namespace
}  // namespace rapport::cases
