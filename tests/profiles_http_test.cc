// S2 end to end (shared/SCENARIOS.md): orders arrive through the HTTP API and `rapport
// import`; persons, households, reviews and the mailing list are read back through the API
// and the CLI of the real binary.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <thread>

#include "test_server.h"

namespace rapport::testing {
namespace {

std::string Record(const std::string& source, const std::string& key, const std::string& given,
                   const std::string& surname, const std::string& street,
                   const std::string& postcode, const std::string& city) {
  Json j = {{"source", source},
            {"source_key", key},
            {"fields",
             {{"vorname", given},
              {"nachname", surname},
              {"strasse", street},
              {"plz", postcode},
              {"ort", city}}}};
  return j.dump();
}

std::string Order(const std::string& id, const std::string& customer) {
  Json j = {{"id", id},
            {"type", "order.placed"},
            {"subject", "order-" + id},
            {"keys", {{"customer_id", customer}, {"order_id", id}}},
            {"occurred_at", "2026-03-01T10:00:00Z"}};
  return j.dump();
}

class ProfilesHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("rapport.db");
    admin_ = CreateToken(db_, "admin");
    agent_ = CreateToken(db_, "agent");
    analyst_ = CreateToken(db_, "analyst");
    partner_ = CreateToken(db_, "partner", "acme");
    Start();
  }
  void Start() {
    server_.reset();
    server_ = std::make_unique<ServerProcess>(db_);
    ASSERT_TRUE(server_->ok()) << server_->startup_output();
  }

  // Posts one record; returns its stored id.
  std::string Post(HttpClient& c, const std::string& body) {
    auto r = c.Post("/v1/records", body, agent_);
    EXPECT_TRUE(r.status == 201 || r.status == 200) << r.body;
    EXPECT_TRUE(r.json().contains("person")) << "resolved while stored: " << r.body;
    return r.json()["id"];
  }

  // The id of the person holding `record`, found through the search API by the record's name.
  std::string PersonWith(HttpClient& c, const std::string& query, const std::string& record) {
    auto r = c.Get("/v1/persons?q=" + query, analyst_);
    EXPECT_EQ(r.status, 200) << r.body;
    Json found = r.json();
    for (const auto& hit : found["results"]) {
      auto p = c.Get("/v1/persons/" + hit["id"].get<std::string>(), analyst_).json();
      for (const auto& rec : p["records"]) {
        if (rec["id"] == record) return hit["id"];
      }
    }
    return "";
  }

