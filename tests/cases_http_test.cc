// S3 and S5 end to end: the real `rapport serve` with examples/cases/cases.yaml on a manual
// clock, driven only through the HTTP API. S3: a call routed by what the customer said, handed
// over from billing to technical support with every field and the verification kept, and the
// fields asked again counted (0 on the normal path). S5: a 2/5 rating about an invoice becomes
// an invoicing case with a 24-hour first-contact SLA that warns and then escalates; the fix is a
// durable preference, and a later order carries it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "core/clock.h"
#include "test_server.h"

namespace rapport::testing {
namespace {

std::string SourceDir() {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return d ? d : RAPPORT_E2E_SOURCE_DIR;
}

// The value of one series in Prometheus text ("rapport_cases_open{team=\"billing\"}"), or -1
// if the series is not there.
double MetricValue(const std::string& text, const std::string& series) {
  size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

int CountKind(const Json& c, const std::string& kind) {
  int n = 0;
  for (const auto& e : c["timeline"]) n += e.value("kind", "") == kind;
  return n;
}

class CasesServer : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("rapport.db");
    admin_ = CreateToken(db_, "admin");
    agent1_ = CreateToken(db_, "agent");
    agent2_ = CreateToken(db_, "agent");
    analyst_ = CreateToken(db_, "analyst");
    partner_a_ = CreateToken(db_, "partner", "partner-a");
    partner_b_ = CreateToken(db_, "partner", "partner-b");
    server_ = std::make_unique<ServerProcess>(
        db_, std::vector<std::string>{"--clock", "manual", "--clock-start", "2026-11-23T09:00:00Z",
                                      "--cases", SourceDir() + "/examples/cases/cases.yaml"});
    ASSERT_TRUE(server_->ok()) << server_->startup_output();
    http_ = std::make_unique<HttpClient>(server_->Client());
  }

