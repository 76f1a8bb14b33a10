// The ledger's invariants (ledger.h), each on an in-memory store and a manual clock.
#include "privacy/ledger.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "store/sqlite/sqlite_store.h"

namespace rapport::privacy {
namespace {

auth::Principal Admin() {
  auth::Principal p;
  p.token_id = "tok_admin";
  p.role = auth::Role::kAdmin;
  p.name = "dpo";
  return p;
}

class LedgerTest : public ::testing::Test {
 protected:
  LedgerTest() {
    auto store = store::OpenSqliteStore({.path = ":memory:"});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    audit_ = std::make_unique<AuditLog>(*store_, clock_);
    profiles_ = std::make_unique<profiles::ProfileService>(*store_, clock_, ids_);
    ledger_ = std::make_unique<Ledger>(*store_, clock_, ids_, *audit_, *profiles_);
  }

  // Stores one record, resolves it and returns its person.
  std::string AddPerson(const std::string& source, const std::string& key, Fields fields) {
    SourceRecord r;
    r.id = ids_.Next("rec");
    r.source = source;
    r.source_key = key;
    r.fields = std::move(fields);
    r.received_at = clock_.Now();
    auto puts = store_->PutRecords({r});
    EXPECT_TRUE(puts.ok());
    EXPECT_TRUE(profiles_->Resolve({r}, *puts).ok());
    EXPECT_TRUE(ledger_->OnRecordsStored({r}).ok());
    last_record_ = (*puts)[0].id;
    return *profiles_->PersonOfRecord(last_record_);
  }

  // A comparison portal whose records come with consent to offers.
  void RegisterPortalForOffers() {
    ASSERT_TRUE(
        ledger_
            ->PutSource(
                "portal",
                {{"purposes", {"offers"}}, {"legal_basis", "consent"}, {"consent_ref", "v1"}},
                Admin())
            .ok());
  }
  std::string Anna() {
    return AddPerson("portal", "PV-1",
                     {{"vorname", "Anna"}, {"nachname", "Berger"}, {"email", "anna@example.org"}});
  }

  void Consent(const std::string& person, Json purposes, Json recipients) {
    auto c = ledger_->GiveConsent(person,
                                  {{"purposes", purposes},
                                   {"recipients", recipients},
                                   {"proof", {{"text_version", "v1"}, {"channel", "web"}}}},
                                  Admin());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
  }

  bool Allowed(const std::string& person, const std::string& recipient,
               const std::string& purpose) {
    auto d = ledger_->Decide({person, recipient, purpose, {}, "api"}, Admin());
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() && d->allowed;
  }

  // Inbound mail as the leak scan reads it: header values of `from` and `to`.
  void Mail(const std::string& id, const std::string& from, const std::string& to) {
    Event e;
    e.id = id;
    e.type = "mail.inbound";
    e.occurred_at = e.received_at = clock_.Now();
    e.payload = {{"from", from}, {"to", to}};
    ASSERT_TRUE(store_->AppendEvents({e}).ok());
  }

  std::string AuditText(const std::string& subject) {
    auto entries = audit_->List(subject, 0, 1000);
    std::string text;
    for (const auto& e : *entries) text += e.entry.action + " " + e.entry.detail.dump() + "\n";
    return text;
  }

  ManualClock clock_{*ParseTime("2026-03-01T09:00:00Z")};
  UlidSource ids_{clock_, 42};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<profiles::ProfileService> profiles_;
  std::unique_ptr<Ledger> ledger_;
  std::string last_record_;
};

TEST_F(LedgerTest, ProvenanceIsTheSourceVersionInEffectWhenReceivedAndTheRecordOverridesIt) {
  ASSERT_TRUE(ledger_
                  ->PutSource("portal",
                              {{"channel", "web form"},
                               {"purposes", {"offers"}},
                               {"legal_basis", "consent"},
                               {"consent_ref", "optin-v1"}},
                              Admin())
                  .ok());
  Time before = clock_.Now();
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(24)).ok());
  ASSERT_TRUE(ledger_
                  ->PutSource("portal",
                              {{"channel", "app"},
                               {"purposes", {"newsletter"}},
                               {"legal_basis", "consent"},
                               {"consent_ref", "optin-v2"}},
                              Admin())
                  .ok());
  auto old = ledger_->Provenance("portal", before, {});
  ASSERT_TRUE(old.ok());
  EXPECT_EQ((*old)["purposes"], Json::array({"offers"})) << "a new version rewrote the past";
  EXPECT_EQ((*old)["consent_ref"], "optin-v1");
  auto now = ledger_->Provenance("portal", clock_.Now(), {});
  EXPECT_EQ((*now)["channel"], "app");
  auto overridden = ledger_->Provenance("portal", clock_.Now(),
                                        {{"provenance.purpose", "offers, service"},
                                         {"provenance.legal_basis", "contract"},
                                         {"provenance.collected_at", "2026-02-01T10:00:00Z"}});
  EXPECT_EQ((*overridden)["purposes"], Json::array({"offers", "service"}));
  EXPECT_EQ((*overridden)["legal_basis"], "contract");
  EXPECT_EQ((*overridden)["collected_at"], "2026-02-01T10:00:00Z");
}

