// The case invariants of case_service.h on an in-memory SQLite store and a manual clock.
#include "cases/case_service.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/sqlite/sqlite_store.h"

namespace rapport::cases {
namespace {

constexpr const char* kConfig = R"(
fields: [customer_number, device, problem_category, order_id, vat_id]
teams:
  - {id: billing, needs: [customer_number]}
  - {id: tech, needs: [customer_number, device, problem_category]}
  - {id: invoicing}
  - {id: leads}
  - {id: partner-team, org: partner-a}
routing:
  default_team: billing
  rules:
    - {id: technical, team: tech, keywords: [startet nicht]}
    - {id: invoice-feedback, team: invoicing, event_types: [feedback.*], attributes: {topic: invoice}}
calendar:
  utc_offset: "+01:00"
  hours: {weekdays: "08:00-18:00"}
  holidays: ["2026-12-24"]
sla:
  - {case_type: feedback, priority: high, first_contact: 24h, warn_before: 4h, escalate_to: leads, hours: always}
  - {case_type: feedback, priority: normal, first_contact: 24h, warn_before: 4h, escalate_to: leads, hours: business}
feedback:
  event_types: [feedback.submitted]
  topics: {invoice: [rechnung, finanzamt]}
  negative_words: [schlecht, falsch]
  priority_by_rating: {2: high}
preferences:
  - {name: invoice_format, values: [standard, tax-compliant], applies_to: [order.*]}
case_rules:
  - {id: journey-escalation, event_types: [journey.escalated], type: escalation, priority: high}
)";

class CaseServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(opened.ok());
    store_ = std::move(opened).value();
    service_ = std::make_unique<CaseService>(*store_, clock_, ids_);
    ASSERT_TRUE(service_->Start().ok());
    auto cfg = service_->SetConfig(kConfig, "test.yaml");
    ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  }
  Json OpenCall(const std::string& text) {
    OpenCaseRequest r;
    r.person = "per_1";
    r.text = text;
    auto c = service_->Open(r, agent1_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Json();
  }
  void PostEvent(Event e) {
    e.received_at = clock_.Now();
    if (e.occurred_at == Time{}) e.occurred_at = clock_.Now();
    ASSERT_TRUE(store_->AppendEvents({e}).ok());
  }
  void PostOrder(const std::string& id, const std::string& person) {
    Event order;
    order.id = id;
    order.type = "order.placed";
    order.subject = person;
    PostEvent(order);
  }

  ManualClock clock_{*ParseTime("2026-11-23T09:00:00Z")};
  UlidSource ids_{clock_, 7};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<CaseService> service_;
  Actor agent1_{"tok_1", "agent", "", "agent 1"};
  Actor agent2_{"tok_2", "agent", "", "agent 2"};
};

TEST_F(CaseServiceTest, HandoverKeepsEveryFieldAndTheVerification) {
  Json c = OpenCall("Meine Rechnung stimmt nicht");
  std::string id = c["id"];
  EXPECT_EQ(c["team"], "billing");
  ASSERT_TRUE(service_->RecordVerification(id, "pin", std::chrono::hours(1), agent1_, {}).ok());
  ASSERT_TRUE(service_
                  ->CollectFields(id, {{"customer_number", "K-1"}, {"device", "Phone X"}}, true,
                                  agent1_, {})
                  .ok());
  ASSERT_TRUE(service_->Handover(id, "tech", "device problem", agent1_, {}).ok());
  auto view = service_->View(id, agent2_);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ((*view)["team"], "tech");
  EXPECT_EQ((*view)["known"].size(), 2u);
  EXPECT_EQ((*view)["missing"], Json::array({"problem_category"}));
  EXPECT_TRUE((*view)["verification"]["valid_now"].get<bool>());
  EXPECT_EQ((*view)["repeats"], 0);
  // Asking again is counted; collecting something new is not.
  auto again = service_->CollectFields(
      id, {{"customer_number", "K-1"}, {"problem_category", "boot"}}, true, agent2_, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["repeats"], 1);
  EXPECT_EQ((*again)["repeated"], Json::array({"customer_number"}));
  auto verify_again = service_->RecordVerification(id, "pin", std::chrono::hours(1), agent2_, {});
  EXPECT_EQ((*verify_again)["repeats"], 2);
}

