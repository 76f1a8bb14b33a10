// Data-driven journey scenarios: each testdata/*.test file gives a definition, events (NDJSON,
// with optional received_at) and the complete list of actions that must come out, with their
// times and params, plus the final state of instances. Events and clock moves in, actions out.
//
// File format:
//   # comment
//   name: ...            description: ... (may continue on indented lines)
//   definition: path relative to the source root
//   until: RFC 3339      (optional; default: run until no timer is left)
//   events:              then one NDJSON event per line
//   expect:              then lines "<created_at> <action>#<occurrence> [param=value ...]"
//                        and "state <key> <end state | running>"
// The outbox must equal the expected actions exactly, in order: nothing missing, nothing twice,
// nothing early.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "journey/replay.h"

namespace rapport::journey {
namespace {

// The file list is needed when ctest discovers the tests, before RAPPORT_SOURCE_DIR is set.
std::string SourceDir() {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return d ? d : RAPPORT_JOURNEY_SOURCE_DIR;
}

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(SourceDir() + "/src/journey/testdata", ec)) {
    if (e.path().extension() == ".test") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Scenario {
  std::string name;
  std::string definition;
  std::optional<Time> until;
  std::string events;  // NDJSON
  std::vector<std::string> actions;
  std::vector<std::pair<std::string, std::string>> states;  // key, end state or "running"
};

Result<Scenario> ParseScenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read", path);
  Scenario s;
  enum { kHeader, kEvents, kExpect } section = kHeader;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::string where = path + ":" + std::to_string(n);
    if (line.empty() || line[0] == '#') continue;
    if (line == "events:") {
      section = kEvents;
    } else if (line == "expect:") {
      section = kExpect;
    } else if (section == kEvents) {
      s.events += line + "\n";
    } else if (section == kExpect) {
      if (line.rfind("state ", 0) == 0) {
        std::istringstream words(line.substr(6));
        std::string key, state;
        words >> key >> state;
        if (state.empty()) return InvalidArgument("expected 'state <key> <state>'", where);
        s.states.emplace_back(key, state);
      } else {
        s.actions.push_back(line);
      }
    } else if (line[0] == ' ') {
      continue;  // continuation of a description
    } else {
      size_t colon = line.find(": ");
      if (colon == std::string::npos) return InvalidArgument("expected 'field: value'", where);
      std::string key = line.substr(0, colon), value = line.substr(colon + 2);
      if (key == "name") {
        s.name = value;
      } else if (key == "definition") {
        s.definition = value;
      } else if (key == "until") {
        ASSIGN_OR_RETURN(Time t, ParseTime(value));
        s.until = t;
      } else if (key != "description") {
        return InvalidArgument("unknown field " + key, where);
      }
    }
  }
  if (s.name.empty() || s.definition.empty()) {
    return InvalidArgument("a scenario needs name and definition", path);
  }
  return s;
}

std::string ActionLine(const OutboxAction& o) {
  std::string s = FormatTime(o.created_at) + " " + o.action + "#" + std::to_string(o.occurrence);
  for (const auto& [k, v] : o.params.items()) s += " " + k + "=" + ScalarText(v);
  return s;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += "  " + l + "\n";
  return s;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, ActionsOutAreExactlyTheExpectedOnes) {
  auto scenario = ParseScenario(GetParam());
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
  for (const auto& o : rt.outbox()) actual.push_back(ActionLine(o));
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
