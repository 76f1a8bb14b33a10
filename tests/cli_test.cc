// The `rapport` command line as a newcomer uses it: help, version, import, tokens.
#include <gtest/gtest.h>

#include <fstream>

#include "test_server.h"

namespace rapport::testing {
namespace {

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

TEST(CliTest, HelpAndVersionExplainThemselves) {
  std::string out;
  EXPECT_EQ(RunRapport({"--help"}, &out), 0);
  for (const char* cmd : {"serve", "import", "token"}) {
    EXPECT_NE(out.find(cmd), std::string::npos) << cmd;
  }
  EXPECT_NE(out.find("Start here"), std::string::npos);
  out.clear();
  EXPECT_EQ(RunRapport({"--version"}, &out), 0);
  EXPECT_EQ(out.rfind("rapport ", 0), 0u);
  out.clear();
  EXPECT_EQ(RunRapport({"serve", "--port", "99999"}, &out), 2);
  EXPECT_NE(out.find("--port"), std::string::npos);
  EXPECT_EQ(RunRapport({}, &out), 2);
}

TEST(CliTest, GermanExcelCsvIsImportedWithANoteAndReimportChangesNothing) {
  ScratchDir dir;
  std::string csv = dir.File("kunden.csv");
  WriteFile(csv,
            "Kundennr;Vorname;Nachname;Stra\xDF"
            "e;PLZ;Ort\r\n"
            "K-1;Johann;M\xFCller;Hauptstra\xDF"
            "e 5;80331;M\xFCnchen\r\n"
            "K-2;Anna;M\xFCller;Hauptstra\xDF"
            "e 5;80331;M\xFCnchen\r\n");
  std::string db = dir.File("r.db");
  std::string out;
  ASSERT_EQ(RunRapport({"import", csv, "--key", "Kundennr", "--db", db}, &out), 0) << out;
  EXPECT_NE(out.find("Windows-1252"), std::string::npos) << out;
  EXPECT_NE(out.find("2 rows read, 2 stored, 0 already stored, 0 rejected (source 'kunden')"),
            std::string::npos)
      << out;
  out.clear();
  ASSERT_EQ(RunRapport({"import", csv, "--key", "Kundennr", "--db", db}, &out), 0);
  EXPECT_NE(out.find("2 rows read, 0 stored, 2 already stored"), std::string::npos) << out;
}

TEST(CliTest, BadRowsAreListedWithLinesAndMissingColumnsAreNamed) {
  ScratchDir dir;
  std::string db = dir.File("r.db");
  std::string events = dir.File("events.csv");
  WriteFile(events,
            "id,type,occurred_at,keys.order_id\n"
            "e1,order.placed,2026-11-01T10:00:00Z,O-1\n"
            "e2,order.placed,gestern,O-2\n"
            "e3,order.placed\n");
  std::string out;
  EXPECT_EQ(RunRapport({"import", events, "--kind", "events", "--db", db}, &out), 1);
  EXPECT_NE(out.find("3 rows read, 1 stored, 0 already stored, 2 rejected"), std::string::npos)
      << out;
  EXPECT_NE(out.find("events.csv:3: not an RFC 3339 time: 'gestern'"), std::string::npos) << out;
  EXPECT_NE(out.find("events.csv:4: expected 4 fields, found 2"), std::string::npos) << out;

  std::string no_time = dir.File("no_time.csv");
  WriteFile(no_time, "id,type\ne1,x\n");
  out.clear();
  EXPECT_EQ(RunRapport({"import", no_time, "--kind", "events", "--db", db}, &out), 2);
  EXPECT_NE(out.find("missing required column 'occurred_at'; columns are: id, type"),
            std::string::npos)
      << out;

  std::string empty = dir.File("empty.csv");
  WriteFile(empty, "");
  out.clear();
  EXPECT_EQ(RunRapport({"import", empty, "--db", db}, &out), 2);
  EXPECT_NE(out.find("the file is empty"), std::string::npos) << out;
}

TEST(CliTest, TokensAreCreatedListedAndRevoked) {
  ScratchDir dir;
  std::string db = dir.File("r.db");
  std::string token = CreateToken(db, "partner", "acme");
  std::string id = token.substr(0, token.find('.'));
  std::string out;
  ASSERT_EQ(RunRapport({"token", "list", "--db", db}, &out), 0);
  EXPECT_NE(out.find(id + "  partner  acme"), std::string::npos) << out;
  EXPECT_EQ(out.find(token), std::string::npos);  // the secret is never shown again
  out.clear();
  EXPECT_EQ(RunRapport({"token", "create", "--role", "partner", "--db", db}, &out), 2);
  EXPECT_NE(out.find("needs an organisation"), std::string::npos) << out;
  EXPECT_EQ(RunRapport({"token", "revoke", id, "--db", db}, &out), 0);
  out.clear();
  EXPECT_EQ(RunRapport({"token", "revoke", "tok_nope", "--db", db}, &out), 2);
}

// Issue 18, finding 7: `token create --expires 90d` gives the token a lifetime, listed with it.
TEST(CliTest, ATokenMayBeCreatedWithALifetime) {
  ScratchDir dir;
  std::string db = dir.File("r.db");
  std::string out;
  ASSERT_EQ(RunRapport({"token", "create", "--role", "agent", "--name", "ci", "--expires", "90d",
                        "--quiet", "--db", db},
                       &out),
            0)
      << out;
  std::string id = out.substr(0, out.find('.'));
  out.clear();
  ASSERT_EQ(RunRapport({"token", "list", "--db", db}, &out), 0);
  EXPECT_NE(out.find(id), std::string::npos) << out;
  EXPECT_NE(out.find("  expires "), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(
      RunRapport({"token", "create", "--role", "agent", "--expires", "soon", "--db", db}, &out), 2);
  EXPECT_NE(out.find("--expires"), std::string::npos) << out;
}

}  // namespace
}  // namespace rapport::testing

namespace rapport::testing {
namespace {

TEST(CliTest, ServeReadsAConfigFileAndEnvironmentVariables) {
  ScratchDir dir;
  std::string config = dir.File("rapport.toml");
  WriteFile(config, "[serve]\nclock = \"manual\"\nclock-start = \"2026-03-01T08:00:00Z\"\n");
  {
    ServerProcess server(dir.File("a.db"), {"--config", config});
    ASSERT_TRUE(server.ok()) << server.startup_output();
    auto health = server.Client().Get("/health").json();
    EXPECT_EQ(health["clock"], "manual");
    EXPECT_EQ(health["now"], "2026-03-01T08:00:00Z");
  }
  setenv("RAPPORT_CLOCK", "manual", 1);
  setenv("RAPPORT_CLOCK_START", "2026-05-01T00:00:00Z", 1);
  ServerProcess server(dir.File("b.db"));
  unsetenv("RAPPORT_CLOCK");
  unsetenv("RAPPORT_CLOCK_START");
  ASSERT_TRUE(server.ok()) << server.startup_output();
  EXPECT_EQ(server.Client().Get("/health").json()["now"], "2026-05-01T00:00:00Z");
}

TEST(CliTest, AManualClockContinuesAfterARestartAndNeverGoesBack) {
  ScratchDir dir;
  std::string db = dir.File("c.db");
  std::string admin = CreateToken(db, "admin");
  {
    ServerProcess server(db, {"--clock", "manual", "--clock-start", "2026-01-01T00:00:00Z"});
    ASSERT_TRUE(server.ok());
    auto r = server.Client().Post("/v1/admin/clock", R"({"advance":"10d"})", admin);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  ServerProcess again(db, {"--clock", "manual", "--clock-start", "2026-01-01T00:00:00Z"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.Client().Get("/health").json()["now"], "2026-01-11T00:00:00Z");
}

// The F1 that `rapport evaluate` prints for the pairs of its clusters.
double ClusterF1(const std::string& evaluate_output) {
  auto line = evaluate_output.find("pairs (clusters)");
  auto f1 = evaluate_output.find("F1 ", line);
  if (line == std::string::npos || f1 == std::string::npos) return -1;
  return std::stod(evaluate_output.substr(f1 + 3));
}

// Live = batch: the persons an import makes of a file, exported, are as right as those dedupe
// makes of the same file (issue 19 allows 0.01 of F1 between them).
TEST(CliTest, ThePersonsOfAnImportAreAsRightAsDedupeOnTheSameFile) {
  ScratchDir dir;
  std::string csv = dir.File("kunden.csv"), db = dir.File("r.db"), persons = dir.File("p.csv");
  std::string out;
  ASSERT_EQ(RunRapport({"generate", "-n", "2000", "--seed", "5", "-o", csv}, &out), 0) << out;
  ASSERT_EQ(RunRapport({"import", csv, "--key", "id", "--db", db}, &out), 0) << out;
  out.clear();
  ASSERT_EQ(RunRapport({"persons", "export", "--db", db, "-o", persons}, &out), 0) << out;
  EXPECT_NE(out.find("2000 records of "), std::string::npos) << out;

  std::string live, batch;
  ASSERT_EQ(RunRapport({"evaluate", csv, "--truth", "person_id", "--clusters", persons}, &live), 0)
      << live;
  ASSERT_EQ(RunRapport({"evaluate", csv, "--truth", "person_id"}, &batch), 0) << batch;
  double live_f1 = ClusterF1(live), batch_f1 = ClusterF1(batch);
  EXPECT_GT(batch_f1, 0.9) << batch;
  EXPECT_GE(live_f1, batch_f1 - 0.01) << live << "\n" << batch;
}

}  // namespace
}  // namespace rapport::testing
