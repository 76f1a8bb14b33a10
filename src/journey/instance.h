// A journey instance as a pure state machine: (definition, state, input, now) -> (state, effects).
// Nothing here reads a clock, a store or the network; the caller persists the new state, the
// outbox actions and the timer changes of one step in one transaction.
//
// Invariants of an instance (tests in instance_test.cc and runtime_test.cc are named after them):
//
//  1. OneInstancePerKey: an instance is named by (journey, correlation key). `key` never changes.
//     Only the definition's start event creates one (StartInstance); a second start event for the
//     same key is an ordinary event of the existing instance.
//  2. IdempotentByEventId: an event whose id was applied before changes nothing; the step only
//     reports a "duplicate" timeline entry.
//  3. FactsAreMonotone: once a fact holds it holds forever. Its time is the earliest occurred_at
//     of the events that establish it, so the facts do not depend on arrival order. A step holds
//     when one of its completing events holds or a later step holds ("implied"); an all-of fact
//     (`{all: [..]}`, `latest(..)`) once all its parts hold, from the latest of them.
//  4. TimersAreDerived: after every step, `timers` is exactly the desired set: for each timed
//     action of a running instance whose anchor fact holds, whose `unless` facts do not hold and
//     which has occurrences left, one timer for its next occurrence k, due at
//     Resolve(anchor) + k * every. Every difference to the previous set is a TimerChange effect.
//     Due times derive from occurred_at only, never from received_at or `now`.
//  5. AtMostOncePerOccurrence: each occurrence of an action is decided (fired or skipped) once;
//     `next` only grows. The outbox idempotency key is journey/key/action#occurrence, so a crash
//     between deciding and sending cannot send an occurrence twice.
//  6. GuardsUseFactsKnownNow: an action fires only if all `requires` hold and no `unless` holds at
//     processing time. An event that is known when an (overdue) timer is processed always wins
//     over the timer; the timeline records whether it occurred before or after the due time.
//     After downtime, of several overdue occurrences only the last is evaluated.
//  7. BoundedRepetitions: occurrences < max_occurrences; untimed actions fire at most once.
//  8. EndIsFinal: in an ended instance no action fires and no timer is pending; later events are
//     recorded (seen, facts) but trigger nothing.
//  9. EveryDecisionHasReasons: fired and skipped actions carry the facts their guards looked at,
//     with the time each began to hold and the event that established it.
//
// State diagram of an instance (function performing each transition in brackets):
//
//      (none) ──start event──► RUNNING ──an end state's fact holds──► ENDED(end state)
//             [StartInstance]   │   ▲          [ApplyEvent]
//                               └───┘ event [ApplyEvent] / due timer [FireTimer]:
//                                     facts grow, actions fire, timers re-derived
//
// and of occurrence k of a timed action:
//
//   WAITING ──anchor holds, no unless──► SCHEDULED(due) ──due, requires hold──► FIRED
//      ▲                                   │    └──due, requires missing or expired──► SKIPPED
//      └────unless holds or instance ended─┘          (FIRED/SKIPPED: occurrence k+1 is WAITING)
//
// Thread-safety: all functions are pure over their arguments; InstanceState is a plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/model.h"
#include "core/status.h"
#include "journey/definition.h"