  std::string NewPerson(const std::string& key, const std::string& given, const std::string& family,
                        const std::string& email = "") {
    Json rec = {{"source", "shop"},
                {"source_key", key},
                {"fields", {{"given_name", given}, {"family_name", family}, {"city", "Köln"}}}};
    if (!email.empty()) rec["fields"]["email"] = email;
    auto r = http_->Post("/v1/records", rec.dump(), agent1_);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("person", "");
  }
  HttpResult Post(const std::string& path, const Json& body, const std::string& token) {
    return http_->Post(path, body.dump(), token);
  }
  Json Case(const std::string& id, const std::string& token) {
    auto r = http_->Get("/v1/cases/" + id, token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }
  std::string Metrics() {
    auto r = http_->Get("/metrics", analyst_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  HttpResult MoveClockTo(const std::string& t) {
    return Post("/v1/admin/clock", {{"to", t}}, admin_);
  }

  ScratchDir dir_;
  std::string db_, admin_, agent1_, agent2_, analyst_, partner_a_, partner_b_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> http_;
};

// S3: the hotline that forgot everything.
TEST_F(CasesServer, S3HandoverKeepsEverythingAndNothingIsAskedTwice) {
  std::string person = NewPerson("C-1001", "Johann", "Müller");
  ASSERT_FALSE(person.empty());

  // The customer calls about his invoice: routing picks billing from what he said.
  auto opened = Post("/v1/cases",
                     {{"person", person},
                      {"text", "Guten Tag, ich habe eine Frage zu meiner letzten Rechnung"},
                      {"title", "Call about invoice"}},
                     agent1_);
  ASSERT_EQ(opened.status, 201) << opened.body;
  std::string id = opened.json()["id"];
  EXPECT_EQ(opened.json()["team"], "billing");
  EXPECT_EQ(opened.json()["routing"]["rule"], "billing");
  EXPECT_NE(opened.json()["routing"]["reason"].get<std::string>().find("'rechnung'"),
            std::string::npos);

  // Agent 1 verifies the caller and records what he says.
  auto verified =
      Post("/v1/cases/" + id + "/verification",
           {{"method", "customer number + date of birth"}, {"valid_for", "2h"}}, agent1_);
  ASSERT_EQ(verified.status, 200) << verified.body;
  auto collected = Post("/v1/cases/" + id + "/fields",
                        {{"fields",
                          {{"customer_number", "C-1001"},
                           {"order_id", "O-77"},
                           {"device", "Pixel 8"},
                           {"problem_category", "does not boot"},
                           {"problem", "Seit dem Update startet das Handy nicht mehr"}}},
                         {"source", "customer"}},
                        agent1_);
  ASSERT_EQ(collected.status, 200) << collected.body;
  EXPECT_EQ(collected.json()["repeats"], 0);

  // It is a technical problem after all: the exception, a handover.
  auto handed =
      Post("/v1/cases/" + id + "/handover",
           {{"team", "tech-support"}, {"reason", "device does not boot after update"}}, agent1_);
  ASSERT_EQ(handed.status, 200) << handed.body;

  // Agent 2 sees everything already collected, and the verification is still valid.
  ASSERT_TRUE(MoveClockTo("2026-11-23T09:20:00Z").status == 200);
  auto view = http_->Get("/v1/cases/" + id + "/view", agent2_);
  ASSERT_EQ(view.status, 200) << view.body;
  Json v = view.json();
  EXPECT_EQ(v["team"], "tech-support");
  EXPECT_EQ(v["known"].size(), 5u);
  EXPECT_EQ(v["missing"], Json::array()) << "tech-support needs nothing the case lacks";
  EXPECT_TRUE(v["verification"]["valid_now"].get<bool>());
  for (const char* f : {"customer_number", "device", "problem_category", "verification"}) {
    auto& dna = v["do_not_ask"];
    EXPECT_NE(std::find(dna.begin(), dna.end(), Json(f)), dna.end()) << f;
  }
  // Agent 2 asks only for what is new.
  auto more = Post("/v1/cases/" + id + "/fields",
                   {{"fields", {{"serial", "SN-4711"}}}, {"source", "customer"}}, agent2_);
  ASSERT_EQ(more.status, 200) << more.body;

  Json c = Case(id, agent2_);
  EXPECT_EQ(c["repeats"], 0) << "fields asked again on the normal path";
  EXPECT_EQ(c["fields"]["device"]["value"], "Pixel 8");
  EXPECT_EQ(c["fields"]["device"]["team"], "billing") << "collected by the first team, kept";
  EXPECT_EQ(c["verification"]["team"], "billing");
  EXPECT_EQ(CountKind(c, "routed"), 1);
  EXPECT_EQ(CountKind(c, "handover"), 1);
  for (const auto& e : c["timeline"]) {
    if (e["kind"] == "handover") {
      EXPECT_EQ(e["from"], "billing");
      EXPECT_EQ(e["to"], "tech-support");
      EXPECT_EQ(e["kept_fields"].size(), 5u);
      EXPECT_TRUE(e["verification_valid"].get<bool>());
    }
  }

  // A deliberate repeat is counted, with who had collected it.
  auto repeat = Post("/v1/cases/" + id + "/fields",
                     {{"fields", {{"device", "Pixel 8"}}}, {"source", "customer"}}, agent2_);
  ASSERT_EQ(repeat.status, 200);
  EXPECT_EQ(repeat.json()["repeats"], 1);
  EXPECT_EQ(repeat.json()["repeated"], Json::array({"device"}));

  // What the customer said picks the right team first when it is clear.
  auto direct =
      Post("/v1/cases", {{"person", person}, {"text", "Mein Handy startet nicht"}}, agent1_);
  ASSERT_EQ(direct.status, 201);
  EXPECT_EQ(direct.json()["team"], "tech-support");
  EXPECT_EQ(CountKind(direct.json(), "handover"), 0);

  // Agents' reads of the case are in the audit log.
  auto audit = http_->Get("/v1/audit?subject=" + id, admin_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  int reads = 0;
  Json entries = audit.json()["entries"];
  for (const auto& e : entries) reads += e["action"] == "case.read";
  EXPECT_GE(reads, 2);

  // /metrics: two cases opened by agents, one handover, the one deliberate repeat; both open
  // cases are with technical support now, none with billing.
  std::string m = Metrics();
  EXPECT_EQ(MetricValue(m, R"(rapport_cases_opened_total{source="agent"})"), 2) << m;
  EXPECT_EQ(MetricValue(m, "rapport_cases_handovers_total"), 1) << m;
  EXPECT_EQ(MetricValue(m, "rapport_cases_repeats_total"), 1) << m;
  EXPECT_EQ(MetricValue(m, R"(rapport_cases_open{team="tech-support"})"), 2) << m;
  EXPECT_EQ(MetricValue(m, R"(rapport_cases_open{team="billing"})"), 0) << m;
}

// S5: the invoice that the tax office rejected.
TEST_F(CasesServer, S5NegativeRatingBecomesAnInvoicingCaseEscalatesAndTheFixSticks) {
  std::string person = NewPerson("C-2002", "Erika", "Mustermann", "erika@example.org");
  ASSERT_FALSE(person.empty());
  // Every order's invoice goes out through the invoice journey's outbox.
  auto deployed =
      http_->Post("/v1/journeys", ReadFile(SourceDir() + "/examples/journeys/invoice.yaml"), admin_,
                  "application/yaml");
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  auto first_order = Post("/v1/events",
                          {{"id", "order-O-1"},
                           {"type", "order.placed"},
                           {"subject", person},
                           {"keys", {{"order_id", "O-1"}}},
                           {"occurred_at", "2026-11-23T09:00:00Z"}},
                          agent1_);
  ASSERT_EQ(first_order.status, 201) << first_order.body;
  auto rating = Post("/v1/events",
                     {{"id", "rating-O-1"},
                      {"type", "feedback.submitted"},
                      {"subject", person},
                      {"keys", {{"order_id", "O-1"}}},
                      {"occurred_at", "2026-11-23T09:00:00Z"},
                      {"payload",
                       {{"rating", 2},
                        {"text",
                         "Die Rechnung wird vom Finanzamt nicht anerkannt, meine "
                         "USt-IdNr. fehlt."}}}},
                     agent1_);
  ASSERT_EQ(rating.status, 201) << rating.body;

  Json list;
  ASSERT_TRUE(WaitUntil([&] {
    list = http_->Get("/v1/cases?person=" + person, analyst_).json();
    return list["cases"].size() == 1;
  }));
  std::string id = list["cases"][0]["id"];
  Json c = Case(id, agent1_);
  EXPECT_EQ(c["team"], "invoicing");
  EXPECT_EQ(c["type"], "feedback");
  EXPECT_EQ(c["priority"], "high");
  EXPECT_EQ(c["feedback"]["topic"], "invoice");
  EXPECT_EQ(c["feedback"]["sentiment"], "negative");
  EXPECT_EQ(c["routing"]["rule"], "negative-feedback-invoice");
  EXPECT_EQ(c["fields"]["order_id"]["value"], "O-1");
  ASSERT_EQ(c["sla"][0]["name"], "first_contact");
  EXPECT_EQ(c["sla"][0]["due"], "2026-11-24T09:00:00Z");

  // 4 hours before the deadline: a warning, no escalation yet.
  ASSERT_EQ(MoveClockTo("2026-11-24T05:00:00Z").status, 200);
  c = Case(id, agent1_);
  EXPECT_FALSE(c["sla"][0]["warned_at"].is_null());
  EXPECT_FALSE(c["escalated"].get<bool>());
  // Nobody called: the breach escalates to the team leads at a higher priority.
  ASSERT_EQ(MoveClockTo("2026-11-24T09:00:01Z").status, 200);
  c = Case(id, agent1_);
  EXPECT_FALSE(c["sla"][0]["breached_at"].is_null());
  EXPECT_TRUE(c["escalated"].get<bool>());
  EXPECT_EQ(c["team"], "escalation");
  EXPECT_EQ(c["priority"], "urgent");
  EXPECT_EQ(CountKind(c, "escalated"), 1);
  // /metrics: one case opened by feedback, warned once and breached once; it is open with the
  // team leads, not with invoicing; an escalation is no handover.
  std::string m = Metrics();
  EXPECT_EQ(MetricValue(m, R"(rapport_cases_opened_total{source="feedback"})"), 1) << m;
  EXPECT_EQ(MetricValue(m, "rapport_cases_sla_warnings_total"), 1) << m;
  EXPECT_EQ(MetricValue(m, "rapport_cases_sla_breaches_total"), 1) << m;
  EXPECT_EQ(MetricValue(m, R"(rapport_cases_open{team="escalation"})"), 1) << m;
  EXPECT_EQ(MetricValue(m, R"(rapport_cases_open{team="invoicing"})"), 0) << m;
  EXPECT_EQ(MetricValue(m, "rapport_cases_handovers_total"), -1) << m;
  auto breach_events = http_->Get("/v1/events?type=case.sla_breached", analyst_).json();
  ASSERT_EQ(breach_events["events"].size(), 1u);
  EXPECT_EQ(breach_events["events"][0]["subject"], person);

  // The team lead calls, fixes the invoice and stores the fix as a durable preference.
  ASSERT_EQ(
      Post("/v1/cases/" + id + "/messages",
           {{"direction", "out"}, {"channel", "phone"}, {"text", "Neue Rechnung kommt"}}, agent2_)
          .status,
      200);
  ASSERT_EQ(Post("/v1/cases/" + id + "/fields",
                 {{"fields", {{"vat_id", "DE123456789"}}}, {"source", "customer"}}, agent2_)
                .status,
            200);
  auto pref =
      Post("/v1/cases/" + id + "/preferences",
           {{"name", "invoice_format"}, {"value", "tax-compliant-with-buyer-vat-id"}}, agent2_);
  ASSERT_EQ(pref.status, 200) << pref.body;
  ASSERT_EQ(
      Post("/v1/cases/" + id + "/state", {{"state", "resolved"}, {"reason", "fixed"}}, agent2_)
          .status,
      200);
  // Re-running due work changes nothing: the breach was decided once.
  ASSERT_EQ(MoveClockTo("2026-11-30T09:00:00Z").status, 200);
  EXPECT_EQ(CountKind(Case(id, agent1_), "escalated"), 1);
  m = Metrics();
  EXPECT_EQ(MetricValue(m, "rapport_cases_sla_breaches_total"), 1) << m;
  EXPECT_EQ(MetricValue(m, R"(rapport_cases_open{team="escalation"})"), 0) << m;  // resolved

  // A later order carries the preference; the earlier one does not.
  auto later = Post("/v1/events",
                    {{"id", "order-O-2"},
                     {"type", "order.placed"},
                     {"subject", person},
                     {"keys", {{"order_id", "O-2"}}},
                     {"occurred_at", "2026-11-30T09:00:00Z"}},
                    agent1_);
  ASSERT_EQ(later.status, 201);
  auto note = http_->Get("/v1/events/order-O-2/annotations", analyst_);
  ASSERT_EQ(note.status, 200) << note.body;
  Json applied = note.json()["preferences"]["invoice_format"];
  EXPECT_EQ(applied["value"], "tax-compliant-with-buyer-vat-id");
  EXPECT_EQ(applied["case"], id) << "provenance: the case that fixed it";
  EXPECT_EQ(http_->Get("/v1/events/order-O-1/annotations", analyst_).status, 404);

  // The invoice message of the later order carries the preference in the delivered outbox
  // entry (the template's context); the earlier invoice went out without it.
  auto invoice_of = [&](const std::string& order) {
    std::ifstream sink(db_ + ".outbox.ndjson");
    std::string line;
    while (std::getline(sink, line)) {
      auto entry = ParseJson(line);
      if (entry.ok() && (*entry)["action"].value("action", "") == "send_invoice" &&
          (*entry)["action"].value("instance_key", "") == order) {
        return (*entry)["action"];
      }
    }
    return Json();
  };
  Json invoice;
  ASSERT_TRUE(WaitUntil([&] {
    invoice = invoice_of("O-2");
    return !invoice.is_null();
  })) << ReadFile(db_ + ".outbox.ndjson");
  EXPECT_EQ(invoice["preferences"]["invoice_format"], "tax-compliant-with-buyer-vat-id")
      << invoice.dump();
  EXPECT_EQ(invoice["preferences_provenance"]["invoice_format"]["case"], id);
  EXPECT_EQ(invoice["preferences_provenance"]["invoice_format"]["event"], "order-O-2");
  Json first_invoice = invoice_of("O-1");
  ASSERT_FALSE(first_invoice.is_null());
  EXPECT_FALSE(first_invoice.contains("preferences")) << first_invoice.dump();

  // The preference is part of the customer 360.
  auto p360 = http_->Get("/v1/persons/" + person, analyst_);
  ASSERT_EQ(p360.status, 200);
  EXPECT_EQ(p360.json()["preferences"]["invoice_format"]["value"],
            "tax-compliant-with-buyer-vat-id");
}

// Issue 8: a journey opens its case directly. The trade-in journey's lost-kit escalation (an
// open_case action, examples/journeys/trade-in.yaml) fires 7 business days after the label was
// created and the kit never arrived; the outbox hands it to the cases service in-process, which
// opens exactly one logistics case for the order's person with its SLA, however often the clock
// moves on afterwards.
TEST_F(CasesServer, AJourneyEscalationOpensExactlyOneCaseWithItsSla) {
  std::string person = NewPerson("C-3003", "Jonas", "Becker");
  ASSERT_FALSE(person.empty());
  std::string yaml = ReadFile(SourceDir() + "/examples/journeys/trade-in.yaml");
  auto deployed = http_->Post("/v1/journeys", yaml, admin_, "application/yaml");
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  ASSERT_EQ(Post("/v1/events",
                 {{"id", "order-T-1"},
                  {"type", "order.placed"},
                  {"subject", person},
                  {"keys", {{"order_id", "T-1"}}},
                  {"occurred_at", "2026-11-23T09:00:00Z"},
                  {"payload", {{"trade_in", true}}}},
                 agent1_)
                .status,
            201);
  ASSERT_EQ(Post("/v1/events",
                 {{"id", "label-T-1"},
                  {"type", "kit.label_created"},
                  {"keys", {{"order_id", "T-1"}, {"shipment_id", "S-31"}}},
                  {"occurred_at", "2026-11-23T09:00:00Z"}},
                 agent1_)
                .status,
            201);
  auto cases_of_person = [&] {
    return http_->Get("/v1/cases?person=" + person, analyst_).json()["cases"];
  };
  // The journey applies the events; no case before the deadline.
  ASSERT_TRUE(WaitUntil([&] {
    auto inst = http_->Get("/v1/journeys/trade-in/instances/T-1", admin_);
    return inst.status == 200 && inst.json()["timers"].size() == 1;
  }));
  ASSERT_EQ(MoveClockTo("2026-12-02T08:59:00Z").status, 200);
  EXPECT_EQ(cases_of_person().size(), 0u);
  // Monday 09:00Z + 7 business days (UTC days, Sat+Sun off) = Wednesday 2026-12-02 09:00Z.
  ASSERT_EQ(MoveClockTo("2026-12-02T09:00:00Z").status, 200);
  Json list;
  ASSERT_TRUE(WaitUntil([&] {
    list = cases_of_person();
    return list.size() >= 1;
  })) << http_->Get("/v1/outbox?limit=1000", admin_).body;
  ASSERT_EQ(list.size(), 1u);
  Json c = Case(list[0].value("id", ""), agent1_);
  EXPECT_EQ(c["type"], "lost_kit");
  EXPECT_EQ(c["team"], "logistics");
  EXPECT_EQ(c["priority"], "high");
  EXPECT_EQ(c["title"], "Return kit not delivered after 7 business days");
  EXPECT_EQ(c["source"]["kind"], "journey");
  EXPECT_EQ(c["source"]["event"], "trade-in/T-1/escalate_lost_kit#0");
  EXPECT_EQ(c["fields"]["order_id"]["value"], "T-1");
  EXPECT_EQ(c["fields"]["shipment_id"]["value"], "S-31");
  // lost_kit: first contact within 8 business hours (Europe/Berlin, 08:00-18:00): opened
  // Wednesday 10:00 CET, due at 18:00 CET = 17:00Z; the resolution (2d = 48 business hours:
  // 8 h Wednesday, 10 h each Thursday, Friday, Monday, Tuesday) on Tuesday 18:00 CET = 17:00Z.
  ASSERT_EQ(c["sla"].size(), 2u);
  EXPECT_EQ(c["sla"][0]["name"], "first_contact");
  EXPECT_EQ(c["sla"][0]["due"], "2026-12-02T17:00:00Z");
  EXPECT_EQ(c["sla"][1]["name"], "resolution");
  EXPECT_EQ(c["sla"][1]["due"], "2026-12-08T17:00:00Z");
  // The action is in the outbox once, as an open_case for this person.
  int escalations = 0;
  Json outbox = http_->Get("/v1/outbox?limit=1000", admin_).json();
  for (const auto& a : outbox["actions"]) {
    if (a.value("action", "") != "escalate_lost_kit") continue;
    ++escalations;
    EXPECT_EQ(a["kind"], "open_case");
    EXPECT_EQ(a["subject"], person);
  }
  EXPECT_EQ(escalations, 1);
  // Time goes on (SLA warnings, outbox rounds): still exactly one case.
  ASSERT_EQ(MoveClockTo("2026-12-03T12:00:00Z").status, 200);
  EXPECT_EQ(cases_of_person().size(), 1u);
  std::string m = Metrics();
  EXPECT_EQ(MetricValue(m, R"(rapport_cases_opened_total{source="journey"})"), 1) << m;
  // Nobody contacted the customer by 17:00Z: the breach moved the case to the team leads.
  EXPECT_EQ(MetricValue(m, "rapport_cases_sla_breaches_total"), 1) << m;
  EXPECT_EQ(MetricValue(m, R"(rapport_cases_open{team="logistics"})"), 0) << m;
  EXPECT_EQ(MetricValue(m, R"(rapport_cases_open{team="escalation"})"), 1) << m;
}

TEST_F(CasesServer, BadInputIsAClearErrorAndNothingStoredIsLost) {
  std::string person = NewPerson("C-3003", "Anna", "Schmidt");
  auto opened = Post("/v1/cases", {{"person", person}, {"text", "Rechnung"}}, agent1_);
  ASSERT_EQ(opened.status, 201);
  std::string id = opened.json()["id"];

  auto unknown_case = http_->Get("/v1/cases/case_nope", agent1_);
  EXPECT_EQ(unknown_case.status, 404);
  EXPECT_EQ(Post("/v1/cases/case_nope/notes", {{"text", "x"}}, agent1_).status, 404);
  auto unknown_team =
      Post("/v1/cases/" + id + "/handover", {{"team", "nobody"}, {"reason", "r"}}, agent1_);
  EXPECT_EQ(unknown_team.status, 404);
  EXPECT_EQ(unknown_team.json()["error"]["field"], "team");
  auto unknown_field =
      Post("/v1/cases/" + id + "/fields", {{"fields", {{"shoe_size", "44"}}}}, agent1_);
  EXPECT_EQ(unknown_field.status, 400);
  EXPECT_EQ(unknown_field.json()["error"]["field"], "fields.shoe_size");
  auto malformed = http_->Post("/v1/cases/" + id + "/notes", "{\"text\": ", agent1_);
  EXPECT_EQ(malformed.status, 400);
  auto no_person = Post("/v1/cases", {{"text", "hallo"}}, agent1_);
  EXPECT_EQ(no_person.status, 400);
  EXPECT_EQ(no_person.json()["error"]["field"], "person");
  auto bad_state = Post("/v1/cases/" + id + "/state", {{"state", "done"}}, agent1_);
  EXPECT_EQ(bad_state.status, 400);
  auto bad_pref = Post("/v1/cases/" + id + "/preferences",
                       {{"name", "invoice_format"}, {"value", "pretty"}}, agent1_);
  EXPECT_EQ(bad_pref.status, 400);
  EXPECT_EQ(bad_pref.json()["error"]["field"], "value");
  EXPECT_EQ(Post("/v1/cases", {{"person", person}}, analyst_).status, 403);
  auto bad_config =
      http_->Request("PUT", "/v1/cases-config", "teams:\n  - id: a\nrouting:\n  default_team: b\n",
                     admin_, "application/yaml");
  EXPECT_EQ(bad_config.status, 400);
  EXPECT_EQ(bad_config.json()["error"]["field"], "request body:4:17");

  // A stale revision is refused; the stored case is as it was.
  Json c = Case(id, agent1_);
  int64_t rev = c["revision"];
  ASSERT_EQ(
      Post("/v1/cases/" + id + "/notes", {{"text", "first"}, {"expected_revision", rev}}, agent1_)
          .status,
      200);
  auto stale =
      Post("/v1/cases/" + id + "/notes", {{"text", "stale"}, {"expected_revision", rev}}, agent2_);
  EXPECT_EQ(stale.status, 409);
  Json after = Case(id, agent1_);
  EXPECT_EQ(CountKind(after, "note"), 1);
  EXPECT_EQ(after["team"], "billing");
}

TEST_F(CasesServer, ConcurrentUpdatesOfOneCaseLoseNothing) {
  std::string person = NewPerson("C-4004", "Max", "Weber");
  auto opened = Post("/v1/cases", {{"person", person}, {"text", "Rechnung"}}, agent1_);
  ASSERT_EQ(opened.status, 201);
  std::string id = opened.json()["id"];
  constexpr int kAgents = 8, kEach = 10;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int a = 0; a < kAgents; ++a) {
    threads.emplace_back([&, a] {
      HttpClient client = server_->Client();
      for (int i = 0; i < kEach; ++i) {
        Json body = {{"text", "agent " + std::to_string(a) + " note " + std::to_string(i)}};
        auto r = client.Post("/v1/cases/" + id + "/notes", body.dump(), a % 2 ? agent1_ : agent2_);
        if (r.status != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  Json c = Case(id, agent1_);
  EXPECT_EQ(CountKind(c, "note"), kAgents * kEach);
  EXPECT_EQ(c["revision"], 1 + kAgents * kEach);
}

// Issue 18, finding 9: a case for a person id that does not exist is refused like an asset
// for an unknown owner (400 naming the field), and nothing is stored: no case, no SLA timer.
TEST_F(CasesServer, ACaseForAPersonThatDoesNotExistIsRefusedAndStoresNothing) {
  const std::string nobody = "per_01AAAAAAAAAAAAAAAAAAAAAAAA";
  auto refused = Post("/v1/cases", {{"person", nobody}, {"text", "Rechnung"}}, agent1_);
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(refused.json()["error"]["field"], "person");
  EXPECT_NE(refused.json()["error"]["message"].get<std::string>().find(nobody), std::string::npos);
  EXPECT_EQ(http_->Get("/v1/cases", agent1_).json()["cases"].size(), 0u);
  std::string person = NewPerson("C-5007", "Paul", "Kern");
  EXPECT_EQ(Post("/v1/cases", {{"person", person}, {"text", "Rechnung"}}, agent1_).status, 201);
  EXPECT_EQ(http_->Get("/v1/cases", agent1_).json()["cases"].size(), 1u);
}

TEST_F(CasesServer, APartnerSeesOnlyItsOrganisationsCases) {
  std::string person = NewPerson("C-5005", "Lena", "Fischer");
  // A partner's case read is a disclosure (issue 7): partner-a works the cases handed to it
  // under its service contract, registered as its legal basis.
  ASSERT_EQ(http_
                ->Request("PUT", "/v1/privacy/recipients/partner-a",
                          R"({"legal_basis":"contract","purposes":["case-handling"]})", admin_)
                .status,
            200);
  auto ours = Post("/v1/cases", {{"person", person}, {"text", "Rechnung"}}, agent1_);
  auto theirs =
      Post("/v1/cases",
           {{"person", person}, {"text", "Spülmaschine"}, {"team", "partner-a-service"}}, agent1_);
  ASSERT_EQ(theirs.status, 201);
  std::string our_id = ours.json()["id"], their_id = theirs.json()["id"];
  EXPECT_EQ(http_->Get("/v1/cases/" + their_id, partner_a_).status, 200);
  EXPECT_EQ(http_->Get("/v1/cases/" + our_id, partner_a_).status, 404);
  EXPECT_EQ(http_->Get("/v1/cases/" + their_id, partner_b_).status, 404);
  EXPECT_EQ(Post("/v1/cases/" + our_id + "/notes", {{"text", "x"}}, partner_a_).status, 404);
  auto list = http_->Get("/v1/cases", partner_a_).json();
  ASSERT_EQ(list["cases"].size(), 1u);
  EXPECT_EQ(list["cases"][0]["id"], their_id);
  EXPECT_EQ(http_->Get("/v1/cases", partner_b_).json()["cases"].size(), 0u);
  // The partner's read is audited with its organisation.
  auto audit = http_->Get("/v1/audit?subject=" + their_id, admin_).json();
  bool partner_read = false;
  for (const auto& e : audit["entries"]) {
    partner_read = partner_read || (e["action"] == "case.read" && e["org"] == "partner-a");
  }
  EXPECT_TRUE(partner_read);
}

// Issue 18, finding 4: a case of its organisation is a relationship through which a partner
// reads the person itself (GET /v1/partner/persons/{id}); another partner under the same
// legal basis, with no case of its own, gets the 404 of an unknown person.
TEST_F(CasesServer, APartnerReadsThePersonOfItsOrganisationsCaseOnly) {
  std::string person = NewPerson("C-5006", "Jana", "Vogel");
  for (const char* org : {"partner-a", "partner-b"}) {
    ASSERT_EQ(http_
                  ->Request("PUT", std::string("/v1/privacy/recipients/") + org,
                            R"({"legal_basis":"contract","purposes":["case-handling"]})", admin_)
                  .status,
              200);
  }
  const std::string path = "/v1/partner/persons/" + person + "?purpose=case-handling";
  EXPECT_EQ(http_->Get(path, partner_a_).status, 404) << "no case yet";
  auto theirs =
      Post("/v1/cases",
           {{"person", person}, {"text", "Spülmaschine"}, {"team", "partner-a-service"}}, agent1_);
  ASSERT_EQ(theirs.status, 201) << theirs.body;
  auto read = http_->Get(path, partner_a_);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.json()["fields"]["surname"], "Vogel");
  auto other = http_->Get(path, partner_b_);
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(other.body.find("Vogel"), std::string::npos);
}

// Issue 20: a sender that names its rating "score" opens no case for any complaint; the
// configuration check (HTTP and `rapport cases check --db`) finds the rule that reads nothing of
// what arrives, and a configuration naming the key reads it.
TEST_F(CasesServer, TheConfigurationCheckFindsFeedbackEventsItsRulesReadNothingOf) {
  for (int i = 0; i < 3; ++i) {
    auto r = Post("/v1/events",
                  {{"id", "score-" + std::to_string(i)},
                   {"type", "rating.submitted"},
                   {"subject", "shop:C-" + std::to_string(i)},
                   {"occurred_at", "2026-11-23T09:00:00Z"},
                   {"payload", {{"score", 1}, {"note", "Rechnung falsch"}}}},
                  agent1_);
    ASSERT_EQ(r.status, 201) << r.body;
  }
  auto stars = Post("/v1/events",
                    {{"id", "stars-0"},
                     {"type", "feedback.submitted"},
                     {"subject", "shop:C-9"},
                     {"occurred_at", "2026-11-23T09:00:00Z"},
                     {"payload", {{"stars", 5}}}},
                    agent1_);
  ASSERT_EQ(stars.status, 201) << stars.body;
  std::string example = ReadFile(SourceDir() + "/examples/cases/cases.yaml");
  auto check = http_->Request("POST", "/v1/cases-config/check", example, admin_);
  ASSERT_EQ(check.status, 200) << check.body;
  Json report = check.json();
  EXPECT_FALSE(report["ok"].get<bool>()) << report.dump();
  ASSERT_EQ(report["feedback_check"]["problems"].size(), 1u) << report.dump();
  std::string problem = report["feedback_check"]["problems"][0];
  for (const char* word :
       {"3 of 3 'rating.submitted'", "note, score", "score-0", "rating_fields"}) {
    EXPECT_NE(problem.find(word), std::string::npos) << word << " in " << problem;
  }
  bool stars_read = false;
  for (const auto& t : report["feedback_check"]["event_types"]) {
    if (t["type"] == "feedback.submitted") stars_read = t["read_by"].value("stars", 0) == 1;
  }
  EXPECT_TRUE(stars_read) << report.dump();
  EXPECT_EQ(http_->Request("POST", "/v1/cases-config/check", example, agent1_).status, 403);
  EXPECT_EQ(http_->Request("POST", "/v1/cases-config/check", "teams: [", admin_).status, 400);

  std::string out;
  EXPECT_EQ(
      RunRapport({"cases", "check", SourceDir() + "/examples/cases/cases.yaml", "--db", db_}, &out),
      1)
      << out;
  EXPECT_NE(out.find("3 of 3 'rating.submitted' events carry none"), std::string::npos) << out;

  std::string fixed = example;
  size_t at = fixed.find("rating_fields: [rating, stars]");
  ASSERT_NE(at, std::string::npos) << "the example names its rating keys";
  fixed.replace(at, std::string("rating_fields: [rating, stars]").size(),
                "rating_fields: [rating, stars, score]");
  auto put = http_->Request("PUT", "/v1/cases-config", fixed, admin_);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_TRUE(put.json()["feedback_check"]["problems"].empty()) << put.body;
}

// Issue 20: a case belongs to whom its subject names now. A split moves the record a case came
// under, and the case with it; an undone merge gives each person its cases back; an erasure of
// the person left behind does not take them.
TEST_F(CasesServer, CasesFollowTheirRecordThroughASplitAndAnUndoneMerge) {
  std::string anna = NewPerson("C-41", "Anna", "Winter");
  std::string bert = NewPerson("C-42", "Bert", "Sommer");
  ASSERT_FALSE(anna.empty() || bert.empty() || anna == bert);
  // A CRM record of a third customer that an agent wrongly put to Anna.
  auto crm = Post("/v1/records",
                  {{"source", "crm"},
                   {"source_key", "K-43"},
                   {"fields", {{"given_name", "Carla"}, {"family_name", "Herbst"}}}},
                  agent1_);
  ASSERT_EQ(crm.status, 201) << crm.body;
  std::string carla = crm.json().value("person", "");
  std::string crm_record = crm.json().value("record", crm.json().value("id", ""));
  auto wrong = Post("/v1/persons/" + anna + "/merge", {{"other", carla}}, agent1_);
  ASSERT_EQ(wrong.status, 200) << wrong.body;
  auto rate = [&](const std::string& id, const std::string& subject) {
    auto r = Post("/v1/events",
                  {{"id", id},
                   {"type", "rating.submitted"},
                   {"subject", subject},
                   {"occurred_at", "2026-11-23T09:00:00Z"},
                   {"payload", {{"stars", 1}, {"text", "Rechnung falsch"}}}},
                  agent1_);
    ASSERT_EQ(r.status, 201) << r.body;
  };
  rate("R-41", "shop:C-41");
  rate("R-43", "crm:K-43");
  rate("R-42", "shop:C-42");
  auto cases_of = [&](const std::string& person) {
    std::set<std::string> subjects;
    Json list = http_->Get("/v1/cases?person=" + person, analyst_).json();
    for (const auto& c : list["cases"]) {
      Json full = Case(c["id"], analyst_);
      EXPECT_EQ(full["person"], c["person"]) << full.dump();
      subjects.insert(full.value("subject", full.value("person", "")));
    }
    return subjects;
  };
  // The cases worker opens them in the background, in log order.
  ASSERT_TRUE(WaitUntil([&] { return cases_of(bert).size() == 1; }));
  ASSERT_EQ(cases_of(anna).size(), 2u);

  // The CRM record is split off: Carla's case goes with it.
  std::string survivor = http_->Get("/v1/persons/shop:C-41", analyst_).json().value("id", "");
  auto split = Post("/v1/persons/" + survivor + "/split", {{"records", {crm_record}}}, agent1_);
  ASSERT_EQ(split.status, 200) << split.body;
  std::string carla_now = http_->Get("/v1/persons/crm:K-43", analyst_).json().value("id", "");
  ASSERT_FALSE(carla_now.empty());
  ASSERT_NE(carla_now, survivor);
  EXPECT_EQ(cases_of(survivor), std::set<std::string>{"shop:C-41"});
  EXPECT_EQ(cases_of(carla_now), std::set<std::string>{"crm:K-43"});

  // Anna and Bert merged by mistake and the merge undone: each has their own case again.
  auto merged = Post("/v1/persons/" + survivor + "/merge", {{"other", bert}}, agent1_);
  ASSERT_EQ(merged.status, 200) << merged.body;
  std::string both = http_->Get("/v1/persons/shop:C-42", analyst_).json().value("id", "");
  EXPECT_EQ(cases_of(both).size(), 2u);
  auto undo =
      Post("/v1/merges/" + merged.json().value("id", "") + "/undo", Json::object(), agent1_);
  ASSERT_EQ(undo.status, 200) << undo.body;
  std::string anna_now = http_->Get("/v1/persons/shop:C-41", analyst_).json().value("id", "");
  std::string bert_now = http_->Get("/v1/persons/shop:C-42", analyst_).json().value("id", "");
  ASSERT_NE(anna_now, bert_now);
  EXPECT_EQ(cases_of(anna_now), std::set<std::string>{"shop:C-41"});
  EXPECT_EQ(cases_of(bert_now), std::set<std::string>{"shop:C-42"});

  // Anna's erasure leaves Carla's case (once Anna's by its stored person) untouched.
  auto erased = Post("/v1/persons/" + anna_now + "/erasure", {{"reason", "Art. 17"}}, admin_);
  ASSERT_EQ(erased.status, 200) << erased.body;
  Json carla_list = http_->Get("/v1/cases?person=" + carla_now, analyst_).json();
  ASSERT_EQ(carla_list["cases"].size(), 1u);
  Json carlas = Case(carla_list["cases"][0]["id"], analyst_);
  EXPECT_FALSE(carlas.contains("erased")) << carlas.dump();
  EXPECT_EQ(carlas["title"].get<std::string>().rfind("Feedback 1/5", 0), 0u) << carlas.dump();
}

// Issue 20: what hangs on a person follows it. A preference set under an id that a merge then
// absorbs, or under a subject whose record arrives only later, belongs to the person; its
// erasure takes the case and the preference kept under the subject as it first came.
TEST_F(CasesServer, PreferencesAndCasesFollowMergesLateRecordsAndErasure) {
  std::string anna = NewPerson("C-1", "Anna", "Zeller");
  std::string bruno = NewPerson("C-2", "Bruno", "Yilmaz");
  ASSERT_FALSE(anna.empty() || bruno.empty() || anna == bruno);
  auto put = http_->Request("PUT", "/v1/persons/" + bruno + "/preferences/contact_channel",
                            R"({"value":"letter"})", agent1_);
  ASSERT_EQ(put.status, 200) << put.body;
  put = http_->Request("PUT", "/v1/persons/" + anna + "/preferences/language", R"({"value":"de"})",
                       agent1_);
  ASSERT_EQ(put.status, 200) << put.body;
  auto nobody = http_->Request("PUT", "/v1/persons/per_DOESNOTEXIST/preferences/language",
                               R"({"value":"de"})", agent1_);
  EXPECT_EQ(nobody.status, 404) << nobody.body;
  EXPECT_NE(nobody.body.find("per_DOESNOTEXIST"), std::string::npos) << nobody.body;
  EXPECT_EQ(http_->Get("/v1/persons/per_DOESNOTEXIST/preferences", analyst_)
                .json()
                .dump()
                .find("language"),
            std::string::npos);
  auto merged = Post("/v1/persons/" + anna + "/merge", {{"other", bruno}}, agent1_);
  ASSERT_EQ(merged.status, 200) << merged.body;
  std::string survivor = http_->Get("/v1/persons/" + bruno, analyst_).json().value("id", "");
  Json prefs = http_->Get("/v1/persons/" + survivor + "/preferences", analyst_).json();
  EXPECT_EQ(prefs["preferences"]["contact_channel"]["value"], "letter") << prefs.dump();
  EXPECT_EQ(prefs["preferences"]["language"]["value"], "de") << prefs.dump();

  // A rating from a customer whose record is not there yet: the case keeps the subject.
  auto rated = Post("/v1/events",
                    {{"id", "R-late"},
                     {"type", "rating.submitted"},
                     {"subject", "shop:C-3"},
                     {"occurred_at", "2026-11-23T09:00:00Z"},
                     {"payload", {{"stars", 1}, {"text", "Rechnung an Clara Xaver falsch"}}}},
                    agent1_);
  ASSERT_EQ(rated.status, 201) << rated.body;
  Json list;
  ASSERT_TRUE(WaitUntil([&] {
    list = http_->Get("/v1/cases?person=shop:C-3", analyst_).json();
    return list["cases"].size() == 1;
  })) << list.dump();
  std::string case_id = list["cases"][0]["id"];
  auto pref =
      Post("/v1/cases/" + case_id + "/preferences",
           {{"name", "invoice_format"}, {"value", "tax-compliant-with-buyer-vat-id"}}, agent1_);
  ASSERT_EQ(pref.status, 200) << pref.body;

  std::string clara = NewPerson("C-3", "Clara", "Xaver");
  ASSERT_FALSE(clara.empty());
  prefs = http_->Get("/v1/persons/" + clara + "/preferences", analyst_).json();
  EXPECT_EQ(prefs["preferences"]["invoice_format"]["value"], "tax-compliant-with-buyer-vat-id")
      << prefs.dump();
  EXPECT_EQ(http_->Get("/v1/cases?person=" + clara, analyst_).json()["cases"].size(), 1u);

  // Her access report, asked for by the key she knows, shows the case and the preference.
  auto report = http_->Get("/v1/persons/shop:C-3/access-report", admin_);
  ASSERT_EQ(report.status, 200) << report.body;
  const Json report_json = report.json();
  EXPECT_EQ(report_json["person"], clara);
  ASSERT_EQ(report_json["cases"].size(), 1u) << report.body;
  EXPECT_EQ(report_json["cases"][0]["id"], case_id);
  EXPECT_EQ(report_json["preferences"]["invoice_format"]["value"],
            "tax-compliant-with-buyer-vat-id");
  auto html = http_->Get("/v1/persons/shop:C-3/access-report?format=html", admin_);
  EXPECT_NE(html.body.find(case_id), std::string::npos) << html.body;

  auto erased = Post("/v1/persons/shop:C-3/erasure", {{"reason", "Art. 17"}}, admin_);
  ASSERT_EQ(erased.status, 200) << erased.body;
  Json c = Case(case_id, agent1_);
  EXPECT_EQ(c.dump().find("Clara Xaver"), std::string::npos) << c.dump();
  prefs = http_->Get("/v1/persons/shop:C-3/preferences", analyst_).json();
  EXPECT_TRUE(prefs["preferences"].empty()) << prefs.dump();
  EXPECT_EQ((ReadFile(db_) + ReadFile(db_ + "-wal")).find("Clara Xaver"), std::string::npos)
      << "the database files";
}

}  // namespace
}  // namespace rapport::testing

namespace rapport::testing {
namespace {

// `rapport cases check|route|classify` as a user runs them on a configuration file.
TEST(CasesCli, CheckRouteAndClassifyTheExampleAndNameTheLineOfAnError) {
  std::string example = SourceDir() + "/examples/cases/cases.yaml";
  std::string out;
  ASSERT_EQ(RunRapport({"cases", "check", example}, &out), 0) << out;
  EXPECT_NE(out.find("7 teams"), std::string::npos) << out;

  ASSERT_EQ(RunRapport({"cases", "route", example, "--text", "Mein Display ist kaputt"}, &out), 0);
  EXPECT_NE(out.find("\"team\": \"tech-support\""), std::string::npos) << out;

  ASSERT_EQ(RunRapport({"cases", "classify", example, "--text",
                        "Die Rechnung wurde vom Finanzamt abgelehnt", "--rating", "2"},
                       &out),
            0);
  EXPECT_NE(out.find("\"topic\": \"invoice\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"sentiment\": \"negative\""), std::string::npos) << out;

  ScratchDir dir;
  std::string bad = dir.File("bad.yaml");
  {
    std::ofstream f(bad);
    f << "teams:\n  - id: billing\nrouting:\n  rules:\n    - id: r1\n      team: billling\n";
  }
  EXPECT_EQ(RunRapport({"cases", "check", bad}, &out), 2);
  EXPECT_NE(out.find(bad + ":6:13"), std::string::npos) << out;
  EXPECT_NE(out.find("unknown team 'billling'"), std::string::npos) << out;
}

// Issue 20: one customer's history under every form a sender names them by — "shop:C-1001",
// the bare key "C-1001", another record's "crm:K-77", an e-mail address, the person id — is one
// history: the 360, the feedback case, the preference and the annotation of a later order.
TEST_F(CasesServer, S5WithSubjectsInEveryFormReachesOnePerson) {
  Json johann = {{"source", "shop"},
                 {"source_key", "C-1001"},
                 {"fields",
                  {{"given_name", "Johann"},
                   {"family_name", "Müller"},
                   {"email", "Johann.Mueller@Example.org"},
                   {"city", "München"}}}};
  auto first = http_->Post("/v1/records", johann.dump(), agent1_);
  ASSERT_EQ(first.status, 201) << first.body;
  std::string person = first.json().value("person", "");
  std::string other = NewPerson("K-77", "Greta", "Lüdenscheidt");  // shop's K-77: someone else
  ASSERT_FALSE(person.empty() || other.empty());
  // The CRM's record is the same man (an agent merges it): K-77 is a key of his too.
  Json crm = {{"source", "crm"},
              {"source_key", "K-77"},
              {"fields", {{"given_name", "Johann"}, {"family_name", "Müller"}}}};
  auto crm_record = http_->Post("/v1/records", crm.dump(), agent1_);
  ASSERT_EQ(crm_record.status, 201) << crm_record.body;
  std::string crm_person = crm_record.json().value("person", "");
  if (crm_person != person) {
    auto merged = Post("/v1/persons/" + person + "/merge", {{"other", crm_person}}, agent1_);
    ASSERT_EQ(merged.status, 200) << merged.body;
  }
  person = http_->Get("/v1/persons/" + person, analyst_).json().value("id", "");
  auto deployed =
      http_->Post("/v1/journeys", ReadFile(SourceDir() + "/examples/journeys/invoice.yaml"), admin_,
                  "application/yaml");
  ASSERT_EQ(deployed.status, 201) << deployed.body;

  auto event = [&](const std::string& id, const std::string& type, const std::string& subject,
                   const std::string& at, Json payload = Json::object()) {
    auto r = Post("/v1/events",
                  {{"id", id},
                   {"type", type},
                   {"subject", subject},
                   {"keys", {{"order_id", id}}},
                   {"occurred_at", at},
                   {"payload", payload}},
                  agent1_);
    EXPECT_EQ(r.status, 201) << r.body;
  };
  event("O-1", "order.placed", "shop:C-1001", "2026-11-23T09:00:00Z");
  // The demo's rating: a bare key and "stars".
  event("R-1", "rating.submitted", "C-1001", "2026-11-23T09:00:00Z",
        {{"stars", 2}, {"text", "Rechnung wird vom Finanzamt nicht anerkannt"}});

  // The feedback case names the person, whatever form the rating named him in.
  Json list;
  ASSERT_TRUE(WaitUntil([&] {
    list = http_->Get("/v1/cases?person=" + person, analyst_).json();
    return list["cases"].size() == 1;
  })) << list.dump();
  std::string id = list["cases"][0]["id"];
  Json c = Case(id, agent1_);
  EXPECT_EQ(c["person"], person);
  EXPECT_EQ(c["subject"], "C-1001");
  EXPECT_EQ(c["team"], "invoicing");
  EXPECT_EQ(http_->Get("/v1/cases?person=shop:C-1001", analyst_).json()["cases"].size(), 1u);

  // The fix is his preference, under his person id.
  auto pref =
      Post("/v1/cases/" + id + "/preferences",
           {{"name", "invoice_format"}, {"value", "tax-compliant-with-buyer-vat-id"}}, agent1_);
  ASSERT_EQ(pref.status, 200) << pref.body;
  auto prefs = http_->Get("/v1/persons/" + person + "/preferences", analyst_);
  ASSERT_EQ(prefs.status, 200) << prefs.body;
  EXPECT_EQ(prefs.json()["preferences"]["invoice_format"]["value"],
            "tax-compliant-with-buyer-vat-id")
      << prefs.body;

  // Later orders under his other record and his e-mail address (in other case) carry it.
  ASSERT_EQ(MoveClockTo("2026-11-23T12:00:00Z").status, 200);
  event("O-2", "order.placed", "crm:K-77", "2026-11-23T12:00:00Z");
  event("O-3", "order.placed", "johann.mueller@EXAMPLE.org", "2026-11-23T12:00:00Z");
  event("O-4", "order.placed", person, "2026-11-23T12:00:00Z");
  for (const char* order : {"O-2", "O-3", "O-4"}) {
    HttpResult note;
    ASSERT_TRUE(WaitUntil([&] {
      note = http_->Get(std::string("/v1/events/") + order + "/annotations", analyst_);
      return note.status == 200;
    })) << order
        << ": " << note.body;
    EXPECT_EQ(note.json()["preferences"]["invoice_format"]["value"],
              "tax-compliant-with-buyer-vat-id")
        << order;
  }
  EXPECT_EQ(http_->Get("/v1/events/O-1/annotations", analyst_).status, 404);

  // The invoice of the order under crm:K-77 names whom to write to: his golden e-mail address.
  Json invoice;
  ASSERT_TRUE(WaitUntil([&] {
    std::ifstream sink(db_ + ".outbox.ndjson");
    std::string line;
    while (std::getline(sink, line)) {
      auto entry = ParseJson(line);
      if (entry.ok() && (*entry)["action"].value("instance_key", "") == "O-2") {
        invoice = (*entry)["action"];
      }
    }
    return !invoice.is_null();
  })) << ReadFile(db_ + ".outbox.ndjson");
  EXPECT_EQ(invoice["recipient"]["person"], person) << invoice.dump();
  EXPECT_EQ(invoice["recipient"]["address"], "Johann.Mueller@Example.org") << invoice.dump();
  EXPECT_EQ(invoice["recipient"]["channel"], "email") << invoice.dump();

  // His 360 holds every one of those events; any subject opens it.
  auto view = http_->Get("/v1/persons/" + person + "?events=50", analyst_);
  ASSERT_EQ(view.status, 200) << view.body;
  const Json view_json = view.json();
  std::set<std::string> seen;
  for (const auto& e : view_json["events"]) seen.insert(e.value("id", ""));
  for (const char* e : {"O-1", "R-1", "O-2", "O-3", "O-4"}) {
    EXPECT_TRUE(seen.count(e)) << e << " missing from " << view_json["events"].dump();
  }
  auto by_key = http_->Get("/v1/persons/shop:C-1001", analyst_);
  ASSERT_EQ(by_key.status, 200) << by_key.body;
  EXPECT_EQ(by_key.json()["id"], person);
  EXPECT_EQ(by_key.json()["resolved_from"]["by"], "source_key");
  EXPECT_EQ(http_->Get("/v1/persons/johann.mueller@example.org", analyst_).json()["id"], person);
  // K-77 is a key of two persons (shop's and crm's): a bare K-77 names nobody.
  EXPECT_EQ(http_->Get("/v1/persons/K-77", analyst_).status, 404);

  // An agent's open names him in any form; a person nobody has is refused.
  auto opened = Post("/v1/cases", {{"person", "crm:K-77"}, {"text", "Rückfrage"}}, agent1_);
  ASSERT_EQ(opened.status, 201) << opened.body;
  EXPECT_EQ(opened.json()["person"], person);
  EXPECT_EQ(Post("/v1/cases", {{"person", "shop:C-404"}, {"text", "x"}}, agent1_).status, 400);

  // A subject nobody has yet is kept and listed, and resolves once its record arrives.
  event("O-9", "order.placed", "shop:C-9001", "2026-11-23T12:00:00Z");
  auto unresolved = http_->Get("/v1/subjects/unresolved", analyst_);
  ASSERT_EQ(unresolved.status, 200) << unresolved.body;
  bool listed = false;
  const Json subjects = unresolved.json()["subjects"];
  for (const auto& u : subjects) {
    listed = listed || (u["subject"] == "shop:C-9001" && u["events"] == 1);
    EXPECT_NE(u["subject"], "shop:C-1001") << unresolved.body;
  }
  EXPECT_TRUE(listed) << unresolved.body;
  std::string late = NewPerson("C-9001", "Lena", "Spät");
  unresolved = http_->Get("/v1/subjects/unresolved", analyst_);
  EXPECT_EQ(unresolved.body.find("shop:C-9001"), std::string::npos) << unresolved.body;
  Json late_view = http_->Get("/v1/persons/" + late, analyst_).json();
  ASSERT_EQ(late_view["events"].size(), 1u) << late_view.dump();
  EXPECT_EQ(late_view["events"][0]["id"], "O-9");
}

}  // namespace
}  // namespace rapport::testing
