// S4 end to end (shared/SCENARIOS.md): the e-mail address that travelled. A customer gives
// an address to one comparison portal only; it is recorded with the portal's provenance, a
// hand-over to an insurer is refused without consent and allowed with it (under an alias),
// mail from a spammer to the insurer's alias is attributed to the insurer, the access report
// lists it all, and after erasure no API, export, search, database file or the outbox file
// holds the address, and her cases and appliance keep only what shows they existed.
#include <gtest/gtest.h>

#include <cctype>
#include <set>

#include "test_server.h"

namespace rapport::testing {
namespace {

const std::string kAddress = "anna.berger@example.org";

// Ignoring case: a sender may have written the address or alias in capitals.
std::string Grep(const std::string& haystack, const std::string& needle) {
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  return lower(haystack).find(lower(needle)) == std::string::npos ? "" : needle;
}

class PrivacyHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("rapport.db");
    admin_ = CreateToken(db_, "admin");
    agent_ = CreateToken(db_, "agent");
    analyst_ = CreateToken(db_, "analyst");
    insurer_ = CreateToken(db_, "partner", "versicherung-nord");
    server_ = std::make_unique<ServerProcess>(
        db_,
        std::vector<std::string>{"--clock", "manual", "--clock-start", "2026-03-01T09:00:00Z"});
    ASSERT_TRUE(server_->ok()) << server_->startup_output();
  }

  HttpResult Put(HttpClient& c, const std::string& path, const Json& body) {
    return c.Request("PUT", path, body.dump(), admin_);
  }