namespace rapport::journey {

enum class InstanceStatus : uint8_t { kRunning, kEnded };

struct HeldFact {
  FactId fact = kNoFact;
  bool implied = false;  // a step that holds because a later step or event implies it
  Time at{};             // earliest occurred_at (invariant 3)
  std::string event_id;  // the event that established it
};

struct ActionProgress {
  ActionId action = kNoAction;
  uint16_t next = 0;   // occurrences decided so far (fired or skipped)
  uint16_t fired = 0;  // of which fired
  Time last_fired{};   // processing time of the last firing
};

struct PendingTimer {
  ActionId action = kNoAction;
  uint16_t occurrence = 0;
  Time due{};
  bool operator==(const PendingTimer&) const = default;
};

// Compact, copyable state of one instance. Field vectors are small and sorted by id.
struct InstanceState {
  int version = 0;  // of the definition the instance runs on, for ever
  std::string key;  // correlation key value, e.g. "O-1001"
  // Who the instance is about: the first non-empty event subject (a person id or customer
  // key). Outbox actions carry it, so that e.g. an open_case action links the right person.
  std::string subject;
  InstanceStatus status = InstanceStatus::kRunning;
  uint16_t end_state = 0xffff;  // index into end_states() once ended
  Time started_at{};            // processing times
  Time ended_at{};
  uint32_t steps = 0;  // inputs that changed the state; a store can use it as a row version
  std::vector<std::pair<KeyId, std::string>> aliases;  // learnt keys, e.g. shipment_id=S-9
  std::vector<HeldFact> facts;                         // sorted by fact
  std::vector<uint64_t> seen;                          // Hash64 of applied event ids, sorted
  std::vector<ActionProgress> progress;                // sorted by action
  std::vector<PendingTimer> timers;                    // sorted by action

  const HeldFact* Fact(FactId f) const;
  const ActionProgress* Progress(ActionId a) const;
  bool Holds(FactId f) const { return Fact(f) != nullptr; }
};

// One fact a guard looked at.
struct FactReason {
  std::string role;  // "requires", "unless", "anchor", "compensates"
  std::string fact;
  bool held = false;
  Time since{};          // when it began to hold (occurred_at), if held
  std::string event_id;  // the event that established it, if held
  bool implied = false;
};

enum class TimelineKind : uint8_t {
  kStarted,    // instance created by its start event
  kEvent,      // event applied
  kDuplicate,  // event id seen before: nothing changed
  kAfterEnd,   // event applied to an ended instance: recorded, nothing triggered
  kStep,       // a step began to hold
  kFired,      // action occurrence fired (see outbox)
  kSkipped,    // action occurrence decided without firing (requires missing, expired, overdue)
  kScheduled,  // timer scheduled
  kCancelled,  // timer cancelled (an event won the race, or the instance ended)
  kLate,       // event that occurred before an action fired, but arrived after it
  kEnded,      // end state reached
};
std::string_view TimelineKindName(TimelineKind k);

struct TimelineEntry {
  Time at{};  // processing time
  TimelineKind kind = TimelineKind::kEvent;
  std::string subject;   // event type, action, step or end state
  std::string event_id;  // the input event, if any
  std::optional<Time> occurred_at;
  std::optional<Time> due;
  int occurrence = -1;
  std::string text;  // one sentence for people
  std::vector<FactReason> reasons;
};

// An action to deliver, to be written to the outbox in the same transaction as the state.
struct OutboxAction {
  std::string idempotency_key;  // journey/key/action#occurrence (invariant 5)
  std::string journey;
  int version = 0;
  std::string instance_key;
  std::string action;
  uint16_t occurrence = 0;
  ActionKind kind = ActionKind::kMessage;
  Audience audience = Audience::kCustomer;
  std::string channel, template_name, url, queue;
  std::string subject;                    // the instance's subject, if known
  std::optional<OpenCaseSpec> open_case;  // kind open_case
  // kind open_case: the instance's keys (primary first, then learnt aliases), so that the case
  // can record e.g. the order it is about.
  std::vector<std::pair<std::string, std::string>> keys;
  Json params = Json::object();  // literal params and computed dates (RFC 3339)
  Time created_at{};             // processing time
  std::optional<Time> due;       // for timed actions
  std::vector<FactReason> reasons;
};

// A change to the instance's pending timers. kSchedule: insert (timer_id is unique per
// occurrence); kCancel: delete, it will never fire; kDone: delete, this step decided it.
struct TimerChange {
  enum class Op : uint8_t { kSchedule, kCancel, kDone };
  Op op = Op::kSchedule;
  std::string timer_id;  // the idempotency key of the occurrence it will decide
  ActionId action = kNoAction;
  std::string action_name;
  uint16_t occurrence = 0;
  Time due{};
};

// What one step produced. Append-only; Clear() before reusing.
struct Effects {
  bool record_timeline = true;  // false: skip building timeline entries (simulator, benchmark)
  bool created = false;
  std::vector<OutboxAction> outbox;
  std::vector<TimerChange> timers;
  std::vector<TimelineEntry> timeline;
  // Keys the instance learnt in this step: route later events with them to this instance.
  std::vector<std::pair<std::string, std::string>> bound_keys;

