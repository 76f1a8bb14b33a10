// Journey scenario files (testdata/*.test): a definition, events and the complete list of
// actions that must come out, with their times and params, plus the final instance states.
// Read by the in-process scenario test and by the end-to-end test that plays the same files
// through the HTTP API, so both hold the runtime and the server to one expectation.
//
// Format:
//   # comment
//   name: ...            description: ... (may continue on indented lines)
//   definition: path relative to the source root
//   until: RFC 3339      (optional; default: run until no timer is left)
//   events:              then one NDJSON event per line (optional "received_at")
//   expect:              then lines "<created_at> <action>#<occurrence> [param=value ...]"
//                        and "state <key> <end state | running>"
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"

namespace rapport::journey {

struct ScenarioFile {
  std::string name;
  std::string definition;
  std::optional<Time> until;
  std::string events;                                       // NDJSON
  std::vector<std::string> actions;                         // expected outbox, in order
  std::vector<std::pair<std::string, std::string>> states;  // key, end state or "running"
};

// Errors name the file and line.
Result<ScenarioFile> LoadScenarioFile(const std::string& path);

// The *.test files of `dir`, sorted.
std::vector<std::string> ScenarioFilesIn(const std::string& dir);

// "<created_at> <action>#<occurrence> [param=value ...]" of an outbox action in its JSON form
// (OutboxActionToJson, or an entry of GET /v1/outbox).
std::string ScenarioActionLine(const Json& action);

}  // namespace rapport::journey