  // Every entry of the audit log about `subject`, as one text.
  std::string AuditOf(HttpClient& c, const std::string& subject) {
    auto r = c.Get("/v1/audit?limit=1000&subject=" + subject, admin_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }

  ScratchDir dir_;
  std::string db_, admin_, agent_, analyst_, insurer_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(PrivacyHttpTest, S4AddressTracedFromPortalToLeakThenErased) {
  HttpClient c = server_->Client();
  // The registries: where data comes from, who may get it on which basis.
  ASSERT_EQ(Put(c, "/v1/privacy/sources/portal-vergleich",
                {{"channel", "web form"},
                 {"organisation", "Vergleichsportal GmbH"},
                 {"purposes", {"offers"}},
                 {"legal_basis", "consent"},
                 {"consent_ref", "portal-optin-v3"}})
                .status,
            200);
  ASSERT_EQ(
      Put(c, "/v1/privacy/recipients/versicherung-nord",
          {{"organisation", "Versicherung Nord AG"}, {"mail_domains", {"versicherung-nord.de"}}})
          .status,
      200);
  ASSERT_EQ(Put(c, "/v1/privacy/recipients/strom-direkt",
                {{"organisation", "Strom Direkt GmbH"}, {"mail_domains", {"strom-direkt.de"}}})
                .status,
            200);
  ASSERT_EQ(Put(c, "/v1/privacy/retention/offers", {{"days", 730}}).status, 200);
  EXPECT_EQ(Put(c, "/v1/privacy/sources/x", {{"purposes", {"offers"}}, {"legal_basis", "magic"}})
                .json()["error"]["field"],
            "legal_basis");

  // The address, recorded with the portal as its source.
  Json record = {{"source", "portal-vergleich"},
                 {"source_key", "PV-4711"},
                 {"fields",
                  {{"vorname", "Anna"},
                   {"nachname", "Berger"},
                   {"email", kAddress},
                   {"plz", "80331"},
                   {"ort", "München"}}}};
  auto stored = c.Post("/v1/records", record.dump(), agent_);
  ASSERT_EQ(stored.status, 201) << stored.body;
  const std::string record_id = stored.json()["id"];
  const std::string person = stored.json()["person"];
  auto prov = c.Get("/v1/records/" + record_id + "/provenance", analyst_);
  ASSERT_EQ(prov.status, 200) << prov.body;
  EXPECT_EQ(prov.json()["source"], "portal-vergleich");
  EXPECT_EQ(prov.json()["channel"], "web form");
  EXPECT_EQ(prov.json()["organisation"], "Vergleichsportal GmbH");
  EXPECT_EQ(prov.json()["purposes"], Json::array({"offers"}));
  EXPECT_EQ(prov.json()["legal_basis"], "consent");
  EXPECT_EQ(prov.json()["consent_ref"], "portal-optin-v3");
  EXPECT_EQ(prov.json()["collected_at"], "2026-03-01T09:00:00Z");

  // Without consent, neither the insurer's API read nor an export to it goes out.
  // The partner's refused read answers exactly as a person that does not exist (issue 9: a
  // partner learns nothing of persons it may not read); the reason is in the register.
  auto read = c.Get("/v1/partner/persons/" + person + "?purpose=offers", insurer_);
  EXPECT_EQ(read.status, 404) << read.body;
  EXPECT_EQ(read.body.find(kAddress), std::string::npos);
  const std::string unknown = "per_01AAAAAAAAAAAAAAAAAAAAAAAA";
  auto nobody = c.Get("/v1/partner/persons/" + unknown + "?purpose=offers", insurer_);
  EXPECT_EQ(nobody.status, 404) << nobody.body;
  std::string refused_body = read.body, unknown_body = nobody.body;
  refused_body.replace(refused_body.find(person), person.size(), "ID");
  unknown_body.replace(unknown_body.find(unknown), unknown.size(), "ID");
  EXPECT_EQ(refused_body, unknown_body) << "a refusal must not reveal that the person exists";
  auto exported = c.Get(
      "/v1/exports/persons?recipient=versicherung-nord&purpose=offers&person=" + person, admin_);
  EXPECT_EQ(exported.status, 403) << exported.body;
  EXPECT_EQ(exported.body.find(kAddress), std::string::npos);
  auto everyone = c.Get("/v1/exports/persons?recipient=versicherung-nord&purpose=offers", admin_);
  ASSERT_EQ(everyone.status, 200) << everyone.body;
  EXPECT_TRUE(everyone.json()["persons"].empty());
  EXPECT_EQ(everyone.json()["refused"].size(), 1u);
  auto register_before = c.Get("/v1/persons/" + person + "/disclosures", analyst_).json();
  ASSERT_EQ(register_before["disclosures"].size(), 3u) << "every refusal is recorded";
  for (const auto& d : register_before["disclosures"]) {
    EXPECT_FALSE(d["allowed"].get<bool>());
    EXPECT_NE(d["reason"].get<std::string>().find("no consent"), std::string::npos) << d.dump();
  }
  EXPECT_NE(AuditOf(c, person).find("disclosure.refused"), std::string::npos);

  // With consent for both companies, each gets the data under its own alias.
  Json consent = {
      {"purposes", {"offers"}},
      {"recipients", {"versicherung-nord", "strom-direkt"}},
      {"proof",
       {{"text_version", "portal-optin-v3"}, {"channel", "web form"}, {"reference", "PV-4711"}}}};
  auto given = c.Post("/v1/persons/" + person + "/consents", consent.dump(), agent_);
  ASSERT_EQ(given.status, 201) << given.body;
  read = c.Get("/v1/partner/persons/" + person + "?purpose=offers", insurer_);
  ASSERT_EQ(read.status, 200) << read.body;
  const std::string insurer_alias = read.json()["fields"]["email"];
  EXPECT_NE(insurer_alias, kAddress);
  EXPECT_EQ(insurer_alias.rfind("anna.berger+", 0), 0u) << insurer_alias;
  EXPECT_EQ(read.json()["fields"]["given_name"], "Anna");
  exported =
      c.Get("/v1/exports/persons?recipient=strom-direkt&purpose=offers&person=" + person, admin_);
  ASSERT_EQ(exported.status, 200) << exported.body;
  const std::string power_alias = exported.json()["persons"][0]["fields"]["email"];
  EXPECT_NE(power_alias, insurer_alias);
  EXPECT_EQ(exported.body.find(kAddress), std::string::npos);
  // The command line goes through the same check (and the same alias).
  std::string cli_out;
  ASSERT_EQ(RunRapport({"export", "--recipient", "strom-direkt", "--purpose", "offers", "--person",
                        person, "--db", db_},
                       &cli_out),
            0)
      << cli_out;
  EXPECT_NE(cli_out.find(power_alias), std::string::npos) << cli_out;
  EXPECT_EQ(cli_out.find(kAddress), std::string::npos) << cli_out;
  // A purpose nobody agreed to stays refused.
  EXPECT_EQ(c.Get("/v1/partner/persons/" + person + "?purpose=credit-scoring", insurer_).status,
            404);

  // Mail to the insurer's alias from a spammer is a leak; from the insurer itself it is not.
  auto mail = [&](const std::string& id, const std::string& from, const std::string& to) {
    Json e = {{"id", id},
              {"type", "mail.inbound"},
              {"occurred_at", "2026-03-20T08:00:00Z"},
              {"payload", {{"from", from}, {"to", to}}}};
    return c.Post("/v1/events", e.dump(), agent_).status;
  };
  // Header values as mailers write them: display names, angle addresses, a capitalised alias.
  std::string shouted_alias = insurer_alias;
  for (auto& ch : shouted_alias)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  ASSERT_EQ(mail("m1", "Versicherung Nord <tarife@versicherung-nord.de>",
                 "Anna Berger <" + insurer_alias + ">"),
            201);
  ASSERT_EQ(mail("m2", "info@strom-direkt.de", "<" + power_alias + ">"), 201);
  ASSERT_EQ(
      mail("m3", "\"Cheap Deals, Inc.\" <win@cheap-deals.example>", "Anna <" + shouted_alias + ">"),
      201);
  auto leaks = c.Get("/v1/privacy/leaks", analyst_);
  ASSERT_EQ(leaks.status, 200) << leaks.body;
  ASSERT_EQ(leaks.json()["leaks"].size(), 1u) << leaks.body;
  EXPECT_EQ(leaks.json()["leaks"][0]["recipient"], "versicherung-nord");
  EXPECT_EQ(leaks.json()["leaks"][0]["person"], person);
  EXPECT_EQ(leaks.json()["leaks"][0]["sender_domain"], "cheap-deals.example");

  // Withdrawn consent: the insurer is refused again; the history keeps both steps.
  std::string consent_id = given.json()["id"];
  ASSERT_EQ(
      c.Post("/v1/persons/" + person + "/consents/" + consent_id + "/withdraw", "", agent_).status,
      200);
  EXPECT_EQ(c.Get("/v1/partner/persons/" + person + "?purpose=offers", insurer_).status, 404);
  auto consents = c.Get("/v1/persons/" + person + "/consents", analyst_).json();
  ASSERT_EQ(consents["consents"].size(), 1u);
  EXPECT_EQ(consents["consents"][0]["history"].size(), 2u);

  // The access report: every datum with source, purposes, recipients and retention.
  auto report = c.Get("/v1/persons/" + person + "/access-report", agent_);
  ASSERT_EQ(report.status, 200) << report.body;
  Json r = report.json();
  const Json& email = r["golden"]["email"];
  EXPECT_EQ(email["value"], kAddress);
  EXPECT_EQ(email["source"], "portal-vergleich");
  EXPECT_EQ(email["provenance"]["legal_basis"], "consent");
  EXPECT_EQ(email["provenance"]["purposes"], Json::array({"offers"}));
  EXPECT_EQ(email["recipients"], Json::array({"strom-direkt", "versicherung-nord"}));
  ASSERT_EQ(r["records"].size(), 1u);
  EXPECT_EQ(r["records"][0]["retention"]["until"], "2028-02-29T09:00:00Z");
  std::set<std::string> fields;
  for (const auto& f : r["records"][0]["fields"]) fields.insert(f["field"]);
  EXPECT_EQ(fields, (std::set<std::string>{"vorname", "nachname", "email", "plz", "ort"}));
  EXPECT_EQ(r["recipients"].size(), 2u);
  EXPECT_EQ(r["disclosures"].size(), 8u) << "3 refused, 3 given, 2 refused later";
  EXPECT_EQ(r["consents"].size(), 1u);
  EXPECT_EQ(r["aliases"].size(), 2u);
  EXPECT_EQ(r["leaks"].size(), 1u);
  auto html = c.Get("/v1/persons/" + person + "/access-report?format=html", agent_);
  ASSERT_EQ(html.status, 200);
  EXPECT_EQ(html.headers["content-type"].rfind("text/html", 0), 0u);
  for (const char* s : {"Access report", "portal-vergleich", "versicherung-nord",
                        "cheap-deals.example", "portal-optin-v3", "Vergleichsportal GmbH"}) {
    EXPECT_NE(html.body.find(s), std::string::npos) << s;
  }

  // Copies of her data outside her person and records: a case she called about (what she said,
  // a field, a note), her appliance with her address and a work order in her words, and a
  // newsletter mail delivered to the outbox file (the journey is keyed by her address).
  Json open_case = {{"person", person},
                    {"title", "Spam an Anna Berger"},
                    {"text", "Anna Berger: Werbung an " + kAddress + " von Fremden"},
                    {"fields", {{"description", "Adresse " + kAddress + " weitergegeben"}}}};
  auto opened = c.Post("/v1/cases", open_case.dump(), agent_);
  ASSERT_EQ(opened.status, 201) << opened.body;
  const std::string case_id = opened.json()["id"];
  ASSERT_EQ(c.Post("/v1/cases/" + case_id + "/notes", R"({"text":"Rueckruf nach 18 Uhr"})", agent_)
                .status,
            200);
  ASSERT_EQ(c.Post("/v1/catalog/models",
                   R"({"model":"TR-1","family":"TR","product_line":"dryer","parts":["TR-heater"]})",
                   admin_)
                .status,
            200);
  ASSERT_EQ(c.Post("/v1/partners",
                   R"({"org":"service-sued","product_lines":["dryer"],"regions":["BY"]})", admin_)
                .status,
            200);
  Json asset_body = {{"model", "TR-1"},
                     {"serial", "TR-0815"},
                     {"purchased", "2024-05-01"},
                     {"owner", person},
                     {"location",
                      {{"region", "BY"},
                       {"postcode", "80331"},
                       {"city", "München"},
                       {"street", "Sendlinger Str. 1"}}}};
  auto asset = c.Post("/v1/assets", asset_body.dump(), agent_);
  ASSERT_EQ(asset.status, 201) << asset.body;
  const std::string asset_id = asset.json()["id"];
  Json order = {{"asset", asset_id},
                {"symptom", "Anna Berger: Trockner heizt nicht"},
                {"partner", "service-sued"}};
  auto work_order = c.Post("/v1/work-orders", order.dump(), agent_);
  ASSERT_EQ(work_order.status, 201) << work_order.body;
  const std::string work_order_id = work_order.json()["id"];
  const char* newsletter = R"(journey: newsletter
version: 1
correlation: email
start:
  on: newsletter.subscribed
events:
  newsletter.subscribed: {keys: [email]}
  newsletter.cancelled: {keys: [email]}
steps:
  - name: subscribed
    completed_by: newsletter.subscribed
actions:
  - name: welcome
    kind: message
    channel: email
    template: newsletter_welcome
    requires: [newsletter.subscribed]
end_states:
  - name: cancelled
    when: newsletter.cancelled
)";
  // It runs until the customer cancels, which journey check calls a wait for ever: deployed by
  // decision (the check's report goes to the audit log).
  ASSERT_EQ(c.Post("/v1/journeys?force=true", newsletter, admin_, "application/yaml").status, 201);
  Json subscribed = {{"id", "sub-1"},
                     {"type", "newsletter.subscribed"},
                     {"subject", person},
                     {"keys", {{"email", kAddress}}},
                     {"occurred_at", "2026-03-01T09:00:00Z"}};
  ASSERT_EQ(c.Post("/v1/events", subscribed.dump(), agent_).status, 201);
  ASSERT_EQ(c.Post("/v1/admin/clock", R"({"advance":"1m"})", admin_).status, 200);
  const std::string sink_file = db_ + ".outbox.ndjson";
  ASSERT_NE(ReadFile(sink_file).find(kAddress), std::string::npos)
      << "the welcome mail was delivered: " << ReadFile(sink_file);

  // Events that name her as the portal and a shop know her (issue 20): "source:key", her
  // record id, her address; their payloads carry her data.
  for (const std::string& subject :
       {std::string("portal-vergleich:PV-4711"), record_id, kAddress}) {
    Json ev = {{"type", "order.placed"},
               {"subject", subject},
               {"occurred_at", "2026-03-01T10:00:00Z"},
               {"payload", {{"customer_name", "Anna Berger"}, {"ship_to", "Lieferweg 9"}}}};
    ASSERT_EQ(c.Post("/v1/events", ev.dump(), agent_).status, 201);
  }

  // Erasure. Until now the database files do hold the address (so the check below means
  // something).
  EXPECT_NE((ReadFile(db_) + ReadFile(db_ + "-wal")).find(kAddress), std::string::npos);
  auto erased =
      c.Post("/v1/persons/" + person + "/erasure", R"({"reason":"Art. 17 request"})", admin_);
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_EQ(erased.json()["notify_recipients"], Json::array({"strom-direkt", "versicherung-nord"}));
  EXPECT_FALSE(erased.json().contains("incomplete")) << erased.body;
  EXPECT_EQ(erased.json()["steps"]["cases"]["cases"], 1) << erased.body;
  EXPECT_EQ(erased.json()["steps"]["service"]["assets"], 1) << erased.body;
  EXPECT_EQ(erased.json()["steps"]["service"]["work_orders"], 1) << erased.body;
  EXPECT_EQ(erased.json()["steps"]["outbox_file"]["lines"], 1) << erased.body;
  // The case, the appliance and the work order are still there, without her data.
  auto case_after = c.Get("/v1/cases/" + case_id, agent_);
  ASSERT_EQ(case_after.status, 200) << case_after.body;
  EXPECT_EQ(case_after.json()["person"], person);
  EXPECT_EQ(case_after.json()["type"], "inquiry");
  EXPECT_EQ(case_after.json()["fields"]["description"]["value"], "[erased]");
  auto asset_after = c.Get("/v1/assets/" + asset_id, agent_);
  ASSERT_EQ(asset_after.status, 200) << asset_after.body;
  EXPECT_EQ(asset_after.json()["location"], Json({{"region", "BY"}}));
  EXPECT_TRUE(asset_after.json()["owner"]["contact"].is_null()) << asset_after.body;
  auto order_after = c.Get("/v1/work-orders/" + work_order_id, agent_);
  ASSERT_EQ(order_after.status, 200) << order_after.body;
  EXPECT_EQ(order_after.json()["symptom"], "[erased]");
  const std::string sink_after = ReadFile(sink_file);
  EXPECT_NE(sink_after.find("\"erased\""), std::string::npos) << sink_after;
  for (const std::string& text : {case_after.body, asset_after.body, order_after.body, sink_after,
                                  c.Get("/v1/cases?person=" + person, agent_).body}) {
    for (const std::string& secret : {kAddress, std::string("anna.berger"), std::string("Berger"),
                                      std::string("Sendlinger"), std::string("18 Uhr")}) {
      EXPECT_EQ(Grep(text, secret), "") << text;
    }
  }
  EXPECT_EQ(c.Get("/v1/persons/" + person, analyst_).status, 404);
  auto search = c.Get("/v1/persons?q=" + kAddress, analyst_);
  EXPECT_TRUE(search.json()["results"].empty()) << search.body;
  search = c.Get("/v1/persons?q=Anna%20Berger", analyst_);
  EXPECT_EQ(search.body.find(person), std::string::npos) << search.body;
  auto rec = c.Get("/v1/records/" + record_id, analyst_);
  ASSERT_EQ(rec.status, 200);
  EXPECT_TRUE(rec.json()["fields"].empty()) << rec.body;
  auto events = c.Get("/v1/events?type=mail.inbound", analyst_);
  auto all_export = c.Get("/v1/exports/persons?recipient=strom-direkt&purpose=offers", admin_);
  ASSERT_EQ(all_export.status, 200);
  EXPECT_TRUE(all_export.json()["persons"].empty());
  EXPECT_EQ(c.Get("/v1/partner/persons/" + person + "?purpose=offers", insurer_).status, 404);
  std::string leaks_after = c.Get("/v1/privacy/leaks", analyst_).body;
  for (const std::string& secret : {kAddress, insurer_alias, power_alias}) {
    EXPECT_EQ(Grep(events.body, secret), "");
    EXPECT_EQ(Grep(leaks_after, secret), "");
    EXPECT_EQ(Grep(rec.body, secret), "");
  }
  // The audit trail says that it happened, and the chain is intact.
  std::string trail = AuditOf(c, person);
  for (const char* action :
       {"disclosure.refused", "disclosure", "consent.given", "consent.withdrawn", "leak.found",
        "person.access_report", "erasure"}) {
    EXPECT_NE(trail.find(std::string("\"") + action + "\""), std::string::npos) << action;
  }
  EXPECT_EQ(Grep(trail, kAddress), "");
  auto verified = c.Get("/v1/audit/verify", admin_);
  ASSERT_EQ(verified.status, 200);
  EXPECT_TRUE(verified.json()["ok"].get<bool>()) << verified.body;

  // No database file holds the address or an alias in clear, also after a clean shutdown.
  for (int round = 0; round < 2; ++round) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::string bytes = ReadFile(db_ + suffix);
      for (const std::string& secret :
           {kAddress, insurer_alias, power_alias, std::string("anna.berger"),
            std::string("Sendlinger"), std::string("Rueckruf nach 18 Uhr"),
            std::string("Trockner heizt nicht"), std::string("Lieferweg 9")}) {
        EXPECT_EQ(Grep(bytes, secret), "") << "found in rapport.db" << suffix << " round " << round;
      }
    }
    if (round == 0) server_->Terminate();
  }
  std::string output;
  EXPECT_EQ(RunRapport({"audit", "verify", "--db", db_}, &output), 0) << output;
  EXPECT_EQ(RunRapport({"retention", "run", "--db", db_}, &output), 0) << output;
}

