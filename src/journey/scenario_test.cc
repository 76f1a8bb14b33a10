// Data-driven journey scenarios (format: scenario_file.h): events and clock moves in, actions
// out. The outbox must equal the expected actions exactly, in order: nothing missing, nothing
// twice, nothing early. tests/journey_e2e_test.cc plays the same files through the server.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "journey/replay.h"
#include "journey/scenario_file.h"

namespace rapport::journey {
namespace {

// The file list is needed when ctest discovers the tests, before RAPPORT_SOURCE_DIR is set.
std::string SourceDir() {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return d ? d : RAPPORT_JOURNEY_SOURCE_DIR;
}

std::vector<std::string> ScenarioFiles() {
  return ScenarioFilesIn(SourceDir() + "/src/journey/testdata");
}

std::string Join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += "  " + l + "\n";
  return s;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, ActionsOutAreExactlyTheExpectedOnes) {
  auto scenario = LoadScenarioFile(GetParam());
  ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
  SCOPED_TRACE(scenario->name);
  auto def = LoadDefinitionFile(SourceDir() + "/" + scenario->definition);
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  auto events = ParseReplayEvents(scenario->events, GetParam());
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_FALSE(events->empty());
  ManualClock clock(events->front().received_at);
  Runtime rt(clock);
  ASSERT_TRUE(rt.Deploy(*def).ok());
  ReplayOptions options;
  options.until = scenario->until;
  ReplayReport report = Replay(rt, clock, *events, options);
  EXPECT_TRUE(report.warnings.empty()) << report.warnings.front();

  std::vector<std::string> actual;
  for (const auto& o : rt.outbox()) actual.push_back(ScenarioActionLine(OutboxActionToJson(o)));
  EXPECT_EQ(actual, scenario->actions) << "expected:\n"
                                       << Join(scenario->actions) << "actual:\n"
                                       << Join(actual);
  for (const auto& [key, want] : scenario->states) {
    const InstanceState* s = rt.Find((*def)->name(), key);
    ASSERT_NE(s, nullptr) << "no instance " << key;
    std::string got =
        s->status == InstanceStatus::kEnded ? (*def)->end_states()[s->end_state].name : "running";
    EXPECT_EQ(got, want) << key;
  }
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string stem = std::filesystem::path(info.param).stem().string();
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return stem;
}

INSTANTIATE_TEST_SUITE_P(Testdata, ScenarioTest, ::testing::ValuesIn(ScenarioFiles()), TestName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ScenarioTest);

}  // namespace
}  // namespace rapport::journey