TEST_F(LedgerTest, RecordsFromAnUnknownSourceListItAsUnregistered) {
  AddPerson("crm-import", "C-1", {{"vorname", "Otto"}, {"nachname", "Meier"}});
  auto sources = ledger_->ListSources();
  ASSERT_TRUE(sources.ok());
  ASSERT_EQ((*sources)["sources"].size(), 1u);
  EXPECT_EQ((*sources)["sources"][0]["name"], "crm-import");
  EXPECT_FALSE((*sources)["sources"][0]["versions"][0]["registered"].get<bool>());
  auto p = ledger_->Provenance("crm-import", clock_.Now(), {});
  EXPECT_TRUE((*p)["legal_basis"].is_null());
}

TEST_F(LedgerTest, DisclosureNeedsAConsentForPurposeAndRecipientOrALegalBasis) {
  std::string anna = Anna();
  EXPECT_FALSE(Allowed(anna, "insurer", "offers"));
  Consent(anna, {"offers"}, {"insurer"});
  EXPECT_TRUE(Allowed(anna, "insurer", "offers"));
  EXPECT_FALSE(Allowed(anna, "insurer", "credit-scoring")) << "another purpose";
  EXPECT_FALSE(Allowed(anna, "utility", "offers")) << "another recipient";
  Consent(anna, {"newsletter"}, {"*"});
  EXPECT_TRUE(Allowed(anna, "utility", "newsletter")) << "any recipient for that purpose";
  ASSERT_TRUE(ledger_
                  ->PutRecipient("parcel-service",
                                 {{"legal_basis", "contract"}, {"purposes", {"delivery"}}}, Admin())
                  .ok());
  EXPECT_TRUE(Allowed(anna, "parcel-service", "delivery"));
  EXPECT_FALSE(Allowed(anna, "parcel-service", "offers"));

  // Withdrawn: refused again; the consent keeps its history.
  auto consents = ledger_->ListConsents(anna);
  std::string first = (*consents)["consents"][0]["id"];
  auto withdrawn = ledger_->WithdrawConsent(anna, first, Admin());
  ASSERT_TRUE(withdrawn.ok());
  EXPECT_EQ((*withdrawn)["history"].size(), 2u);
  EXPECT_EQ(ledger_->WithdrawConsent(anna, first, Admin()).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Allowed(anna, "insurer", "offers"));

  // Every decision is in the register and the audit log.
  auto reg = ledger_->ListDisclosures(anna);
  EXPECT_EQ((*reg)["disclosures"].size(), 8u);
  std::string trail = AuditText(anna);
  EXPECT_NE(trail.find("disclosure.refused"), std::string::npos);
  EXPECT_NE(trail.find("consent.withdrawn"), std::string::npos);
  EXPECT_TRUE(audit_->Verify()->ok);
}

TEST_F(LedgerTest, RefusedDisclosureHandsOverNothing) {
  std::string anna = Anna();
  auto read = ledger_->Disclose({anna, "insurer", "offers", {}, "api"}, Admin());
  ASSERT_EQ(read.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(read.status().message().find("anna@"), std::string::npos);
  auto docs = store_->ListDocuments("privacy-alias", "", "", 10);
  EXPECT_TRUE(docs->empty()) << "no alias is issued for a refused hand-over";
}

TEST_F(LedgerTest, AnExportNamingAnUnknownPersonRecordsNothing) {
  std::string anna = Anna();
  Consent(anna, {"offers"}, {"insurer"});
  auto out = ledger_->Export("insurer", "offers", {"email"}, {anna, "per_unknown"}, Admin());
  ASSERT_EQ(out.status().code(), StatusCode::kNotFound);
  EXPECT_NE(out.status().message().find("per_unknown"), std::string::npos);
  EXPECT_EQ(out.status().where(), "person");
  EXPECT_TRUE((*ledger_->ListDisclosures(anna))["disclosures"].empty())
      << "anna was not handed over, so the register must not say she was";
  EXPECT_TRUE(store_->ListDocuments("privacy-alias", "", "", 10)->empty());
  // With only known ids the export goes through and is recorded.
  auto ok = ledger_->Export("insurer", "offers", {"email"}, {anna}, Admin());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ledger_->ListDisclosures(anna))["disclosures"].size(), 1u);
}