TEST_F(CaseServiceTest, RoutingDecisionIsOnTheTimeline) {
  Json c = OpenCall("Das Gerät startet nicht");
  EXPECT_EQ(c["team"], "tech");
  EXPECT_EQ(c["routing"]["rule"], "technical");
  EXPECT_EQ(c["timeline"][1]["kind"], "routed");
}

TEST_F(CaseServiceTest, UnknownFieldTeamAndCaseAreErrorsNamingThem) {
  std::string id = OpenCall("x")["id"];
  auto f = service_->CollectFields(id, {{"shoe_size", "44"}}, true, agent1_, {});
  EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(f.status().where(), "fields.shoe_size");
  EXPECT_EQ(service_->Handover(id, "nobody", "r", agent1_, {}).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->Get("case_nope", agent1_).status().code(), StatusCode::kNotFound);
}

TEST_F(CaseServiceTest, StaleRevisionIsRefusedAndConcurrentUpdatesAreAllKept) {
  std::string id = OpenCall("x")["id"];
  EXPECT_EQ(service_->AddNote(id, "a", agent1_, 1)->value("revision", 0), 2);
  EXPECT_EQ(service_->AddNote(id, "b", agent1_, 1).status().code(), StatusCode::kAborted);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = service_->AddNote(id, "note " + std::to_string(t) + "/" + std::to_string(i),
                                   agent1_, {});
        EXPECT_TRUE(r.ok()) << r.status().ToString();
      }
    });
  }
  for (auto& t : threads) t.join();
  auto c = service_->Get(id, agent1_);
  int notes = 0;
  for (const auto& e : (*c)["timeline"]) notes += e["kind"] == "note";
  EXPECT_EQ(notes, 81);
}

TEST_F(CaseServiceTest, PartnerSeesOnlyItsOrganisationsCases) {
  std::string ours = OpenCall("x")["id"];
  OpenCaseRequest r;
  r.person = "per_2";
  r.team = "partner-team";
  std::string theirs = (*service_->Open(r, agent1_))["id"];
  Actor partner{"tok_p", "partner", "partner-a", ""};
  Actor other{"tok_o", "partner", "partner-b", ""};
  EXPECT_TRUE(service_->Get(theirs, partner).ok());
  EXPECT_EQ(service_->Get(ours, partner).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Get(theirs, other).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*service_->List({}, partner))["cases"].size(), 1u);
  EXPECT_EQ((*service_->List({}, agent1_))["cases"].size(), 2u);
}

TEST_F(CaseServiceTest, NegativeFeedbackOpensACaseWhoseSlaWarnsThenEscalates) {
  Event e;
  e.id = "fb-1";
  e.type = "feedback.submitted";
  e.subject = "per_9";
  e.payload = {{"rating", 2}, {"text", "Die Rechnung wird vom Finanzamt nicht akzeptiert"}};
  PostEvent(e);
  ASSERT_TRUE(service_->RunDue().ok());
  auto list = service_->List({.person = "per_9"}, agent1_);
  ASSERT_EQ((*list)["cases"].size(), 1u);
  Json c = (*list)["cases"][0];
  EXPECT_EQ(c["team"], "invoicing");
  EXPECT_EQ(c["priority"], "high");
  EXPECT_EQ(c["sla"][0]["due"], "2026-11-24T09:00:00Z");
  std::string id = c["id"];
  // Seen again (a second server, a restart): no second case.
  ASSERT_TRUE(service_->RunDue().ok());
  EXPECT_EQ((*service_->List({.person = "per_9"}, agent1_))["cases"].size(), 1u);

  ASSERT_TRUE(clock_.AdvanceTo(*ParseTime("2026-11-24T05:00:00Z")).ok());
  EXPECT_EQ(*service_->RunDue(), 1u);
  EXPECT_FALSE((*service_->Get(id, agent1_))["sla"][0]["warned_at"].is_null());
  ASSERT_TRUE(clock_.AdvanceTo(*ParseTime("2026-11-24T09:00:01Z")).ok());
  EXPECT_EQ(*service_->RunDue(), 1u);
  Json after = *service_->Get(id, agent1_);
  EXPECT_TRUE(after["escalated"].get<bool>());
  EXPECT_EQ(after["team"], "leads");
  EXPECT_EQ(after["priority"], "urgent");
  EXPECT_TRUE(store_->GetEvent("case-sla-breach/" + id + "/first_contact").ok());
  EXPECT_EQ(*service_->RunDue(), 0u);
}