// A webhook about a person is a hand-over like any other: the outbox asks the ledger first.
// Issue 7: a case handed to a partner's team is a disclosure when the partner reads it. Without
// a legal basis or consent for "case-handling" every partner read of it (the case, its view,
// the list, a change that answers with the case) is refused with the reason and recorded; with
// the partner's contract registered it goes through and the access report names the partner.
TEST_F(PrivacyHttpTest, APartnersCaseReadIsARecordedDisclosure) {
  server_.reset();
  const std::string partner = CreateToken(db_, "partner", "partner-a");
  const char* source = std::getenv("RAPPORT_SOURCE_DIR");
  server_ = std::make_unique<ServerProcess>(
      db_,
      std::vector<std::string>{
          "--clock", "manual", "--clock-start", "2026-03-01T09:00:00Z", "--cases",
          std::string(source ? source : RAPPORT_E2E_SOURCE_DIR) + "/examples/cases/cases.yaml"});
  ASSERT_TRUE(server_->ok()) << server_->startup_output();
  HttpClient c = server_->Client();
  Json rec = {{"source", "shop"},
              {"source_key", "C-77"},
              {"fields", {{"given_name", "Lena"}, {"family_name", "Fischer"}, {"city", "Köln"}}}};
  auto stored = c.Post("/v1/records", rec.dump(), agent_);
  ASSERT_EQ(stored.status, 201) << stored.body;
  std::string person = stored.json()["person"];
  Json open = {{"person", person},
               {"text", "Spülmaschine pumpt nicht ab"},
               {"team", "partner-a-service"},
               {"fields", {{"order_id", "O-4711"}}}};
  auto opened = c.Post("/v1/cases", open.dump(), agent_);
  ASSERT_EQ(opened.status, 201) << opened.body;
  std::string id = opened.json()["id"];

  for (const std::string path : {"/v1/cases/" + id, "/v1/cases/" + id + "/view"}) {
    auto r = c.Get(path, partner);
    EXPECT_EQ(r.status, 403) << path << " " << r.body;
    EXPECT_NE(r.body.find("no legal basis"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("O-4711"), std::string::npos) << r.body;
  }
  auto list = c.Get("/v1/cases", partner);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_TRUE(list.json()["cases"].empty()) << list.body;
  auto note = c.Post("/v1/cases/" + id + "/notes", R"({"text":"on my way"})", partner);
  EXPECT_EQ(note.status, 403) << note.body;
  EXPECT_EQ(c.Get("/v1/cases/" + id, agent_).body.find("on my way"), std::string::npos)
      << "a refused partner changes nothing";
  // A case the partner opens comes back to it: the same gate, and a refused one is not opened.
  Json own = {{"person", person},
              {"text", "Gerät tauschen"},
              {"team", "partner-a-service"},
              {"fields", {{"order_id", "O-4712"}}}};
  auto created = c.Post("/v1/cases", own.dump(), partner);
  EXPECT_EQ(created.status, 403) << created.body;
  EXPECT_NE(created.body.find("no legal basis"), std::string::npos) << created.body;
  Json bad = own;
  bad["fields"] = {{"shoe_size", "44"}};
  EXPECT_EQ(c.Post("/v1/cases", bad.dump(), partner).status, 400)
      << "checked before the gate, so not recorded as a hand-over";
  EXPECT_EQ(c.Get("/v1/cases?person=" + person, agent_).json()["cases"].size(), 1u)
      << "a refused partner opens nothing";
  Json refused = c.Get("/v1/persons/" + person + "/disclosures", analyst_).json()["disclosures"];
  ASSERT_EQ(refused.size(), 5u) << refused.dump();
  for (const auto& d : refused) {
    EXPECT_FALSE(d["allowed"].get<bool>());
    EXPECT_EQ(d["recipient"], "partner-a");
    EXPECT_EQ(d["purpose"], "case-handling");
  }

  ASSERT_EQ(Put(c, "/v1/privacy/recipients/partner-a",
                {{"legal_basis", "contract"}, {"purposes", {"case-handling"}}})
                .status,
            200);
  auto read = c.Get("/v1/cases/" + id, partner);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_NE(read.body.find("O-4711"), std::string::npos);
  EXPECT_EQ(c.Get("/v1/cases", partner).json()["cases"].size(), 1u);
  EXPECT_EQ(c.Post("/v1/cases/" + id + "/notes", R"({"text":"on my way"})", partner).status, 200);
  // A change its own checks refuse (a stale revision, a body without text) hands nothing over,
  // so it is not in the register.
  size_t recorded =
      c.Get("/v1/persons/" + person + "/disclosures", analyst_).json()["disclosures"].size();
  EXPECT_EQ(
      c.Post("/v1/cases/" + id + "/notes", R"({"text":"late","expected_revision":1})", partner)
          .status,
      409);
  EXPECT_EQ(c.Post("/v1/cases/" + id + "/notes", R"({})", partner).status, 400);
  EXPECT_EQ(c.Post("/v1/cases/" + id + "/state", R"({"state":"teleported"})", partner).status, 400);
  EXPECT_EQ(c.Get("/v1/persons/" + person + "/disclosures", analyst_).json()["disclosures"].size(),
            recorded);
  created = c.Post("/v1/cases", own.dump(), partner);
  ASSERT_EQ(created.status, 201) << created.body;
  Json all = c.Get("/v1/persons/" + person + "/disclosures", analyst_).json()["disclosures"];
  ASSERT_EQ(all.size(), 9u) << all.dump();
  EXPECT_EQ(all[4]["via"], "POST /v1/cases");
  EXPECT_FALSE(all[4]["allowed"].get<bool>());
  const Json& allowed = all[5];
  EXPECT_TRUE(allowed["allowed"].get<bool>());
  EXPECT_EQ(allowed["basis"], "contract");
  EXPECT_EQ(allowed["via"], "GET /v1/cases/{id}");
  EXPECT_EQ(allowed["fields"], Json({"case", "case.fields.order_id"}));
  EXPECT_EQ(all[8]["via"], "POST /v1/cases");
  EXPECT_TRUE(all[8]["allowed"].get<bool>());
  EXPECT_EQ(all[8]["fields"], Json({"case", "case.fields.order_id"}));
  auto report = c.Get("/v1/persons/" + person + "/access-report", agent_);
  ASSERT_EQ(report.status, 200) << report.body;
  ASSERT_EQ(report.json()["recipients"].size(), 1u) << report.body;
  EXPECT_EQ(report.json()["recipients"][0]["recipient"], "partner-a");
}

// Consents, aliases and the disclosure register are kept under the person id they were given
// for; when that person is merged into another, they are the survivor's (looked up through the
// merge's redirect), and when the merge is undone they go back with the restored person.
TEST_F(PrivacyHttpTest, ConsentsAliasesAndDisclosuresFollowAMergeAndGoBackOnUndo) {
  HttpClient c = server_->Client();
  auto person_of = [&](const std::string& key, const Json& fields) {
    Json rec = {{"source", "shop"}, {"source_key", key}, {"fields", fields}};
    auto r = c.Post("/v1/records", rec.dump(), agent_);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("person", "");
  };
  // Two persons the matcher keeps apart (different names), merged by hand below.
  std::string a = person_of(
      "M-1", {{"vorname", "Anna"}, {"nachname", "Berger"}, {"email", "anna.berger@example.org"}});
  std::string b = person_of(
      "M-2", {{"vorname", "Hanna"}, {"nachname", "Bergmann-Sattler"}, {"email", "hb@example.net"}});
  ASSERT_NE(a, b);
  std::string survivor = std::min(a, b), absorbed = std::max(a, b);
  Json consent = {{"purposes", {"offers"}},
                  {"recipients", {"versicherung-nord"}},
                  {"proof", {{"text_version", "v1"}, {"channel", "web form"}}}};
  auto given = c.Post("/v1/persons/" + absorbed + "/consents", consent.dump(), agent_);
  ASSERT_EQ(given.status, 201) << given.body;
  auto before = c.Get("/v1/partner/persons/" + absorbed + "?purpose=offers&fields=email", insurer_);
  ASSERT_EQ(before.status, 200) << before.body;
  std::string alias = before.json()["fields"]["email"];
  EXPECT_EQ(c.Get("/v1/partner/persons/" + survivor + "?purpose=offers", insurer_).status, 404)
      << "the survivor gave no consent yet";

  auto merged =
      c.Post("/v1/persons/" + survivor + "/merge", Json{{"other", absorbed}}.dump(), agent_);
  ASSERT_EQ(merged.status, 200) << merged.body;
  ASSERT_EQ(merged.json()["survivor"], survivor);
  auto consents = c.Get("/v1/persons/" + survivor + "/consents", analyst_).json()["consents"];
  ASSERT_EQ(consents.size(), 1u) << "the absorbed person's consent is the survivor's";
  auto read = c.Get("/v1/partner/persons/" + survivor + "?purpose=offers&fields=email", insurer_);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.json()["fields"]["email"].get<std::string>().find("+"),
            read.json()["fields"]["email"].get<std::string>().rfind("+"));
  Json history = c.Get("/v1/persons/" + survivor + "/disclosures", analyst_).json()["disclosures"];
  ASSERT_GE(history.size(), 3u) << history.dump();
  EXPECT_EQ(history[0]["person"], absorbed) << "the register keeps who it was given for";
  auto report = c.Get("/v1/persons/" + survivor + "/access-report", agent_).json();
  EXPECT_EQ(report["consents"].size(), 1u);
  bool has_alias = false;
  for (const auto& x : report["aliases"]) has_alias = has_alias || x["alias"] == alias;
  EXPECT_TRUE(has_alias) << report["aliases"].dump();
  std::string consent_id = given.json()["id"];

  // Undo: the consent, its alias and its disclosures go back to the restored person.
  auto undone =
      c.Post("/v1/merges/" + merged.json()["id"].get<std::string>() + "/undo", "", agent_);
  ASSERT_EQ(undone.status, 200) << undone.body;
  EXPECT_TRUE(c.Get("/v1/persons/" + survivor + "/consents", analyst_).json()["consents"].empty());
  EXPECT_EQ(c.Get("/v1/persons/" + absorbed + "/consents", analyst_).json()["consents"].size(), 1u);
  EXPECT_EQ(c.Get("/v1/partner/persons/" + survivor + "?purpose=offers", insurer_).status, 404);
  auto again = c.Get("/v1/partner/persons/" + absorbed + "?purpose=offers&fields=email", insurer_);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.json()["fields"]["email"], alias) << "the recipient keeps its one alias";
  // Merged again, the consent can be withdrawn through the survivor.
  auto redo =
      c.Post("/v1/persons/" + survivor + "/merge", Json{{"other", absorbed}}.dump(), agent_);
  ASSERT_EQ(redo.status, 200) << redo.body;
  EXPECT_EQ(c.Post("/v1/persons/" + survivor + "/consents/" + consent_id + "/withdraw", "", agent_)
                .status,
            200);
  EXPECT_EQ(c.Get("/v1/partner/persons/" + survivor + "?purpose=offers", insurer_).status, 404);
}