  ScratchDir dir_;
  std::string db_, admin_, agent_, analyst_, partner_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ProfilesHttpTest, S2ThreeOrdersOneHouseholdExplainedMergeUndoneAndRedone) {
  auto c = server_->Client();
  std::string johann =
      Post(c, Record("shop", "K1", "Johann", "Müller", "Hauptstraße 5", "80331", "München"));
  std::string j_mueller =
      Post(c, Record("shop", "K2", "J.", "Mueller", "Hauptstr. 5", "80331", "Muenchen"));
  std::string anna =
      Post(c, Record("shop", "K3", "Anna", "Müller", "Hauptstraße 5", "80331", "München"));
  std::string hans =
      Post(c, Record("shop", "K4", "Hans", "Müller", "Hauptstraße 7", "80331", "München"));
  std::string johanna =
      Post(c, Record("shop", "K5", "Johanna", "Müller", "Jungfernstieg 1", "20095", "Hamburg"));
  std::string orders = Order("O-1", "K1") + "\n" + Order("O-2", "K2") + "\n" + Order("O-3", "K3");
  ASSERT_EQ(c.Post("/v1/events", orders, agent_, "application/x-ndjson").status, 200);

  // The two Johann records are one person, with the evidence shown field by field.
  std::string pj = PersonWith(c, "Johann%20M%C3%BCller", johann);
  ASSERT_FALSE(pj.empty());
  auto person = c.Get("/v1/persons/" + pj, analyst_);
  ASSERT_EQ(person.status, 200) << person.body;
  Json p = person.json();
  ASSERT_EQ(p["records"].size(), 2u);
  EXPECT_EQ(p["records"][1]["id"], j_mueller);
  const Json& link = p["records"][1]["link"];
  EXPECT_EQ(link["by"], "engine");
  EXPECT_GE(link["score"].get<double>(), 0.9);
  bool surname_shown = false;
  for (const auto& f : link["explanation"]["fields"]) {
    if (f["comparison"] == "surname") {
      surname_shown = true;
      EXPECT_GT(f["weight"].get<double>(), 0) << "Müller and Mueller agree";
    }
  }
  EXPECT_TRUE(surname_shown);
  EXPECT_EQ(p["golden"]["given_name"]["value"], "Johann");
  EXPECT_EQ(p["golden"]["given_name"]["record"], johann);
  EXPECT_EQ(p["events"].size(), 2u) << "the orders of K1 and K2, found by customer_id";
  EXPECT_EQ(p["household"]["salutation"], "Anna und Johann Müller");
  std::string household = p["household"]["id"];

  // Anna, the neighbour and the namesake in Hamburg are other persons.
  std::string pa = PersonWith(c, "Anna%20M%C3%BCller", anna);
  std::string ph = PersonWith(c, "Hans%20M%C3%BCller", hans);
  std::string pjo = PersonWith(c, "Johanna%20Hamburg", johanna);
  for (const auto& other : {pa, ph, pjo}) {
    EXPECT_FALSE(other.empty());
    EXPECT_NE(other, pj);
  }
  auto hh = c.Get("/v1/households/" + household, analyst_);
  ASSERT_EQ(hh.status, 200);
  EXPECT_EQ(hh.json()["members"].size(), 2u);
  EXPECT_NE(c.Get("/v1/persons/" + ph, analyst_).json()["household"]["id"], household);

  // One entry for the household on the brochure mailing list, not three.
  auto mailing = c.Get("/v1/mailing?segment=postcode=80331", analyst_);
  ASSERT_EQ(mailing.status, 200) << mailing.body;
  Json m = mailing.json();
  ASSERT_EQ(m["entries"].size(), 2u) << m.dump(2);  // the household and the neighbour
  int household_entries = 0;
  for (const auto& e : m["entries"]) {
    if (e["household"] == household) {
      ++household_entries;
      EXPECT_EQ(e["salutation"], "Anna und Johann Müller");
      EXPECT_EQ(e["address"]["postcode"], "80331");
    }
  }
  EXPECT_EQ(household_entries, 1);
  EXPECT_EQ(m["counts"]["source_customers"], 4);
  EXPECT_EQ(m["counts"]["avoided"]["total"], 2);
  auto csv = c.Get("/v1/mailing?segment=postcode=80331&format=csv", analyst_);
  EXPECT_NE(csv.body.find("Anna und Johann Müller"), std::string::npos);

  // A wrong merge by hand, undone, redone: no source record is lost, ids are stable.
  EXPECT_EQ(c.Post("/v1/persons/" + pa + "/merge", Json{{"other", pj}}.dump(), analyst_).status,
            403);
  auto merged = c.Post("/v1/persons/" + pa + "/merge", Json{{"other", pj}}.dump(), agent_);
  ASSERT_EQ(merged.status, 200) << merged.body;
  std::string survivor = merged.json()["survivor"];
  std::string absorbed = survivor == pj ? pa : pj;
  EXPECT_EQ(survivor, std::min(pa, pj)) << "the older id survives";
  auto redirected = c.Get("/v1/persons/" + absorbed, analyst_).json();
  EXPECT_EQ(redirected["id"], survivor);
  EXPECT_EQ(redirected["redirected_from"], absorbed);
  EXPECT_EQ(redirected["records"].size(), 3u);
  auto undo = c.Post("/v1/merges/" + merged.json()["id"].get<std::string>() + "/undo", "", agent_);
  ASSERT_EQ(undo.status, 200) << undo.body;
  EXPECT_EQ(c.Get("/v1/persons/" + pj, analyst_).json()["records"].size(), 2u);
  EXPECT_EQ(c.Get("/v1/persons/" + pa, analyst_).json()["records"].size(), 1u);
  EXPECT_FALSE(c.Get("/v1/persons/" + pa, analyst_).json().contains("redirected_from"));
  for (const auto& id : {johann, j_mueller, anna}) {
    EXPECT_EQ(c.Get("/v1/records/" + id, analyst_).status, 200);
  }
  auto redo = c.Post("/v1/persons/" + pj + "/merge", Json{{"other", pa}}.dump(), admin_);
  ASSERT_EQ(redo.status, 200) << redo.body;
  EXPECT_EQ(redo.json()["survivor"], survivor);
  auto again = c.Post("/v1/merges/" + redo.json()["id"].get<std::string>() + "/undo", "", admin_);
  ASSERT_EQ(again.status, 200) << again.body;
  auto audit = c.Get("/v1/persons/" + pa, analyst_).json()["audit"];
  EXPECT_GE(audit.size(), 5u) << audit.dump(2);

  // The engine's own link can be split off and the person keeps its id.
  auto split =
      c.Post("/v1/persons/" + pj + "/split", Json{{"records", {j_mueller}}}.dump(), agent_);
  ASSERT_EQ(split.status, 200) << split.body;
  EXPECT_EQ(c.Get("/v1/persons/" + pj, analyst_).json()["records"].size(), 1u);

  // Every decision about who is who is also in the hash-chained audit log, with its author.
  auto chain = c.Get("/v1/audit?limit=1000", admin_);
  ASSERT_EQ(chain.status, 200) << chain.body;
  std::multiset<std::string> decisions;
  Json entries = chain.json()["entries"];
  for (const auto& e : entries) decisions.insert(e["action"].get<std::string>());
  EXPECT_EQ(decisions.count("person.merge"), 2u);
  EXPECT_EQ(decisions.count("merge.undo"), 2u);
  EXPECT_EQ(decisions.count("person.split"), 1u);
  auto verified = c.Get("/v1/audit/verify", admin_);
  EXPECT_TRUE(verified.json()["ok"].get<bool>()) << verified.body;

  // Partners see no persons.
  EXPECT_EQ(c.Get("/v1/persons/" + pj, partner_).status, 403);
  EXPECT_EQ(c.Get("/v1/persons/per_nosuch", analyst_).status, 404);
}