  void Clear();
};

// "trade-in/O-1/send_back_reminder#0", with '%', '/' and '#' in the parts percent-encoded.
std::string IdempotencyKey(std::string_view journey, std::string_view key, std::string_view action,
                           int occurrence);

// Where an event goes in a journey. `listens` is false when the journey does not declare the
// event type. Look the instance up by `primary` if set, else by each alias (key name, value).
struct Route {
  bool listens = false;
  bool starts = false;  // it is the start event and matches start.where
  std::optional<std::string> primary;
  std::vector<std::pair<std::string, std::string>> aliases;
};
Route RouteEvent(const JourneyDefinition& def, const Event& e);

// Creates the instance for a start event and applies it, together with `backlog`: events of
// this key that arrived before the start event (all facts are recorded before anything fires).
// kInvalidArgument if `e` is not a start event of `def`, an event has no id or belongs to
// another key. *state is overwritten.
Status StartInstance(const JourneyDefinition& def, const Event& e, Time now, InstanceState* state,
                     Effects* effects, std::span<const Event> backlog = {});

// Applies one event. Errors (state unchanged, no effects): kFailedPrecondition if the state
// belongs to another version, kInvalidArgument if the journey does not declare the event type,
// the event has no id, or carries another correlation key than the instance's.
Status ApplyEvent(const JourneyDefinition& def, InstanceState* state, const Event& e, Time now,
                  Effects* effects);
// Applies several events as one step: all facts first, then actions and timers, so a backlog
// (e.g. after downtime) is judged on everything known now. Same errors; all or nothing.
Status ApplyEvents(const JourneyDefinition& def, InstanceState* state,
                   std::span<const Event> events, Time now, Effects* effects);

// Decides the due occurrence of a timed action. A timer that is no longer pending (cancelled,
// superseded, instance ended) is a no-op returning OK, so a driver may delete timers lazily.
// kFailedPrecondition if the timer is not yet due at `now` or the version differs.
Status FireTimer(const JourneyDefinition& def, InstanceState* state, ActionId action,
                 uint16_t occurrence, Time now, Effects* effects);

// The pure form of one step, for callers that keep the old state: copies, then applies.
struct StepResult {
  InstanceState state;
  Effects effects;
};
Result<StepResult> StepEvent(const JourneyDefinition& def, const InstanceState* before,
                             const Event& e, Time now);  // before == nullptr: start
Result<StepResult> StepTimer(const JourneyDefinition& def, const InstanceState& before,
                             ActionId action, uint16_t occurrence, Time now);

// The stored form. Names (not ids) throughout, so that it stays readable; see docs/journeys.md.
Json StateToJson(const JourneyDefinition& def, const InstanceState& state);
// kInvalidArgument (where = JSON field) if malformed, kFailedPrecondition if it names another
// journey or version, or facts/actions the definition does not have.
Result<InstanceState> StateFromJson(const JourneyDefinition& def, const Json& j);

Json TimelineEntryToJson(const TimelineEntry& e);
// Appends TimelineEntryToJson(e).dump(), byte for byte, without building the Json: the service
// writes one per event and timer.
void AppendTimelineEntryJson(std::string& out, const TimelineEntry& e);
Json OutboxActionToJson(const OutboxAction& a);
Json TimerChangeToJson(const TimerChange& t);
// "2026-11-20T09:00:00Z fired send_back_reminder #0: ... because kit.delivered (evt-5, ...)".
std::string TimelineEntryToText(const TimelineEntry& e);

}  // namespace rapport::journey
