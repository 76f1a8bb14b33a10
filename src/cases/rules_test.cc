#include "cases/rules.h"

#include <gtest/gtest.h>

namespace rapport::cases {
namespace {

ConfigPtr Config() {
  auto c = LoadConfig(R"(
fields: [device]
teams:
  - {id: first-level}
  - {id: billing}
  - {id: tech}
  - {id: invoicing}
routing:
  default_team: first-level
  rules:
    - id: feedback-invoice
      team: invoicing
      event_types: [feedback.*]
      attributes: {topic: invoice}
    - id: technical
      team: tech
      keywords: [startet nicht, "won't start", display, kaputt, broken]
    - id: billing
      team: billing
      keywords: [rechnung, invoice, abbuchung]
    - id: premium
      team: tech
      attributes: {tier: gold}
feedback:
  topics:
    invoice: [rechnung, invoice, finanzamt, tax office]
    delivery: [lieferung, delivery, paket]
  negative_words: [schlecht, bad, abgelehnt]
  positive_words: [gut, good, zufrieden]
)",
                      "test.yaml");
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return *c;
}

TEST(NormalizeText, FoldsGermanLettersAndPunctuation) {
  EXPECT_EQ(NormalizeText("Gerät STARTET nicht!"), "geraet startet nicht");
  EXPECT_EQ(NormalizeText("Straße, Größe"), "strasse groesse");
  EXPECT_EQ(NormalizeText("  Über  café "), "ueber cafe");
}

TEST(ContainsPhrase, MatchesFromAWordStartIntoCompounds) {
  EXPECT_TRUE(ContainsPhrase("meine rechnungsadresse ist falsch", "rechnung"));
  EXPECT_FALSE(ContainsPhrase("die steuerrechnung", "rechnung"));
  EXPECT_TRUE(ContainsPhrase("das geraet startet nicht mehr", "startet nicht"));
  EXPECT_FALSE(ContainsPhrase("anything", ""));
}

TEST(Route, GermanKeywordsPickTheTeamAndNameTheReason) {
  auto d = Route(*Config(), {"Mein Handy startet nicht mehr", "", "inquiry", {}});
  EXPECT_EQ(d.team, "tech");
  EXPECT_EQ(d.rule, "technical");
  EXPECT_NE(d.reason.find("'startet nicht'"), std::string::npos) << d.reason;
}

TEST(Route, EnglishKeywordsAndTheFirstMatchingRuleWins) {
  auto d = Route(*Config(), {"My invoice is wrong and the display is broken", "", "", {}});
  EXPECT_EQ(d.team, "tech");  // "technical" comes before "billing"
  auto b = Route(*Config(), {"Question about my Rechnung", "", "", {}});
  EXPECT_EQ(b.team, "billing");
}

TEST(Route, EventTypeAndAttributesMustAllHold) {
  auto d = Route(*Config(), {"", "feedback.submitted", "feedback", {{"topic", "invoice"}}});
  EXPECT_EQ(d.team, "invoicing");
  EXPECT_NE(d.reason.find("event type 'feedback.submitted'"), std::string::npos);
  // Same attribute without the event type: not that rule.
  EXPECT_EQ(Route(*Config(), {"", "", "", {{"topic", "invoice"}}}).team, "first-level");
  EXPECT_EQ(Route(*Config(), {"hello", "", "", {{"tier", "Gold"}}}).team, "tech");
}

TEST(Route, NothingMatchesGivesTheDefaultTeam) {
  auto d = Route(*Config(), {"Guten Tag", "", "", {}});
  EXPECT_EQ(d.team, "first-level");
  EXPECT_TRUE(d.rule.empty());
}

TEST(ClassifyFeedback, RatingDecidesSentimentAndKeywordsTheTopic) {
  auto c =
      ClassifyFeedback(Config()->feedback, "Die Rechnung wird vom Finanzamt nicht anerkannt", 2);
  EXPECT_EQ(c.topic, "invoice");
  EXPECT_EQ(c.sentiment, "negative");
  EXPECT_EQ(c.topic_words.size(), 2u);
  EXPECT_EQ(ClassifyFeedback(Config()->feedback, "Paket kam schnell", 5).sentiment, "positive");
  EXPECT_EQ(ClassifyFeedback(Config()->feedback, "Paket kam", 3).topic, "delivery");
}

TEST(ClassifyFeedback, WithoutRatingWordsAndNegationDecide) {
  auto f = Config()->feedback;
  EXPECT_EQ(ClassifyFeedback(f, "Bad invoice: the tax office refused it", {}).sentiment,
            "negative");
  EXPECT_EQ(ClassifyFeedback(f, "Lieferung war nicht gut", {}).sentiment, "negative");
  EXPECT_EQ(ClassifyFeedback(f, "Lieferung war gut", {}).sentiment, "positive");
  EXPECT_EQ(ClassifyFeedback(f, "Hallo", {}).topic, "other");
}

TEST(FeedbackReadingTest, DefaultKeysReadRatingOrStarsAndTextOrComment) {
  ConfigPtr cfg = Config();
  const FeedbackRules& rules = cfg->feedback;
  auto stars = ReadFeedback(rules, Json{{"stars", 2}, {"text", "Rechnung falsch"}});
  EXPECT_EQ(stars.rating, 2);
  EXPECT_EQ(stars.rating_field, "stars");
  EXPECT_EQ(stars.text, "Rechnung falsch");
  EXPECT_TRUE(stars.problem.empty());
  auto from_csv = ReadFeedback(rules, Json{{"rating", "4"}, {"comment", "gut"}});
  EXPECT_EQ(from_csv.rating, 4) << "a CSV import gives the rating as a string";
  EXPECT_EQ(from_csv.text, "gut");
}

TEST(FeedbackReadingTest, ARatingOutsideTheScaleOrNoNumberIsRefusedNotClamped) {
  ConfigPtr cfg = Config();
  const FeedbackRules& rules = cfg->feedback;
  for (const Json& bad : {Json(0), Json(6), Json(2.5), Json(1e300), Json("zwei"), Json("2 "),
                          Json(nullptr), Json::array({2}), Json(true)}) {
    auto r = ReadFeedback(rules, Json{{"stars", bad}, {"text", "schlecht"}});
    EXPECT_FALSE(r.rating) << bad.dump();
    EXPECT_EQ(r.problem, "rating_invalid") << bad.dump();
    EXPECT_NE(r.problem_detail.find("payload.stars"), std::string::npos) << r.problem_detail;
    EXPECT_EQ(r.text, "schlecht") << "the text still counts";
  }
}

TEST(FeedbackReadingTest, APayloadWithNoKeyTheRulesReadIsNamedAsSuch) {
  ConfigPtr cfg = Config();
  const FeedbackRules& rules = cfg->feedback;
  auto r = ReadFeedback(rules, Json{{"score", 1}});
  EXPECT_EQ(r.problem, "no_field");
  EXPECT_NE(r.problem_detail.find("rating, stars"), std::string::npos) << r.problem_detail;
  EXPECT_EQ(ReadFeedback(rules, Json::array()).problem, "no_field");
}

TEST(FeedbackReadingTest, ConfiguredKeysReplaceTheDefaults) {
  auto c = LoadConfig(R"(
teams: [{id: general}]
routing: {default_team: general}
feedback:
  event_types: [review.posted]
  rating_fields: [score]
  text_fields: [body]
  lowest: 0
  scale: 10
)",
                      "keys.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto r = ReadFeedback((*c)->feedback, Json{{"score", 0}, {"stars", 5}, {"body", "meh"}});
  EXPECT_EQ(r.rating, 0);
  EXPECT_EQ(r.text, "meh");
  auto empty = LoadConfig(R"(
teams: [{id: general}]
routing: {default_team: general}
feedback: {event_types: [x], rating_fields: []}
)",
                          "empty.yaml");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("rating_fields must name"), std::string::npos)
      << empty.status().ToString();
}

}  // namespace
}  // namespace rapport::cases