TEST_F(CaseServiceTest, StarsOpenACaseAndAnUnreadableRatingIsKeptWithItsReason) {
  Event stars;
  stars.id = "fb-stars";
  stars.type = "feedback.submitted";
  stars.subject = "per_7";
  stars.payload = {{"stars", 2}, {"text", "Rechnung vom Finanzamt abgelehnt"}};
  PostEvent(stars);
  Event bad = stars;
  bad.id = "fb-bad";
  bad.subject = "per_8";
  bad.payload = {{"stars", 11}, {"text", "alles gut"}};
  PostEvent(bad);
  ASSERT_TRUE(service_->RunDue().ok());
  auto list = service_->List({.person = "per_7"}, agent1_);
  ASSERT_EQ((*list)["cases"].size(), 1u);
  EXPECT_EQ((*list)["cases"][0]["priority"], "high") << "rating 2 maps to high";
  EXPECT_TRUE((*service_->List({.person = "per_8"}, agent1_))["cases"].empty());
  auto why = store_->GetDocument("case-event-error", "fb-bad");
  ASSERT_TRUE(why.ok() && *why);
  Json reason = *ParseJson((*why)->body);
  EXPECT_EQ(reason["problem"], "rating_invalid");
  EXPECT_NE(reason["error"].get<std::string>().find("payload.stars = 11"), std::string::npos)
      << reason.dump();
  EXPECT_FALSE(*store_->GetDocument("case-event-error", "fb-stars"));
}

TEST_F(CaseServiceTest, BusinessHoursSlaDoesNotRunOverTheWeekend) {
  // Friday 2026-11-27 17:00 local: 1 h Friday, 10 h Monday, 10 h Tuesday, 3 h Wednesday.
  ASSERT_TRUE(clock_.AdvanceTo(*ParseTime("2026-11-27T16:00:00Z")).ok());
  Event e;
  e.id = "fb-3";
  e.type = "feedback.submitted";
  e.subject = "per_7";
  e.payload = {{"text", "Die Rechnung ist falsch und schlecht"}};  // no rating: words decide
  PostEvent(e);
  ASSERT_TRUE(service_->RunDue().ok());
  Json c = (*service_->List({.person = "per_7"}, agent1_))["cases"][0];
  EXPECT_EQ(c["priority"], "normal");
  EXPECT_EQ(c["sla"][0]["hours"], "business");
  EXPECT_EQ(c["sla"][0]["due"], "2026-12-02T10:00:00Z");
  // 20 business hours in: Tuesday 17:00 local, 4 business hours before the deadline.
  EXPECT_EQ(c["sla"][0]["warn_at"], "2026-12-01T16:00:00Z");
  // Monday noon: nothing has happened yet, whatever the wall-clock hours since Friday.
  ASSERT_TRUE(clock_.AdvanceTo(*ParseTime("2026-11-30T11:00:00Z")).ok());
  EXPECT_EQ(*service_->RunDue(), 0u);
  ASSERT_TRUE(clock_.AdvanceTo(*ParseTime("2026-12-02T10:00:00Z")).ok());
  EXPECT_EQ(*service_->RunDue(), 2u);  // the warning and the breach, claimed together
  EXPECT_TRUE((*service_->Get(c["id"].get<std::string>(), agent1_))["escalated"].get<bool>());
}

