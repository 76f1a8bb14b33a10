// `journey simulate`: N synthetic customers through the real in-memory Runtime on a virtual
// clock, with delays and faults drawn from the deviation model. Reports the rate of each
// customer-facing anomaly, percentiles of the time to completion and the distribution of when
// each step completes (also as an SVG chart).
//
// Deterministic: every draw is a hash of (seed, customer, event, purpose), so the result does
// not depend on processing order, and the same seed gives the same report.
// Thread-safety: a pure function of its arguments (one Runtime inside).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "journey/definition.h"
#include "journey/verify/deviations.h"

namespace rapport::journey {

struct SimulateOptions {
  uint64_t customers = 1000;
  uint64_t seed = 1;
};

// Anomaly names (same meaning as the check properties; "raced" is an event that occurred
// before a reminder but arrived after it, which no definition can prevent).
inline constexpr const char* kAnomalyPremature = "premature";  // asked before able to act
inline constexpr const char* kAnomalyShortDeadline = "short-deadline";
inline constexpr const char* kAnomalyDuplicate = "duplicate";
inline constexpr const char* kAnomalyAfterDone = "after-done";  // task was known done
inline constexpr const char* kAnomalyRaced = "raced";           // done, not yet known
inline constexpr const char* kAnomalySilentWait = "silent-wait";
inline constexpr const char* kAnomalyNotEnded = "not-ended";
// A date told earlier than the message's promise in words (promise: {within, from}).
inline constexpr const char* kAnomalyBrokenPromise = "broken-promise";

// A customer an anomaly happened to, for a reader to follow: what happened in the world and
// when the journey heard of it.
struct SampleCustomer {
  std::string key;                   // the instance key, "C-<n>"
  std::vector<std::string> history;  // "<type> occurred <t>, received <t>" (or "never reported")
  std::string outcome;               // "ended: <end state>" or "running"
};

struct SimulateReport {
  uint64_t customers = 0;
  uint64_t events = 0;   // events ingested
  uint64_t actions = 0;  // actions fired
  double seconds = 0;
  // Customers affected per anomaly (every anomaly name present, 0 if none).
  std::map<std::string, uint64_t> anomalies;
  std::map<std::string, uint64_t> end_states;  // customers per end state
  uint64_t running = 0;                        // not ended when nothing was left to happen
  // Time from start to a success end state: p50, p90, p99, max (empty if none completed).
  std::vector<std::pair<std::string, Duration>> completion;
  // Per step (then "end"): how many customers completed it on day d after their start.
  std::vector<std::pair<std::string, std::vector<uint64_t>>> days;
  // Per anomaly: the first three customers it happened to (by customer number).
  std::map<std::string, std::vector<SampleCustomer>> samples;
};

// The anomaly names a report counts, in report order (for `--fail-on`).
const std::vector<std::string>& AnomalyNames();

SimulateReport Simulate(const JourneyDefinition& def, const DeviationModel& model,
                        const SimulateOptions& options);

Json SimulateReportToJson(const SimulateReport& r);
std::string SimulateReportToText(const JourneyDefinition& def, const SimulateReport& r);
// A self-contained SVG: one row per step, a bar per day with the share of customers that
// completed the step that day; the completion percentiles marked.
std::string SimulateReportToSvg(const JourneyDefinition& def, const SimulateReport& r);

}  // namespace rapport::journey