TEST_F(LedgerTest, APartnerReadGoesToTheTokensOrganisationWithTheDataItNames) {
  std::string anna = Anna();
  auth::Principal partner;
  partner.token_id = "tok_p";
  partner.role = auth::Role::kPartner;
  partner.org = "repair-co";
  // Nothing covers it: refused, recorded, nothing handed over.
  auto refused = ledger_->PartnerRead(
      {anna, "someone-else", kServiceVisitPurpose, {"surname"}, "test", {"service.history"}},
      partner);
  ASSERT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  auto reg = *ledger_->ListDisclosures(anna);
  ASSERT_EQ(reg["disclosures"].size(), 1u);
  EXPECT_EQ(reg["disclosures"][0]["recipient"], "repair-co") << "the token's, not the request's";
  EXPECT_FALSE(reg["disclosures"][0]["allowed"].get<bool>());

  ASSERT_TRUE(ledger_
                  ->PutRecipient("repair-co",
                                 {{"legal_basis", "contract"}, {"purposes", {"service-visit"}}},
                                 Admin())
                  .ok());
  auto read = ledger_->PartnerRead(
      {anna, "", kServiceVisitPurpose, {"surname", "email"}, "test", {"service.history"}}, partner);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ((*read)["fields"]["surname"], "Berger");
  EXPECT_NE((*read)["fields"]["email"], "anna@example.org") << "the partner's own alias";
  EXPECT_EQ((*read)["basis"], "contract");
  reg = *ledger_->ListDisclosures(anna);
  ASSERT_EQ(reg["disclosures"].size(), 2u);
  const Json& allowed = reg["disclosures"][1];
  EXPECT_TRUE(allowed["allowed"].get<bool>());
  EXPECT_EQ(allowed["fields"], Json({"email", "surname", "service.history"}));
  EXPECT_EQ(allowed["purpose"], "service-visit");

  // Only data the ledger does not hold: no golden value, no alias, still recorded.
  auto history = ledger_->PartnerRead(
      {anna, "", kServiceVisitPurpose, {}, "test", {"service.history"}}, partner);
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE((*history)["fields"].empty());
  EXPECT_EQ((*ledger_->ListDisclosures(anna))["disclosures"][2]["fields"],
            Json({"service.history"}));

  partner.org = "";
  EXPECT_EQ(
      ledger_->PartnerRead({anna, "", kServiceVisitPurpose, {}, "test"}, partner).status().code(),
      StatusCode::kPermissionDenied);
}

TEST_F(LedgerTest, EachRecipientGetsItsOwnStableAlias) {
  std::string anna = Anna();
  Consent(anna, {"offers"}, {"insurer", "utility"});
  auto a1 = ledger_->Disclose({anna, "insurer", "offers", {"email"}, "api"}, Admin());
  auto a2 = ledger_->Disclose({anna, "insurer", "offers", {"email", "given_name"}, "api"}, Admin());
  auto b = ledger_->Export("utility", "offers", {"email"}, {anna}, Admin());
  ASSERT_TRUE(a1.ok() && a2.ok() && b.ok());
  std::string alias = (*a1)["fields"]["email"];
  EXPECT_EQ(alias.rfind("anna+", 0), 0u) << alias;
  EXPECT_NE(alias.find("@example.org"), std::string::npos) << "plus-addressing on her domain";
  EXPECT_EQ((*a2)["fields"]["email"], alias);
  EXPECT_EQ((*a2)["fields"]["given_name"], "Anna");
  EXPECT_FALSE((*a1)["fields"].contains("given_name")) << "only the fields asked for";
  EXPECT_NE((*b)["persons"][0]["fields"]["email"], alias);
}

TEST_F(LedgerTest, MailToAnAliasFromOutsideItsRecipientIsOneLeakNamingTheRecipient) {
  std::string anna = Anna();
  ASSERT_TRUE(
      ledger_->PutRecipient("insurer", {{"mail_domains", {"insurer.example"}}}, Admin()).ok());
  Consent(anna, {"offers"}, {"insurer"});
  std::string alias = (*ledger_->Disclose({anna, "insurer", "offers", {"email"}, "api"},
                                          Admin()))["fields"]["email"];
  Mail("m1", "news@mail.insurer.example", alias);              // the recipient's own subdomain
  Mail("m2", "win@spam.example", "someone-else@example.org");  // not an alias of ours
  Mail("m3", "win@spam.example", alias);
  EXPECT_EQ(*ledger_->ScanInboundMail(), 1u);
  EXPECT_EQ(*ledger_->ScanInboundMail(), 0u) << "each mail is looked at once";
  auto leaks = ledger_->ListLeaks();
  ASSERT_EQ((*leaks)["leaks"].size(), 1u);
  EXPECT_EQ((*leaks)["leaks"][0]["recipient"], "insurer");
  EXPECT_EQ((*leaks)["leaks"][0]["person"], anna);
  EXPECT_EQ((*leaks)["leaks"][0]["event"], "m3");
  EXPECT_NE(AuditText(anna).find("leak.found"), std::string::npos);
}