TEST_F(CaseServiceTest, ACaseRuleOpensACaseFromAJourneyEscalationEvent) {
  Event e;
  e.id = "esc-1";
  e.type = "journey.escalated";
  e.subject = "per_8";
  e.keys = {{"order_id", "O-9"}, {"tracking", "T-1"}};
  e.payload = {{"journey", "trade-in"}, {"title", "Old phone not returned"}, {"text", "Kit lost"}};
  PostEvent(e);
  ASSERT_TRUE(service_->RunDue().ok());
  Json list = *service_->List({.person = "per_8"}, agent1_);
  ASSERT_EQ(list["cases"].size(), 1u);
  Json c = *service_->Get(list["cases"][0]["id"].get<std::string>(), agent1_);
  EXPECT_EQ(c["type"], "escalation");
  EXPECT_EQ(c["priority"], "high");
  EXPECT_EQ(c["title"], "Old phone not returned");
  EXPECT_EQ(c["source"]["kind"], "journey");
  EXPECT_EQ(c["case_rule"], "journey-escalation");
  EXPECT_EQ(c["fields"]["order_id"]["value"], "O-9");
  EXPECT_FALSE(c["fields"].contains("tracking"));  // not a declared field
}

// The outbox form of a journey's open_case action (journey/instance.cc, OutboxActionToJson).
Json LostKitAction(const std::string& subject) {
  return {{"idempotency_key", "trade-in/O-9/escalate_lost_kit#0"},
          {"journey", "trade-in"},
          {"instance_key", "O-9"},
          {"action", "escalate_lost_kit"},
          {"occurrence", 0},
          {"kind", "open_case"},
          {"subject", subject},
          {"case",
           {{"type", "feedback"},
            {"team", "leads"},
            {"priority", "high"},
            {"keys", {{"order_id", "O-9"}, {"shipment_id", "S-9"}}}}},
          {"params", {{"problem_category", "lost kit"}}}};
}

TEST_F(CaseServiceTest, AJourneyOpensOneCaseWithItsSlaHoweverOftenTheOutboxRetries) {
  auto first = service_->OpenFromJourney(LostKitAction("per_9"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto again = service_->OpenFromJourney(LostKitAction("per_9"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*first)["id"], (*again)["id"]);
  Json list = *service_->List({.person = "per_9"}, agent1_);
  ASSERT_EQ(list["cases"].size(), 1u);
  Json c = *service_->Get((*first)["id"].get<std::string>(), agent1_);
  EXPECT_EQ(c["team"], "leads");
  EXPECT_EQ(c["priority"], "high");
  EXPECT_EQ(c["source"]["kind"], "journey");
  EXPECT_EQ(c["source"]["event"], "trade-in/O-9/escalate_lost_kit#0");
  EXPECT_EQ(c["instance_key"], "O-9");
  EXPECT_EQ(c["fields"]["order_id"]["value"], "O-9");
  EXPECT_EQ(c["fields"]["problem_category"]["value"], "lost kit");
  EXPECT_FALSE(c["fields"].contains("shipment_id"));  // not a configured field
  ASSERT_EQ(c["sla"].size(), 1u);  // feedback/high: first contact within 24 h, always
  EXPECT_EQ(c["sla"][0]["due"], "2026-11-24T09:00:00Z");
}

// An outbox action decided on an order (its reason names the order event).
Json InvoiceAction(const std::string& order_event) {
  return {{"kind", "message"},
          {"action", "send_invoice"},
          {"reasons",
           {{{"role", "requires"},
             {"fact", "order.placed"},
             {"held", true},
             {"event_id", order_event}}}}};
}

TEST_F(CaseServiceTest, AnOutboxActionCarriesThePreferencesOfItsOrder) {
  Event early;
  early.id = "order-1";
  early.type = "order.placed";
  early.subject = "per_5";
  PostEvent(early);
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(1)).ok());
  ASSERT_TRUE(
      service_->SetPreference("per_5", "invoice_format", "tax-compliant", agent1_, "").ok());
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(1)).ok());
  Event later = early;
  later.id = "order-2";
  later.occurred_at = {};
  PostEvent(later);
  // No CatchUp has run: the action is annotated on the spot, and the annotation is kept.
  Json action = InvoiceAction("order-2");
  ASSERT_TRUE(service_->AnnotateOutboxAction(action).ok());
  EXPECT_EQ(action["preferences"]["invoice_format"], "tax-compliant") << action.dump();
  EXPECT_EQ(action["preferences_provenance"]["invoice_format"]["event"], "order-2");
  EXPECT_EQ(action["preferences_provenance"]["invoice_format"]["set_by"]["id"], "tok_1");
  EXPECT_EQ((*service_->Annotation("order-2"))["preferences"]["invoice_format"]["value"],
            "tax-compliant");
  // The earlier order was received before the preference was set; an unknown event adds nothing.
  Json before = InvoiceAction("order-1");
  ASSERT_TRUE(service_->AnnotateOutboxAction(before).ok());
  EXPECT_FALSE(before.contains("preferences")) << before.dump();
  Json unknown = InvoiceAction("no-such-event");
  ASSERT_TRUE(service_->AnnotateOutboxAction(unknown).ok());
  EXPECT_FALSE(unknown.contains("preferences"));
}

