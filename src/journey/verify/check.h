// `journey check`: explores every order and timing of events that a deviation model allows and
// drives the real instance state machine (instance.h: StartInstance, ApplyEvent, FireTimer)
// through each of them, checking properties of what reaches the customer. Time is explored on
// a grid (TimeGrid), and at each point of it every order of the receipts and timers that fall
// on it; where a real time within one grid step can lie on another calendar day (business days)
// or parked events of one grid point can be released in another order, each possibility is a
// branch too. docs/journeys.md, "Why the time grid is exact", proves that this finds every
// violation of real (microsecond) time, under conditions the checker verifies as it goes: where
// one does not hold, the report says so and does not pass (CheckReport::not_exact). Each violated
// property comes with its shortest counterexample: the events with their times (replayable with
// `rapport journey run`) and the action that fired.
//
// Thread-safety: CheckJourney is a pure function of its arguments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/model.h"
#include "journey/definition.h"
#include "journey/verify/deviations.h"

namespace rapport::journey {

// The properties, by the names reports use.
inline constexpr const char* kPropCanAct = "can-act";          // asked only when able to act
inline constexpr const char* kPropDeadline = "deadline";       // promised time to act is left
inline constexpr const char* kPropOnce = "once";               // no action twice per occurrence
inline constexpr const char* kPropNotDone = "not-after-done";  // no reminder once the task is done
inline constexpr const char* kPropEnds = "ends";  // ends unless the world lost something
inline constexpr const char* kPropNoSilentWait = "no-silent-wait";  // never waits unnoticed
inline constexpr const char* kPropStepsReachable = "steps-reachable";

struct CheckOptions {
  uint64_t max_states = 50'000'000;  // give up (incomplete) beyond this many explored states
  // Explore on TimeGrid / grid_divisor instead of TimeGrid (must divide it). The theorem says
  // a finer grid finds the same violations; tests use this to check that empirically.
  int grid_divisor = 1;
};

struct Violation {
  std::string property;
  std::string message;  // one sentence: what went wrong, with times
  std::string action;   // the action that fired (empty for ends/no-silent-wait/steps-reachable)
  int occurrence = -1;
  Time at{};                  // when it fired, or when the run went quiet
  std::vector<Event> events;  // the counterexample, by received_at (occurred_at inside)
  // Per event: how many timers due at its receipt's instant were processed before it (0: none).
  // A receipt and a timer at one instant race in a live runtime; `journey run` applies receipts
  // first, so `events` lists such a receipt that many microseconds after the instant, and `at`
  // is later by at_tie for the same reason. Reports show the instant and say so instead.
  std::vector<uint16_t> after_timers;
  Duration at_tie{0};
  std::vector<std::string> fired;  // "<time> <action> #k" of everything fired in that run
};

struct CheckReport {
  bool complete = true;  // false: max_states was hit, the space was not fully explored
  // Why exploring the grid is not provably exact for this definition and model (a condition of
  // the digitization argument failed somewhere, see docs/journeys.md), or a violation found only
  // with another calendar day or release order whose counterexample does not replay as a run of
  // the model; empty when everything was decided. Such a report does not pass.
  std::vector<std::string> not_exact;
  uint64_t states = 0;  // explored states (one per event, timer or choice point processed)
  uint64_t runs = 0;    // complete runs (leaves)
  uint64_t merged = 0;  // states reached again by another run (explored once)
  // Branches in which a real time lies on another calendar day than its grid point (for the
  // definition's business-day rules), and in which events parked at one grid point are released
  // in another order than they were parked in.
  uint64_t day_branches = 0;
  uint64_t order_branches = 0;
  Duration grid{0};
  double seconds = 0;
  std::string model;                    // the deviation model checked against (Describe)
  std::vector<std::string> properties;  // checked, in report order
  std::vector<Violation> violations;    // at most one (the shortest) per property
  bool pass() const { return complete && not_exact.empty() && violations.empty(); }
};

CheckReport CheckJourney(const JourneyDefinition& def, const DeviationModel& model,
                         const CheckOptions& options = {});

Json CheckReportToJson(const JourneyDefinition& def, const CheckReport& report);
std::string CheckReportToText(const JourneyDefinition& def, const CheckReport& report);
// The counterexample as NDJSON for `rapport journey run` (with received_at).
std::string CounterexampleNdjson(const Violation& v);

// The event a model entry produces for one customer: id "<type>#<n>", keys derived from `key`
// (the correlation key itself, aliases as "<alias name>:<key>"), the start's where fields.
Event ModelEvent(const JourneyDefinition& def, FactId event_fact, const std::string& key, int n,
                 Time occurred, Time received);

}  // namespace rapport::journey