// A split moves records to a new person: what was given for those records goes with them. A
// consent given by the person the moved records describe (all its records moved) is the new
// person's; one given while both were one person stays where it was given and is named for
// review; an alias goes with its address; the register before the split is both persons'.
TEST_F(PrivacyHttpTest, ConsentsAndAliasesFollowTheRecordsOfASplit) {
  HttpClient c = server_->Client();
  auto record = [&](const std::string& key, const Json& fields) {
    Json rec = {{"source", "shop"}, {"source_key", key}, {"fields", fields}};
    auto r = c.Post("/v1/records", rec.dump(), agent_);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json();
  };
  Json anna = record(
      "S-1", {{"vorname", "Anna"}, {"nachname", "Berger"}, {"email", "anna.berger@example.org"}});
  Json hanna = record(
      "S-2", {{"vorname", "Hanna"}, {"nachname", "Bergmann-Sattler"}, {"email", "hb@example.net"}});
  const std::string anna_record = anna["id"], hanna_record = hanna["id"];
  auto consent_for = [&](const std::string& person) {
    Json consent = {{"purposes", {"offers"}},
                    {"recipients", {"versicherung-nord"}},
                    {"proof", {{"text_version", "v1"}, {"channel", "web form"}}}};
    auto given = c.Post("/v1/persons/" + person + "/consents", consent.dump(), agent_);
    EXPECT_EQ(given.status, 201) << given.body;
    return given.json().value("id", "");
  };
  const std::string annas = consent_for(anna["person"]);
  const std::string hannas = consent_for(hanna["person"]);
  auto read = [&](const std::string& person) {
    return c.Get("/v1/partner/persons/" + person + "?purpose=offers&fields=email", insurer_);
  };
  auto hanna_read = read(hanna["person"]);
  ASSERT_EQ(hanna_read.status, 200) << hanna_read.body;
  const std::string hanna_alias = hanna_read.json()["fields"]["email"];
  ASSERT_EQ(hanna_alias.rfind("hb+", 0), 0u) << hanna_alias;
  // Wrongly made one person, and a consent given for that one person.
  auto merged = c.Post("/v1/persons/" + anna["person"].get<std::string>() + "/merge",
                       Json{{"other", hanna["person"]}}.dump(), agent_);
  ASSERT_EQ(merged.status, 200) << merged.body;
  const std::string survivor = merged.json()["survivor"];
  const std::string both = consent_for(survivor);
  ASSERT_EQ(c.Get("/v1/persons/" + survivor + "/consents", analyst_).json()["consents"].size(), 3u);

  auto split = c.Post("/v1/persons/" + survivor + "/split",
                      Json{{"records", {hanna_record}}}.dump(), agent_);
  ASSERT_EQ(split.status, 200) << split.body;
  const std::string split_off = split.json()["new_person"];
  const Json followed = split.json()["privacy"];
  EXPECT_EQ(followed["consents_moved"], Json::array({hannas})) << split.body;
  ASSERT_EQ(followed["consents_kept"].size(), 1u) << split.body;
  EXPECT_EQ(followed["consents_kept"][0]["consent"], both);
  EXPECT_EQ(followed["aliases_moved"], Json::array({"versicherung-nord"}));

  auto consent_ids = [&](const std::string& person) {
    std::set<std::string> out;
    const Json listed = c.Get("/v1/persons/" + person + "/consents", analyst_).json();
    for (const auto& x : listed["consents"]) out.insert(x["id"].get<std::string>());
    return out;
  };
  EXPECT_EQ(consent_ids(split_off), std::set<std::string>{hannas});
  EXPECT_EQ(consent_ids(survivor), (std::set<std::string>{annas, both}));
  // The insurer still reaches Hanna through her own consent, under the alias it had.
  auto after = read(split_off);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.json()["fields"]["email"], hanna_alias);
  auto anna_after = read(survivor);
  ASSERT_EQ(anna_after.status, 200) << anna_after.body;
  EXPECT_EQ(anna_after.json()["fields"]["email"].get<std::string>().rfind("anna.berger+", 0), 0u);
  // Her access report names her alias and the hand-overs made before the split; Anna's no
  // longer names Hanna's alias.
  auto report = c.Get("/v1/persons/" + split_off + "/access-report", agent_).json();
  ASSERT_EQ(report["aliases"].size(), 1u) << report.dump();
  EXPECT_EQ(report["aliases"][0]["alias"], hanna_alias);
  bool before_split = false;
  for (const auto& d : report["disclosures"]) {
    before_split = before_split || d.value("split_from", "") == survivor;
  }
  EXPECT_TRUE(before_split) << report["disclosures"].dump();
  auto annas_report = c.Get("/v1/persons/" + survivor + "/access-report", agent_);
  EXPECT_EQ(annas_report.body.find(hanna_alias), std::string::npos);
  // Erasing Hanna erases her alias with her.
  auto erased = c.Post("/v1/persons/" + split_off + "/erasure", "{}", admin_);
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_EQ(erased.json()["steps"]["aliases"], 1);
  EXPECT_EQ(erased.json()["notify_recipients"], Json::array({"versicherung-nord"}));
}

