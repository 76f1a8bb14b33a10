#include "journey/scenario_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rapport::journey {

Result<ScenarioFile> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read", path);
  ScenarioFile s;
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
        auto t = ParseTime(value);
        if (!t.ok()) return t.status().WithWhere(where);
        s.until = *t;
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

std::vector<std::string> ScenarioFilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".test") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ScenarioActionLine(const Json& action) {
  std::string s = action.value("created_at", "") + " " + action.value("action", "") + "#" +
                  std::to_string(action.value("occurrence", 0));
  if (auto p = action.find("params"); p != action.end() && p->is_object()) {
    for (const auto& [k, v] : p->items()) s += " " + k + "=" + ScalarText(v);
  }
  return s;
}

}  // namespace rapport::journey