TEST_F(ProfilesHttpTest, RejectedReviewIsNeverMergedAutomaticallyAndEverythingSurvivesRestart) {
  auto c = server_->Client();
  std::string johann =
      Post(c, Record("shop", "K1", "Johann", "Müller", "Hauptstraße 5", "80331", "München"));
  std::string gray = Post(
      c, Record("portal", "P1", "Johann", "Müller", "Sendlinger Straße 20", "80331", "München"));
  auto reviews = c.Get("/v1/reviews", analyst_);
  ASSERT_EQ(reviews.status, 200);
  Json list = reviews.json()["reviews"];
  ASSERT_EQ(list.size(), 1u) << reviews.body;
  EXPECT_EQ(list[0]["record"], gray);
  EXPECT_EQ(list[0]["candidate"], johann);
  EXPECT_FALSE(list[0]["explanation"]["fields"].empty());
  std::string review = list[0]["id"];
  EXPECT_EQ(c.Post("/v1/reviews/" + review, R"({"decision":"maybe"})", agent_).status, 400);
  EXPECT_EQ(c.Post("/v1/reviews/" + review, R"({"decision":"reject"})", analyst_).status, 403);
  auto decided = c.Post("/v1/reviews/" + review, R"({"decision":"reject"})", agent_);
  ASSERT_EQ(decided.status, 200) << decided.body;
  EXPECT_EQ(c.Post("/v1/reviews/" + review, R"({"decision":"accept"})", agent_).status, 409);

  std::string pj = PersonWith(c, "Johann%20M%C3%BCller", johann);
  std::string pg = PersonWith(c, "Johann%20M%C3%BCller", gray);
  ASSERT_NE(pj, pg);
  Json before = c.Get("/v1/persons/" + pj, analyst_).json();

  // Restart: ids, households and the decision are read back; a further record of the gray
  // person joins it, and the rejected pair is neither merged nor asked again.
  Start();
  auto c2 = server_->Client();
  Json after = c2.Get("/v1/persons/" + pj, analyst_).json();
  EXPECT_EQ(after["id"], pj);
  EXPECT_EQ(after["household"], before["household"]);
  EXPECT_EQ(after["records"], before["records"]);
  std::string more = Post(
      c2, Record("portal2", "X1", "Johann", "Müller", "Sendlinger Str. 20", "80331", "München"));
  EXPECT_EQ(PersonWith(c2, "Johann%20M%C3%BCller", more), pg);
  EXPECT_TRUE(c2.Get("/v1/reviews", analyst_).json()["reviews"].empty());
  EXPECT_EQ(PersonWith(c2, "Johann%20M%C3%BCller", johann), pj);
  auto all = c2.Get("/v1/reviews?all=true", analyst_).json()["reviews"];
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["status"], "rejected");
}