TEST_F(PrivacyHttpTest, WebhookAboutAPersonIsNotSentWithoutCover) {
  HttpClient c = server_->Client();
  ASSERT_EQ(Put(c, "/v1/privacy/recipients/versicherung-nord",
                {{"endpoints",
                  {{{"url", "http://crm.versicherung-nord.example/"}, {"purpose", "offers"}}}}})
                .status,
            200);
  const char* yaml = R"(journey: lead-handover
version: 1
correlation: person_id
start:
  on: lead.qualified
events:
  lead.qualified: {keys: [person_id]}
  lead.closed: {keys: [person_id]}
steps:
  - name: qualified
    completed_by: lead.qualified
actions:
  - name: notify_insurer
    kind: webhook
    url: http://crm.versicherung-nord.example/leads
    requires: [lead.qualified]
end_states:
  - name: closed
    when: lead.closed
)";
  // Open until the lead is closed, which journey check calls a wait for ever: forced.
  auto deployed = c.Post("/v1/journeys?force=true", yaml, admin_, "application/yaml");
  ASSERT_EQ(deployed.status, 201) << deployed.body;
  auto person_of = [&](const std::string& key, const std::string& name) {
    Json record = {
        {"source", "portal-vergleich"},
        {"source_key", key},
        {"fields", {{"vorname", name}, {"nachname", "Lead"}, {"email", key + "@example.org"}}}};
    auto r = c.Post("/v1/records", record.dump(), agent_);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json()["person"].get<std::string>();
  };
  const std::string refused = person_of("lead-1", "Rita");
  const std::string allowed = person_of("lead-2", "Alma");
  Json consent = {{"purposes", {"offers"}},
                  {"recipients", {"versicherung-nord"}},
                  {"proof", {{"text_version", "portal-optin-v3"}, {"channel", "web form"}}}};
  ASSERT_EQ(c.Post("/v1/persons/" + allowed + "/consents", consent.dump(), agent_).status, 201);
  for (const auto& p : {refused, allowed}) {
    Json e = {{"id", "q-" + p},
              {"type", "lead.qualified"},
              {"keys", {{"person_id", p}}},
              {"occurred_at", "2026-03-01T09:00:00Z"}};
    ASSERT_EQ(c.Post("/v1/events", e.dump(), agent_).status, 201);
  }
  // Moving the clock applies the events and delivers what is due before it answers.
  ASSERT_EQ(c.Post("/v1/admin/clock", R"({"advance":"1m"})", admin_).status, 200);
  std::string sink = ReadFile(db_ + ".outbox.ndjson");
  EXPECT_NE(sink.find("lead-handover/" + allowed), std::string::npos) << sink;
  EXPECT_EQ(sink.find(refused), std::string::npos) << "a refused webhook was sent: " << sink;
  auto reg = c.Get("/v1/persons/" + refused + "/disclosures", analyst_).json();
  ASSERT_EQ(reg["disclosures"].size(), 1u) << reg.dump();
  EXPECT_EQ(reg["disclosures"][0]["via"], "webhook");
  EXPECT_EQ(reg["disclosures"][0]["recipient"], "versicherung-nord");
  EXPECT_FALSE(reg["disclosures"][0]["allowed"].get<bool>());
  reg = c.Get("/v1/persons/" + allowed + "/disclosures", analyst_).json();
  ASSERT_EQ(reg["disclosures"].size(), 1u) << reg.dump();
  EXPECT_TRUE(reg["disclosures"][0]["allowed"].get<bool>());
  // Refused for good: a later delivery round does not try it again.
  ASSERT_EQ(c.Post("/v1/admin/clock", R"({"advance":"2h"})", admin_).status, 200);
  EXPECT_EQ(c.Get("/v1/persons/" + refused + "/disclosures", analyst_).json()["disclosures"].size(),
            1u);
}

}  // namespace
}  // namespace rapport::testing