TEST_F(LedgerTest, LeakScanReadsHeadersAsMailersWriteThem) {
  std::string anna = Anna();
  ASSERT_TRUE(
      ledger_->PutRecipient("stadtwerke-a", {{"mail_domains", {"stadtwerke-a.de"}}}, Admin()).ok());
  ASSERT_TRUE(
      ledger_->PutRecipient("insurer", {{"mail_domains", {"insurer.example"}}}, Admin()).ok());
  Consent(anna, {"offers"}, {"stadtwerke-a", "insurer"});
  std::string to_utility = (*ledger_->Disclose({anna, "stadtwerke-a", "offers", {"email"}, "api"},
                                               Admin()))["fields"]["email"];
  std::string to_insurer = (*ledger_->Disclose({anna, "insurer", "offers", {"email"}, "api"},
                                               Admin()))["fields"]["email"];
  std::string shouted = to_insurer;
  for (auto& c : shouted) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // The legitimate recipient writing to its own alias, with a display name: not a leak.
  Mail("own", "Stadtwerke A <angebote@stadtwerke-a.de>", "Anna Muster <" + to_utility + ">");
  // A list broker writing to both aliases at once, one of them in capitals: two findings.
  Mail("two", "\"Adressverlag, Werbung\" <info@adressverlag.de> (Newsletter)",
       "<" + to_utility + ">, Anna <" + shouted + ">, someone@else.example");
  Mail("junk", "no address here", to_utility);  // unreadable: skipped, the scan goes on
  Mail("one", "win@spam.example", "Kunden: " + to_insurer + ";");
  EXPECT_EQ(*ledger_->ScanInboundMail(), 3u);
  auto leaks = (*ledger_->ListLeaks())["leaks"];
  ASSERT_EQ(leaks.size(), 3u) << leaks.dump();
  std::map<std::string, Json> by_id;
  for (const auto& l : leaks) by_id[l["id"]] = l;
  ASSERT_TRUE(by_id.count("leak~two") && by_id.count("leak~two~2") && by_id.count("leak~one"))
      << leaks.dump();
  EXPECT_EQ(by_id["leak~two"]["recipient"], "stadtwerke-a");
  EXPECT_EQ(by_id["leak~two"]["sender_domain"], "adressverlag.de");
  EXPECT_EQ(by_id["leak~two"]["sender"], "info@adressverlag.de");
  EXPECT_EQ(by_id["leak~two~2"]["recipient"], "insurer");
  EXPECT_EQ(by_id["leak~two~2"]["alias"], to_insurer);
  EXPECT_EQ(by_id["leak~one"]["sender_domain"], "spam.example");
}

TEST_F(LedgerTest, WebhookAboutAPersonNeedsTheSameCoverAsAnyDisclosure) {
  std::string anna = Anna();
  Json action = {{"kind", "webhook"},       {"url", "http://crm.partner.example/hooks/lead"},
                 {"journey", "onboarding"}, {"action", "notify_partner"},
                 {"instance_key", anna},    {"params", {{"plan", "gold"}}}};
  EXPECT_EQ(ledger_->CheckWebhook(action).code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(
      ledger_
          ->PutRecipient(
              "crm-partner",
              {{"legal_basis", "contract"},
               {"purposes", {"onboarding"}},
               {"endpoints",
                {{{"url", "http://crm.partner.example/hooks/"}, {"purpose", "onboarding"}}}}},
              Admin())
          .ok());
  EXPECT_TRUE(ledger_->CheckWebhook(action).ok());
  auto reg = ledger_->ListDisclosures(anna);
  ASSERT_EQ((*reg)["disclosures"].size(), 2u);
  EXPECT_EQ((*reg)["disclosures"][1]["recipient"], "crm-partner");
  EXPECT_EQ((*reg)["disclosures"][1]["via"], "webhook");
  // A key that names no person (an order number) carries no personal data the ledger holds.
  action["instance_key"] = "order-77";
  action["url"] = "http://elsewhere.example/";
  EXPECT_TRUE(ledger_->CheckWebhook(action).ok());
  // An order-keyed journey whose events name the person (the action's subject) is checked as
  // that person's disclosure: refused here, and in her register.
  action["subject"] = anna;
  EXPECT_EQ(ledger_->CheckWebhook(action).code(), StatusCode::kPermissionDenied);
  reg = ledger_->ListDisclosures(anna);
  ASSERT_EQ((*reg)["disclosures"].size(), 3u);
  EXPECT_EQ((*reg)["disclosures"][2]["recipient"], "elsewhere.example");
  EXPECT_FALSE((*reg)["disclosures"][2]["allowed"].get<bool>());
  action["url"] = "http://crm.partner.example/hooks/order";
  EXPECT_TRUE(ledger_->CheckWebhook(action).ok()) << "the partner's contract covers it";
  // A subject no profile knows (a customer key) leaves nothing to check.
  action["subject"] = "customer-4711";
  action["url"] = "http://elsewhere.example/";
  EXPECT_TRUE(ledger_->CheckWebhook(action).ok());
}

TEST_F(LedgerTest, RetentionErasesOnlyPersonsPastEveryPurposeOfTheirData) {
  RegisterPortalForOffers();
  ASSERT_TRUE(ledger_
                  ->PutSource("shop",
                              {{"purposes", {"offers", "invoicing"}}, {"legal_basis", "contract"}},
                              Admin())
                  .ok());
  ASSERT_TRUE(ledger_->PutRetention("offers", {{"days", 30}}, Admin()).ok());
  std::string anna = Anna();
  std::string bernd = AddPerson("shop", "S-1", {{"vorname", "Bernd"}, {"nachname", "Zoller"}});
  std::string clara = AddPerson("portal", "PV-2", {{"vorname", "Clara"}, {"nachname", "Yilmaz"}});
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(24 * 20)).ok());
  Consent(clara, {"offers"}, {"insurer"});  // renews the period for her
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(24 * 11)).ok());
  auto run = ledger_->RunRetention(SystemActor());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ((*run)["erased"].size(), 1u) << run->dump();
  EXPECT_EQ((*run)["erased"][0]["person"], anna);
  EXPECT_EQ(profiles_->GetPerson(anna).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(profiles_->GetPerson(bernd).ok()) << "invoicing has no retention rule";
  EXPECT_TRUE(profiles_->GetPerson(clara).ok()) << "her later consent restarted the period";
}