TEST_F(CaseServiceTest, AJourneyCaseWithoutPersonOrWithAnUnknownFieldIsRefused) {
  auto no_person = service_->OpenFromJourney(LostKitAction(""));
  ASSERT_FALSE(no_person.ok());
  EXPECT_EQ(no_person.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(no_person.status().where(), "subject");
  Json bad_field = LostKitAction("per_9");
  bad_field["params"]["colour"] = "red";
  auto unknown = service_->OpenFromJourney(bad_field);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().where(), "fields.colour");
  Json bad_team = LostKitAction("per_9");
  bad_team["case"]["team"] = "nobody";
  EXPECT_EQ(service_->OpenFromJourney(bad_team).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*service_->List({.person = "per_9"}, agent1_))["cases"].size(), 0u);
}

TEST_F(CaseServiceTest, FirstContactInTimeStopsTheSla) {
  Event e;
  e.id = "fb-2";
  e.type = "feedback.submitted";
  e.subject = "per_9";
  e.payload = {{"rating", 2}, {"text", "Rechnung falsch"}};
  PostEvent(e);
  ASSERT_TRUE(service_->RunDue().ok());
  std::string id = (*service_->List({}, agent1_))["cases"][0]["id"];
  ASSERT_TRUE(service_->AddMessage(id, "out", "phone", "We fix it", agent1_, {}).ok());
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(48)).ok());
  EXPECT_EQ(*service_->RunDue(), 0u);
  Json c = *service_->Get(id, agent1_);
  EXPECT_FALSE(c["escalated"].get<bool>());
  EXPECT_FALSE(c["sla"][0]["met_at"].is_null());
}

TEST_F(CaseServiceTest, LaterOrdersCarryThePreferenceEarlierOnesDoNot) {
  PostOrder("ord-1", "per_5");
  ASSERT_TRUE(service_->RunDue().ok());
  ASSERT_TRUE(clock_.Advance(std::chrono::minutes(1)).ok());
  EXPECT_EQ(
      service_->SetPreference("per_5", "invoice_format", "fancy", agent1_, "").status().where(),
      "value");
  ASSERT_TRUE(
      service_->SetPreference("per_5", "invoice_format", "tax-compliant", agent1_, "").ok());
  ASSERT_TRUE(clock_.Advance(std::chrono::minutes(1)).ok());
  PostOrder("ord-2", "per_5");
  ASSERT_TRUE(service_->RunDue().ok());
  EXPECT_EQ(service_->Annotation("ord-1").status().code(), StatusCode::kNotFound);
  auto a = service_->Annotation("ord-2");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)["preferences"]["invoice_format"]["value"], "tax-compliant");
  EXPECT_EQ((*a)["preferences"]["invoice_format"]["set_by"]["id"], "tok_1");
}