TEST_F(ProfilesHttpTest, TwoClientsPostingOnePersonAtOnceEndWithOnePerson) {
  std::vector<std::string> ids(2);
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      auto c = server_->Client();
      for (int n = 0; n < 5; ++n) {
        std::string key = "C" + std::to_string(i) + "-" + std::to_string(n);
        auto r = c.Post("/v1/records",
                        Record("src" + std::to_string(i), key, i ? "Johann" : "J.", "Müller",
                               "Hauptstraße 5", "80331", "München"),
                        agent_);
        EXPECT_EQ(r.status, 201) << r.body;
        if (n == 0) ids[i] = r.json()["id"];
      }
    });
  }
  for (auto& t : threads) t.join();
  auto c = server_->Client();
  auto found = c.Get("/v1/persons?q=M%C3%BCller", analyst_).json()["results"];
  ASSERT_EQ(found.size(), 1u) << found.dump(2);
  EXPECT_EQ(found[0]["records"], 10);
}

TEST_F(ProfilesHttpTest, ImportResolvesAsItImportsIsIdempotentAndMailingCliCounts) {
  server_.reset();  // the CLI opens the database itself
  std::string csv = dir_.File("kunden.csv");
  {
    std::ofstream out(csv);
    out << "kundennr;vorname;nachname;strasse;plz;ort\n"
           "1;Johann;Müller;Hauptstraße 5;80331;München\n"
           "2;J.;Mueller;Hauptstr. 5;80331;Muenchen\n"
           "3;Anna;Müller;Hauptstraße 5;80331;München\n"
           "4;Hans;Müller;Hauptstraße 7;80331;München\n"
           "5;Johanna;Müller;Jungfernstieg 1;20095;Hamburg\n";
  }
  std::string out;
  ASSERT_EQ(RunRapport({"import", csv, "--db", db_}, &out), 0) << out;
  EXPECT_NE(out.find("persons stored: 4"), std::string::npos) << out;
  ASSERT_EQ(RunRapport({"import", csv, "--db", db_}, &out), 0) << out;
  EXPECT_NE(out.find("0 stored, 5 already stored"), std::string::npos) << out;
  EXPECT_NE(out.find("persons stored: 4"), std::string::npos) << out;
  std::string list = dir_.File("mailing.csv");
  ASSERT_EQ(RunRapport({"mailing", "--segment", "city=München", "-o", list, "--db", db_}, &out), 0)
      << out;
  EXPECT_NE(out.find("2 letters"), std::string::npos) << out;
  std::ifstream in(list);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("Anna und Johann Müller"), std::string::npos) << text;
  EXPECT_NE(text.find("Hans Müller"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3) << "header and two households";
  EXPECT_NE(RunRapport({"mailing", "--segment", "city", "--db", db_}, &out), 0);
}

TEST_F(ProfilesHttpTest, ServeProfilesSettingsAreKeptForImport) {
  server_.reset();
  std::string bad = dir_.File("bad.json");
  std::ofstream(bad) << R"({"link_threshold": 2})";
  ServerProcess refused(db_, {"--profiles", bad});
  EXPECT_FALSE(refused.ok());
  std::string settings = dir_.File("profiles.json");
  std::ofstream(settings) << R"({"golden":{"fields":{"city":"source_priority"},)"
                          << R"("source_priority":["crm"]}})";
  {
    ServerProcess server(db_, {"--profiles", settings});
    ASSERT_TRUE(server.ok()) << server.startup_output();
    auto c = server.Client();
    auto r = c.Post("/v1/records",
                    Record("crm", "C1", "Johann", "Müller", "Hauptstraße 5", "80331", "München"),
                    agent_);
    ASSERT_EQ(r.status, 201) << r.body;
  }
  // The CLI import on the same database resolves with the same rules.
  std::string csv = dir_.File("shop.csv");
  std::ofstream(csv) << "id,vorname,nachname,strasse,plz,ort\n"
                        "1,Johann,Müller,Hauptstraße 5,80331,Muenchen\n";
  std::string out;
  ASSERT_EQ(RunRapport({"import", csv, "--db", db_}, &out), 0) << out;
  ServerProcess server(db_);
  auto c = server.Client();
  auto found = c.Get("/v1/persons?q=Johann%20M%C3%BCller", analyst_).json()["results"];
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["records"], 2) << "shop and crm record are one person";
  auto p = c.Get("/v1/persons/" + found[0]["id"].get<std::string>(), analyst_).json();
  EXPECT_EQ(p["golden"]["city"]["source"], "crm") << "crm outranks the newer shop record";
  EXPECT_EQ(p["golden"]["city"]["value"], "München");
}

}  // namespace
}  // namespace rapport::testing