TEST_F(LedgerTest, RetentionJobRunsOnceADayByTheClock) {
  ASSERT_TRUE(ledger_->PutRetention("offers", {{"days", 1}}, Admin()).ok());
  auto first = ledger_->RunRetentionIfDue();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->is_null());
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(23)).ok());
  EXPECT_TRUE(ledger_->RunRetentionIfDue()->is_null());
  // Another ledger on the same database (a restart) knows the last run.
  Ledger restarted(*store_, clock_, ids_, *audit_, *profiles_);
  EXPECT_TRUE(restarted.RunRetentionIfDue()->is_null());
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(1)).ok());
  EXPECT_FALSE(restarted.RunRetentionIfDue()->is_null());
}

TEST_F(LedgerTest, ErasureLeavesNoAddressOrAliasAndKeepsARecordOfItself) {
  std::string anna = Anna();
  std::string record = last_record_;
  Consent(anna, {"offers"}, {"insurer"});
  std::string alias = (*ledger_->Disclose({anna, "insurer", "offers", {"email"}, "api"},
                                          Admin()))["fields"]["email"];
  Event e;
  e.id = "order-1";
  e.type = "order.placed";
  e.subject = "PV-1";
  e.occurred_at = e.received_at = clock_.Now();
  e.payload = {{"name", "Anna Berger"}, {"confirmation_to", "anna@example.org"}};
  ASSERT_TRUE(store_->AppendEvents({e}).ok());
  // More events than the person view lists (its latest 50 per id): order-1 is not among them.
  std::vector<Event> visits;
  for (int i = 0; i < 80; ++i) {
    Event v = e;
    v.id = "visit-" + std::to_string(i);
    v.payload = {{"name", "Anna Berger"}};
    visits.push_back(v);
  }
  ASSERT_TRUE(store_->AppendEvents(visits).ok());
  auto erased = ledger_->Erase(anna, Admin(), "Art. 17");
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ((*erased)["notify_recipients"], Json::array({"insurer"}));
  EXPECT_TRUE(store_->GetRecord(record)->fields.empty());
  EXPECT_EQ(store_->GetEvent("order-1")->payload, Json::object());
  EXPECT_EQ(store_->GetEvent("visit-0")->payload, Json::object());
  EXPECT_EQ(store_->GetEvent("visit-79")->payload, Json::object());
  EXPECT_EQ(profiles_->GetPerson(anna).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE((*profiles_->Search("anna@example.org"))["results"].empty());
  EXPECT_TRUE(store_->ListDocuments("privacy-alias", "", "", 10)->empty());
  auto kept = store_->ListDocuments("privacy-erasure", "", "", 10);
  ASSERT_EQ(kept->size(), 1u);
  for (const std::string& secret : {std::string("anna@example.org"), alias}) {
    EXPECT_EQ((*kept)[0].body.find(secret), std::string::npos);
    EXPECT_EQ(AuditText(anna).find(secret), std::string::npos);
  }
  EXPECT_NE(AuditText(anna).find("erasure"), std::string::npos);
  EXPECT_EQ(ledger_->Erase(anna, Admin(), "again").status().code(), StatusCode::kNotFound);
}

// A data subject request and a webhook name the person as the sending system knows her
// ("portal:PV-1", her e-mail address); a bare key that two persons have names neither, so the
// erasure of one leaves the other's events under it alone.
TEST_F(LedgerTest, RequestsAndWebhooksFindThePersonByAnySubjectButNotByAnotherPersonsKey) {
  std::string anna = Anna();
  std::string bernd = AddPerson(
      "crm", "PV-1", {{"vorname", "Bernd"}, {"nachname", "Kurz"}, {"email", "bernd@example.org"}});
  ASSERT_NE(anna, bernd);
  auto event = [&](std::string id, std::string subject, Json payload) {
    Event e;
    e.id = std::move(id);
    e.type = "order.placed";
    e.subject = std::move(subject);
    e.occurred_at = e.received_at = clock_.Now();
    e.payload = std::move(payload);
    return e;
  };
  ASSERT_TRUE(store_
                  ->AppendEvents({event("o-anna", "portal:PV-1", {{"name", "Anna Berger"}}),
                                  event("o-shared-key", "PV-1", {{"name", "Bernd Kurz"}}),
                                  event("o-mail", "ANNA@example.org", {{"name", "Anna B."}})})
                  .ok());

  auto report = ledger_->AccessReport("portal:PV-1", Admin());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ((*report)["person"], anna);
  EXPECT_EQ(ledger_->AccessReport("PV-1", Admin()).status().code(), StatusCode::kNotFound)
      << "two persons have the key PV-1";

  Json webhook = {{"kind", "webhook"},
                  {"url", "http://elsewhere.example/"},
                  {"journey", "orders"},
                  {"action", "notify"},
                  {"subject", "portal:PV-1"}};
  EXPECT_EQ(ledger_->CheckWebhook(webhook).code(), StatusCode::kPermissionDenied)
      << "a webhook about her is checked whatever form names her";

  auto erased = ledger_->Erase("anna@example.org", Admin(), "Art. 17");
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(profiles_->GetPerson(anna).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetEvent("o-anna")->payload, Json::object());
  EXPECT_EQ(store_->GetEvent("o-mail")->subject, "[erased]") << "found ignoring case";
  EXPECT_EQ(store_->GetEvent("o-shared-key")->payload["name"], "Bernd Kurz")
      << "PV-1 is also Bernd's key: his event stays";
  EXPECT_TRUE(profiles_->GetPerson(bernd).ok());
}

// The modules that keep copies of a person's data (cases, service, the outbox file) erase
// them as steps of the one erasure: each gets the person's ids and identifying values, may
// hand Store::Erase what only it can change, and its answer is kept in the erasure record.
TEST_F(LedgerTest, ErasureStepsGetThePersonsIdsAndAddressesAndTheirAnswerIsRecorded) {
  std::string anna = Anna();
  Consent(anna, {"offers"}, {"insurer"});
  std::string alias = (*ledger_->Disclose({anna, "insurer", "offers", {"email"}, "api"},
                                          Admin()))["fields"]["email"];
  store::WriteBatch b;
  b.append.push_back(
      {"case-timeline", "case_1", "{\"text\":\"Anna: call me at six\"}", clock_.Now()});
  ASSERT_TRUE(store_->Write(b).ok());
  int64_t seq = (*store_->ReadLog("case-timeline", "case_1", 0, 10))[0].seq;
  // More orders than the person view lists (its latest 50): the steps get all of them.
  std::vector<Event> orders;
  for (int i = 0; i < 60; ++i) {
    Event o;
    o.id = "old-order-" + std::to_string(i);
    o.type = "order.placed";
    o.subject = anna;
    o.occurred_at = o.received_at = clock_.Now();
    orders.push_back(o);
  }
  ASSERT_TRUE(store_->AppendEvents(orders).ok());
  ErasureScope seen;
  ledger_->AddErasureStep("cases", [&](const ErasureScope& scope, store::Erasure& e) {
    seen = scope;
    e.log_bodies.emplace_back(seq, "{\"text\":\"[erased]\"}");
    return Result<Json>(Json{{"cases", 1}});
  });
  auto erased = ledger_->Erase(anna, Admin(), "Art. 17");
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(seen.person, anna);
  EXPECT_EQ(seen.ids, std::vector<std::string>{anna});
  EXPECT_EQ(seen.erasure, (*erased)["id"].get<std::string>());
  for (const char* order : {"old-order-0", "old-order-59"}) {
    EXPECT_TRUE(std::binary_search(seen.events.begin(), seen.events.end(), order)) << order;
  }
  for (const std::string& needle : {std::string("anna@example.org"), alias}) {
    EXPECT_NE(std::find(seen.needles.begin(), seen.needles.end(), needle), seen.needles.end())
        << needle;
  }
  EXPECT_EQ((*erased)["steps"]["cases"], Json({{"cases", 1}}));
  EXPECT_EQ((*erased)["steps"]["aliases"], 1);
  EXPECT_EQ((*erased)["changed"]["log_lines"], 1);
  EXPECT_FALSE(erased->contains("incomplete"));
  EXPECT_EQ((*store_->ReadLog("case-timeline", "case_1", 0, 10))[0].body,
            "{\"text\":\"[erased]\"}");
}

// A store whose Erase fails, to see what the ledger does when a part of an erasure fails after
// the person is already gone from profiles.
class EraseFailsStore : public store::Store {
 public:
  explicit EraseFailsStore(store::Store& inner) : s_(inner) {}
  Result<std::vector<store::RecordPut>> PutRecords(const std::vector<SourceRecord>& r) override {
    return s_.PutRecords(r);
  }
  Result<SourceRecord> GetRecord(std::string_view id) override { return s_.GetRecord(id); }
  Result<std::vector<SourceRecord>> GetRecordsBySourceKey(std::string_view source,
                                                          std::string_view key) override {
    return s_.GetRecordsBySourceKey(source, key);
  }
  Result<std::vector<store::EventAppend>> AppendEvents(const std::vector<Event>& e) override {
    return s_.AppendEvents(e);
  }
  Result<Event> GetEvent(std::string_view id) override { return s_.GetEvent(id); }
  Result<store::EventPage> ListEvents(const store::EventQuery& q) override {
    return s_.ListEvents(q);
  }
  Status PutToken(const store::TokenRecord& t) override { return s_.PutToken(t); }
  Result<store::TokenRecord> GetToken(std::string_view id) override { return s_.GetToken(id); }
  Result<std::vector<store::TokenRecord>> ListTokens() override { return s_.ListTokens(); }
  Result<int> RevokeTokensNamed(std::string_view name, Time at) override {
    return s_.RevokeTokensNamed(name, at);
  }
  Status RevokeToken(std::string_view id, Time at) override { return s_.RevokeToken(id, at); }
  Result<std::optional<std::string>> GetSetting(std::string_view key) override {
    return s_.GetSetting(key);
  }
  Status PutSetting(std::string_view key, std::string_view value) override {
    return s_.PutSetting(key, value);
  }
  Status Write(const store::WriteBatch& b) override { return s_.Write(b); }
  Result<std::optional<store::Document>> GetDocument(std::string_view kind,
                                                     std::string_view id) override {
    return s_.GetDocument(kind, id);
  }
  Result<std::vector<store::Document>> ListDocuments(std::string_view kind, std::string_view prefix,
                                                     std::string_view after, int limit) override {
    return s_.ListDocuments(kind, prefix, after, limit);
  }
  Result<std::vector<store::QueueItem>> DueItems(std::string_view q, Time now, int limit) override {
    return s_.DueItems(q, now, limit);
  }
  Result<std::vector<store::QueueItem>> ClaimDue(std::string_view q, Time now, Time until,
                                                 int limit, std::string_view claimer) override {
    return s_.ClaimDue(q, now, until, limit, claimer);
  }
  Result<int> RenewClaims(std::string_view q, std::string_view claimer, Time until) override {
    return s_.RenewClaims(q, claimer, until);
  }
  Result<int> ReleaseClaims(std::string_view q, std::string_view claimer, Time now) override {
    return s_.ReleaseClaims(q, claimer, now);
  }
  Result<std::optional<Time>> NextDue(std::string_view q) override { return s_.NextDue(q); }
  Result<std::vector<store::LogLine>> ReadLog(std::string_view stream, std::string_view key,
                                              int64_t after, int limit) override {
    return s_.ReadLog(stream, key, after, limit);
  }
  Result<store::ErasureCounts> Erase(const store::Erasure&) override {
    return Unavailable("disk full");
  }
  Result<store::StoreStats> Stats() override { return s_.Stats(); }
  std::string_view Backend() const override { return s_.Backend(); }

 private:
  store::Store& s_;
};

TEST_F(LedgerTest, AFailedPartOfAnErasureIsNamedInItsRecordWhileTheOtherPartsStillRun) {
  std::string anna = Anna();
  EraseFailsStore failing(*store_);
  AuditLog audit(failing, clock_);
  profiles::ProfileService profiles(failing, clock_, ids_);
  Ledger ledger(failing, clock_, ids_, audit, profiles);
  bool later_step_ran = false;
  ledger.AddErasureStep("cases", [](const ErasureScope&, store::Erasure&) -> Result<Json> {
    return Unavailable("cases are not reachable");
  });
  ledger.AddErasureStep("service", [&](const ErasureScope&, store::Erasure&) -> Result<Json> {
    later_step_ran = true;
    return Json{{"assets", 0}};
  });
  auto erased = ledger.Erase(anna, Admin(), "Art. 17");
  ASSERT_FALSE(erased.ok());
  EXPECT_NE(erased.status().message().find("recorded but incomplete"), std::string::npos)
      << erased.status().ToString();
  EXPECT_TRUE(later_step_ran);
  auto kept = store_->ListDocuments("privacy-erasure", "", "", 10);
  ASSERT_EQ(kept->size(), 1u) << "the erasure happened (the person is gone) and is recorded";
  Json record = *ParseJson((*kept)[0].body);
  EXPECT_NE(erased.status().message().find(record["id"].get<std::string>()), std::string::npos);
  EXPECT_NE(record["incomplete"]["cases"].get<std::string>().find("not reachable"),
            std::string::npos);
  EXPECT_NE(record["incomplete"]["store"].get<std::string>().find("disk full"), std::string::npos);
  EXPECT_EQ(record["steps"]["service"], Json({{"assets", 0}}));
  EXPECT_EQ(profiles.GetPerson(anna).status().code(), StatusCode::kNotFound);
  auto entries = audit.List(anna, 0, 100);
  ASSERT_TRUE(entries.ok());
  std::string trail;
  for (const auto& e : *entries) trail += e.entry.action + e.entry.detail.dump();
  EXPECT_NE(trail.find("incomplete"), std::string::npos) << trail;
}

// A retention run that fails is not marked as done: a restart (or another server) runs it again
// at once, and this server after a pause.
TEST_F(LedgerTest, TheRetentionJobIsMarkedAsRunOnlyWhenTheRunSucceeded) {
  RegisterPortalForOffers();
  ASSERT_TRUE(ledger_->PutRetention("offers", {{"days", 1}}, Admin()).ok());
  Anna();
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(48)).ok());
  EraseFailsStore failing(*store_);
  AuditLog audit(failing, clock_);
  profiles::ProfileService profiles(failing, clock_, ids_);
  Ledger ledger(failing, clock_, ids_, audit, profiles);
  auto failed = ledger.RunRetentionIfDue();
  ASSERT_FALSE(failed.ok());
  EXPECT_FALSE(*store_->GetSetting("privacy.retention.last_run"));
  EXPECT_TRUE(ledger.RunRetentionIfDue()->is_null()) << "this server pauses";
  Ledger restarted(*store_, clock_, ids_, *audit_, *profiles_);
  auto again = restarted.RunRetentionIfDue();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->is_null()) << "due again after the failed run";
  EXPECT_TRUE(*store_->GetSetting("privacy.retention.last_run"));
  ASSERT_TRUE(clock_.Advance(std::chrono::minutes(10)).ok());
  EXPECT_TRUE(ledger.RunRetentionIfDue()->is_null()) << "run by the other one today";
}