// Erasure of a person: its cases stay (that they existed, how they were handled) without any
// value or text of the person; its preferences and its events' annotations go; another
// person's case is untouched. The timeline lines come back for Store::Erase to rewrite.
TEST_F(CaseServiceTest, AnErasedPersonsCasesKeepHowTheyWereHandledAndLoseEveryValueAndText) {
  Json c = OpenCall("Anna Berger hier, mein Telefon startet nicht");
  std::string id = c["id"];
  ASSERT_TRUE(service_->CollectFields(id, {{"customer_number", "K-4711"}}, true, agent1_, {}).ok());
  ASSERT_TRUE(
      service_->CollectFields(id, {{"customer_number", "K-4712"}}, false, agent1_, {}).ok());
  ASSERT_TRUE(
      service_->RecordVerification(id, "Geburtsdatum 1.2.1980", std::chrono::hours(1), agent1_, {})
          .ok());
  ASSERT_TRUE(service_->AddNote(id, "ruft ab 18 Uhr an: 0170 5550123", agent1_, {}).ok());
  ASSERT_TRUE(service_->AddMessage(id, "out", "email", "Liebe Frau Berger", agent1_, {}).ok());
  ASSERT_TRUE(service_->Handover(id, "billing", "Frau Berger will Gutschrift", agent1_, {}).ok());
  ASSERT_TRUE(
      service_->SetPreference("per_1", "invoice_format", "tax-compliant", agent1_, id).ok());
  PostOrder("order-9", "per_1");
  ASSERT_TRUE(service_->RunDue().ok());
  ASSERT_TRUE(service_->Annotation("order-9").ok());
  OpenCaseRequest other;
  other.person = "per_2";
  other.text = "Bernd Zoller: Rechnung falsch";
  auto kept = service_->Open(other, agent1_);
  ASSERT_TRUE(kept.ok());

  std::vector<std::pair<int64_t, std::string>> bodies;
  auto erased = service_->ErasePerson({"per_1", "per_0"}, {"order-9"}, "era_1", &bodies);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ((*erased)["cases"], 1);
  EXPECT_EQ((*erased)["preferences"], 1);
  EXPECT_EQ((*erased)["annotations"], 1);
  EXPECT_EQ((*erased)["timeline_lines"], static_cast<int64_t>(bodies.size()));
  auto applied = store_->Erase({.log_bodies = bodies});
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();

  auto after = service_->Get(id, agent2_);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  std::string text = after->dump();
  for (const char* secret : {"Anna", "Berger", "K-4711", "K-4712", "1980", "0170", "18 Uhr",
                             "Gutschrift", "startet nicht"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
  }
  // What shows that the case existed and how it was handled stays.
  EXPECT_EQ((*after)["person"], "per_1");
  EXPECT_EQ((*after)["team"], "billing");
  EXPECT_EQ((*after)["type"], c["type"]);
  EXPECT_EQ((*after)["opened_at"], c["opened_at"]);
  EXPECT_EQ((*after)["fields"]["customer_number"]["value"], "[erased]");
  EXPECT_EQ((*after)["fields"]["customer_number"]["collected_by"]["id"], "tok_1");
  EXPECT_EQ((*after)["verification"]["method"], "[erased]");
  EXPECT_EQ((*after)["erased"]["erasure"], "era_1");
  std::vector<std::string> kinds;
  for (const auto& e : (*after)["timeline"]) kinds.push_back(e["kind"]);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "handover"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "note"), kinds.end());
  EXPECT_TRUE((*service_->Preferences("per_1"))["preferences"].empty());
  EXPECT_EQ(service_->Annotation("order-9").status().code(), StatusCode::kNotFound);
  // Another person's case is as it was; erasing again changes nothing more.
  auto untouched = service_->Get((*kept)["id"].get<std::string>(), agent1_);
  EXPECT_NE(untouched->dump().find("Bernd Zoller"), std::string::npos);
  std::vector<std::pair<int64_t, std::string>> again;
  ASSERT_TRUE(service_->ErasePerson({"per_1"}, {}, "era_2", &again).ok());
  EXPECT_TRUE(again.empty());
  EXPECT_EQ((*service_->Get(id, agent2_))["erased"]["erasure"], "era_1");
}

}  // namespace
}  // namespace rapport::cases
