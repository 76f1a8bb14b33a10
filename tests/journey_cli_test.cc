// `rapport journey check` and `rapport journey simulate` as a user runs them: exit codes, the
// report, the counterexample file that `journey run` replays, the SVG chart, determinism.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "test_server.h"

namespace rapport::testing {
namespace {

std::string Src(const std::string& rel) {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return std::string(d ? d : RAPPORT_E2E_SOURCE_DIR) + "/" + rel;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

const std::string kModel = "examples/journeys/trade-in.deviations.yaml";

TEST(JourneyCliTest, CheckPassesTheTradeInJourney) {
  std::string out;
  int rc = RunRapport(
      {"journey", "check", Src("examples/journeys/trade-in.yaml"), "--deviations", Src(kModel)},
      &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("pass: trade-in v1: 7 properties hold in every run ("), std::string::npos)
      << out;
  EXPECT_NE(out.find(" states, "), std::string::npos);
}

// --optimistic: the quick built-in model (a deploy's), in which the label may be created at any
// time of day before a weekend and scans may be parked at one instant; check decides every run
// and passes. (The default, pessimistic, model takes 12 s on trade-in: bench/journey_check.sh.)
TEST(JourneyCliTest, CheckPassesTheTradeInJourneyWithTheOptimisticModel) {
  std::string out;
  int rc = RunRapport({"journey", "check", Src("examples/journeys/trade-in.yaml"), "--optimistic"},
                      &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("model: built-in optimistic model: ", 0), 0u) << out;
  EXPECT_NE(out.find("\npass: trade-in v1: 7 properties hold in every run ("), std::string::npos)
      << out;
  EXPECT_NE(out.find(" states, "), std::string::npos) << out;
  EXPECT_NE(out.find("branches for another calendar day: "), std::string::npos) << out;
}

TEST(JourneyCliTest, CheckRejectsTheOrderAnchoredReminderWithAReplayableCounterexample) {
  ScratchDir dir;
  std::string out;
  int rc = RunRapport({"journey", "check", Src("examples/journeys/broken/reminder-from-order.yaml"),
                       "--deviations", Src(kModel), "--counterexamples", dir.path()},
                      &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("[can-act] send_back_reminder #0 asked the customer to complete device_sent"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("fired send_back_reminder #0  <-- can-act"), std::string::npos) << out;
  // The counterexample replayed by `journey run`: the reminder goes out, no delivery known.
  std::string run;
  rc = RunRapport({"journey", "run", Src("examples/journeys/broken/reminder-from-order.yaml"),
                   dir.File("can-act.ndjson"), "--until", "2026-11-12T09:00:00Z"},
                  &run);
  EXPECT_EQ(rc, 0) << run;
  EXPECT_NE(run.find("fired send_back_reminder #0"), std::string::npos) << run;
  EXPECT_EQ(run.find("kit.delivered occurred"), std::string::npos) << run;
}

// Issue 21: the default model is pessimistic and needs no deviations file to find what the
// optimistic model lets pass; the report names its model; an invalid definition exits 2 (1 is a
// violation); the counterexample directory is created.
TEST(JourneyCliTest, CheckIsPessimisticByDefaultNamesItsModelAndWritesCounterexamples) {
  ScratchDir dir;
  // A parcel nobody chases once it is shipped: the pessimistic world loses it.
  std::ofstream(dir.File("parcel.yaml"))
      << "journey: parcel\nversion: 1\ncorrelation: order_id\nstart: {on: order.placed}\n"
         "events:\n  order.placed: {keys: [order_id]}\n  parcel.shipped: {keys: [order_id]}\n"
         "  parcel.delivered: {keys: [order_id]}\n"
         "steps:\n  - {name: ordered, completed_by: order.placed}\n"
         "  - {name: shipped, completed_by: parcel.shipped}\n"
         "  - {name: delivered, completed_by: parcel.delivered}\n"
         "actions:\n  - {name: confirm, kind: message, channel: email, template: confirm, "
         "requires: [order.placed]}\n"
         "end_states:\n  - {name: done, when: delivered}\n";
  const std::string where = dir.File("new/sub");
  std::string out;
  int rc =
      RunRapport({"journey", "check", dir.File("parcel.yaml"), "--counterexamples", where}, &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_EQ(out.rfind("model: built-in pessimistic model: ", 0), 0u) << out;
  EXPECT_NE(out.find("at most 1 fault a run"), std::string::npos) << out;
  EXPECT_NE(out.find("[no-silent-wait] after parcel.shipped"), std::string::npos) << out;
  EXPECT_NE(out.find("counterexample written to " + where + "/"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::is_directory(where));
  rc = RunRapport(
      {"journey", "check", dir.File("parcel.yaml"), "--pessimistic", "--max-faults", "0"}, &out);
  EXPECT_EQ(rc, 0) << "no fault, no lost parcel: " << out;
  rc = RunRapport(
      {"journey", "check", dir.File("parcel.yaml"), "--pessimistic", "--deviations", Src(kModel)},
      &out);
  EXPECT_EQ(rc, 2) << out;
  rc = RunRapport({"journey", "check", dir.File("parcel.yaml"), "--optimistic"}, &out);
  EXPECT_EQ(rc, 0) << "nothing is lost in the optimistic model: " << out;
  rc = RunRapport({"journey", "check", Src("examples/journeys/invoice.yaml")}, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_EQ(out.rfind("model: built-in pessimistic model: ", 0), 0u) << out;
  std::ofstream(dir.File("bad.yaml")) << "journey: x\nversion: 1\nsteps: [\n";
  rc = RunRapport({"journey", "check", dir.File("bad.yaml")}, &out);
  EXPECT_EQ(rc, 2) << "an invalid definition is bad input: " << out;
}

// Issue 21: `rapport journey deploy` does what POST /v1/journeys does, on a database.
TEST(JourneyCliTest, DeployChecksFirstRefusesAViolationAndAuditsAForcedDeploy) {
  ScratchDir dir;
  const std::string db = dir.File("r.db");
  const std::string broken = Src("examples/journeys/broken/reminder-from-order.yaml");
  std::string out;
  int rc = RunRapport({"journey", "deploy", broken, "--db", db}, &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("not deployed: trade-in v1"), std::string::npos) << out;
  EXPECT_NE(out.find("[deadline]"), std::string::npos) << out;
  rc = RunRapport({"journey", "deploy", broken, "--db", db, "--force"}, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("deployed: trade-in v1 (forced; recorded in the audit log)"),
            std::string::npos)
      << out;
  rc = RunRapport({"audit", "list", "--db", db}, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"action\":\"journey.deploy_forced\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"property\":\"deadline\""), std::string::npos) << out;
  const std::string survey = Src("examples/journeys/survey.yaml");
  rc = RunRapport({"journey", "deploy", survey, "--db", db}, &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\ndeployed: survey v1\n"), std::string::npos) << out;
  rc = RunRapport({"journey", "deploy", survey, "--db", db}, &out);
  EXPECT_NE(out.find("already deployed: survey v1"), std::string::npos) << out;
  rc = RunRapport({"journey", "deploy", dir.File("none.yaml"), "--db", db}, &out);
  EXPECT_EQ(rc, 2) << out;
}

TEST(JourneyCliTest, CheckJsonAndBadModel) {
  std::string out;
  int rc = RunRapport({"journey", "check", Src("examples/journeys/broken/lost-kit-no-timeout.yaml"),
                       "--deviations", Src(kModel), "--json"},
                      &out);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("\"property\": \"no-silent-wait\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"pass\": false"), std::string::npos) << out;
  ScratchDir dir;
  std::ofstream(dir.File("bad.yaml")) << "events:\n  kit.arrived: {after: order.placed}\n";
  out.clear();
  rc = RunRapport({"journey", "check", Src("examples/journeys/trade-in.yaml"), "--deviations",
                   dir.File("bad.yaml")},
                  &out);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find(dir.File("bad.yaml") + ":2:3: unknown event type 'kit.arrived'"),
            std::string::npos)
      << out;
}

TEST(JourneyCliTest, SimulateIsDeterministicAndDrawsAChart) {
  ScratchDir dir;
  std::string a, b;
  std::vector<std::string> args = {
      "journey",      "simulate",  Src("examples/journeys/trade-in.yaml"),
      "--deviations", Src(kModel), "--customers",
      "500",          "--seed",    "3",
      "--json"};
  ASSERT_EQ(RunRapport(args, &a), 0) << a;
  ASSERT_EQ(RunRapport(args, &b), 0) << b;
  auto strip = [](std::string s) {  // the run time differs
    auto p = s.find("\"seconds\"");
    auto e = s.find('\n', p);
    return s.erase(p, e - p);
  };
  EXPECT_EQ(strip(a), strip(b));
  EXPECT_NE(a.find("\"premature\": {\n      \"customers\": 0"), std::string::npos) << a;
  std::string text;
  ASSERT_EQ(
      RunRapport({"journey", "simulate", Src("examples/journeys/trade-in.yaml"), "--deviations",
                  Src(kModel), "--customers", "200", "--svg", dir.File("t.svg")},
                 &text),
      0)
      << text;
  EXPECT_NE(text.find("time to completion (success end states):  p50 "), std::string::npos) << text;
  std::string svg = Slurp(dir.File("t.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("kit_delivered"), std::string::npos);
}

// Issue 21: simulate shows who an anomaly happened to, and fails a CI job on the ones named.
TEST(JourneyCliTest, SimulateShowsSampleCustomersAndFailsOnTheAnomaliesNamed) {
  std::string out;
  // The broken reminder goes out before the kit arrived: premature for some customers.
  int rc = RunRapport(
      {"journey", "simulate", Src("examples/journeys/broken/reminder-from-order.yaml"),
       "--deviations", Src(kModel), "--customers", "300", "--fail-on", "duplicate,premature"},
      &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("\npremature, e.g.:\n  C-"), std::string::npos) << out;
  EXPECT_NE(out.find("order.placed occurred 2026-"), std::string::npos) << out;
  EXPECT_NE(out.find("customers had premature"), std::string::npos) << out;
  // The journey itself: no premature message, whatever else the model lets happen.
  rc = RunRapport({"journey", "simulate", Src("examples/journeys/trade-in.yaml"), "--deviations",
                   Src(kModel), "--customers", "300", "--fail-on", "premature,short-deadline"},
                  &out);
  EXPECT_EQ(rc, 0) << out;
  rc = RunRapport({"journey", "simulate", Src("examples/journeys/trade-in.yaml"), "--customers",
                   "10", "--fail-on", "late-ish"},
                  &out);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("unknown anomaly 'late-ish'"), std::string::npos) << out;
}

// A model for which the time grid is not provably exact: a business day across the end of
// daylight saving in Berlin is 25 hours. Check does not pass it (exit 1) and says why; on a finer
// grid (--grid-divisor) the same rule is reported.
TEST(JourneyCliTest, CheckReportsAModelItCannotProveExact) {
  ScratchDir dir;
  std::ofstream(dir.File("kit.yaml")) << "journey: kit\nversion: 1\ncorrelation: order_id\n"
                                         "start: {on: order.placed}\n"
                                         "calendar: {time_zone: Europe/Berlin}\n"
                                         "events:\n"
                                         "  order.placed: {keys: [order_id]}\n"
                                         "  kit.shipped: {keys: [order_id]}\n"
                                         "  kit.delivered: {keys: [order_id]}\n"
                                         "steps:\n"
                                         "  - {name: ordered, completed_by: order.placed}\n"
                                         "  - {name: shipped, completed_by: kit.shipped}\n"
                                         "  - {name: delivered, completed_by: kit.delivered}\n"
                                         "actions:\n"
                                         "  - name: chase_carrier\n"
                                         "    kind: task\n"
                                         "    queue: logistics\n"
                                         "    after: 1 business days from kit.shipped\n"
                                         "    unless: [delivered]\n"
                                         "end_states:\n"
                                         "  - {name: done, when: delivered}\n";
  std::ofstream(dir.File("m.yaml")) << "start: 2026-10-19T09:00:00Z\n"
                                       "events:\n  order.placed: {}\n"
                                       "  kit.shipped: {after: order.placed, delay: [0d, 4d]}\n"
                                       "  kit.delivered: {after: kit.shipped, delay: [0d, 4d]}\n";
  for (const char* divisor : {"1", "2"}) {
    std::string out;
    int rc = RunRapport({"journey", "check", dir.File("kit.yaml"), "--deviations",
                         dir.File("m.yaml"), "--grid-divisor", divisor},
                        &out);
    EXPECT_EQ(rc, 3) << "undecided, not a violation: " << out;
    EXPECT_NE(out.find("\nNOT PROVEN: kit v1: the time grid is not exact for this model"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("the timer of chase_carrier (1 business days from "), std::string::npos)
        << out;
  }
}

}  // namespace
}  // namespace rapport::testing