// The review's case: the data was committed, then rebuilding the files failed (here: a reader
// in the middle of a long read keeps the WAL from being truncated). That is a warning in the
// record of an erasure that succeeded, not an error that loses the record.
TEST(LedgerFileTest, AFileCleanUpThatFailsAfterTheCommitIsAWarningInTheKeptRecord) {
  std::string path = ::testing::TempDir() + "/ledger-erasure-" + std::to_string(::getpid()) + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  ManualClock clock{*ParseTime("2026-03-01T09:00:00Z")};
  UlidSource ids{clock, 7};
  auto store = store::OpenSqliteStore({.path = path, .sync_every_commit = false});
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  AuditLog audit(**store, clock);
  profiles::ProfileService profiles(**store, clock, ids);
  Ledger ledger(**store, clock, ids, audit, profiles);
  SourceRecord r;
  r.id = ids.Next("rec");
  r.source = "portal";
  r.source_key = "PV-9";
  r.fields = {{"vorname", "Erika"}, {"nachname", "Held"}, {"email", "erika.held@example.org"}};
  r.received_at = clock.Now();
  auto puts = (*store)->PutRecords({r});
  ASSERT_TRUE(puts.ok());
  ASSERT_TRUE(profiles.Resolve({r}, *puts).ok());
  std::string person = *profiles.PersonOfRecord((*puts)[0].id);
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &reader), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM records;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  auto erased = ledger.Erase(person, Admin(), "Art. 17");
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  ASSERT_TRUE(erased->contains("warnings")) << erased->dump();
  EXPECT_NE((*erased)["warnings"].dump().find("WAL"), std::string::npos) << erased->dump();
  EXPECT_FALSE(erased->contains("incomplete"));
  auto kept = (*store)->GetDocument("privacy-erasure", (*erased)["id"].get<std::string>());
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_NE((*kept)->body.find("warnings"), std::string::npos);
  EXPECT_TRUE((*store)->GetRecord((*puts)[0].id)->fields.empty());
  store->reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
}

TEST_F(LedgerTest, BadInputIsRefusedNamingTheField) {
  std::string anna = Anna();
  EXPECT_EQ(ledger_->PutSource("s", {{"legal_basis", "consent"}}, Admin()).status().where(),
            "purposes");
  EXPECT_EQ(ledger_->PutSource("s", {{"purposes", {"x"}}, {"legal_basis", "magic"}}, Admin())
                .status()
                .where(),
            "legal_basis");
  EXPECT_EQ(ledger_->PutSource("s", {{"purposes", {"x"}}, {"legal_basis", "consent"}}, Admin())
                .status()
                .where(),
            "consent_ref");
  EXPECT_EQ(ledger_->PutRecipient("r", {{"legal_basis", "consent"}, {"purposes", {"x"}}}, Admin())
                .status()
                .where(),
            "legal_basis");
  EXPECT_EQ(ledger_->PutRetention("offers", {{"days", 0}}, Admin()).status().where(), "days");
  EXPECT_EQ(ledger_->GiveConsent(anna, {{"purposes", {"x"}}, {"recipients", {"y"}}}, Admin())
                .status()
                .where(),
            "proof");
  EXPECT_EQ(ledger_->GiveConsent("per_nobody", Json::object(), Admin()).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(ledger_->Decide({anna, "", "offers", {}, "api"}, Admin()).status().where(),
            "recipient");
}

}  // namespace
}  // namespace rapport::privacy
