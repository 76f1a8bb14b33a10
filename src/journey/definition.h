// Journey definitions: the YAML text a team writes, loaded, validated and compiled into an
// immutable JourneyDefinition that the runtime, `journey check` and `journey simulate` share.
//
// The compiled form is explicit on purpose, so that a model checker can read it without
// re-parsing anything: every guard is a list of fact ids, every timer names the fact it is
// anchored to and its offset, and implication between facts (an event completes a step, a
// later step implies the earlier ones) is a precomputed table (Implies()).
//
// Contract:
//  - LoadDefinition never throws; yaml-cpp exceptions are caught inside. Errors come back as
//    Diagnostics with file, line and column (1-based) of the offending YAML node.
//  - A JourneyDefinition is immutable after loading and safe to share between threads; it is
//    handed out as shared_ptr<const> because running instances keep their version alive after
//    a newer version was deployed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"
#include "timezone/zone.h"

namespace rapport::journey {

// Small dense ids into the definition's tables; they keep instance state compact.
using FactId = uint16_t;
using ActionId = uint16_t;
using KeyId = uint16_t;  // 0 is always the journey's correlation (primary) key

inline constexpr FactId kNoFact = 0xffff;
inline constexpr ActionId kNoAction = 0xffff;

// One problem in a definition, at a position in its file.
struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when the problem has no position (e.g. empty document)
  int column = 0;  // 1-based
  std::string message;

  // "file:line:column: message".
  std::string ToString() const;
};

// Weekends and listed holidays, in local days of a time zone (UTC unless the definition names
// one). Used by `after: N business days from F`.
class BusinessCalendar {
 public:
  BusinessCalendar();  // Saturday and Sunday off, no holidays.

  // weekday: 0 = Sunday ... 6 = Saturday (as std::chrono::weekday::c_encoding()).
  void SetWeekend(std::vector<unsigned> weekdays);
  void AddHoliday(std::chrono::sys_days day);
  bool IsBusinessDay(std::chrono::sys_days day) const;
  // Days, weekends and the kept time of day are local to `zone` (a named zone follows
  // daylight saving: Fri 10:00 + 1 business day is Mon 10:00 local, 71 or 73 hours later
  // across a change).
  void SetZone(timezone::Zone zone) { zone_ = std::move(zone); }
  const timezone::Zone& zone() const { return zone_; }

  // `t` moved forward by `days` business days, keeping the time of day: every calendar day
  // after t's day that is a business day counts one. AddBusinessDays(Fri 10:00, 1) = Mon 10:00
  // with a Sat/Sun weekend. At most 10 years are searched.
  Time AddBusinessDays(Time t, int days) const;

 private:
  bool weekend_[7] = {};
  std::vector<int64_t> holidays_;  // days since epoch, sorted
  timezone::Zone zone_;            // UTC by default
};

// "What is true" about an instance. A fact of kind kEvent holds once an event of that type was
// applied; a fact of kind kStep holds once one of its completing events was applied or a later
// step holds (steps are ordered; a later one implies the earlier ones). A fact of kind kAllOf
// holds once every one of its parts holds, since the latest of them: a step that needs two
// parcels (`completed_by: {all: [box.delivered, label.delivered]}`) or an anchor counted from
// the later of two facts (`10d from latest(box.delivered, label.delivered)`).
enum class FactKind : uint8_t { kEvent, kStep, kAllOf };

struct FactSpec {
  std::string name;  // the event type ("kit.delivered"), the step name, or "latest(a, b)"
  FactKind kind = FactKind::kEvent;
  uint16_t index = 0;         // into events() or steps(); 0 for kAllOf
  std::vector<FactId> parts;  // kAllOf: all must hold
};

std::string_view FactKindName(FactKind k);

struct EventSpec {
  std::string type;
  FactId fact = kNoFact;
  std::vector<KeyId> keys;  // correlation keys this event carries
  int line = 0;
  int column = 0;
};

struct StepSpec {
  std::string name;
  FactId fact = kNoFact;
  // Any one completes the step: event facts, or one kAllOf fact of events (`{all: [..]}`).
  std::vector<FactId> completed_by;
};

// A point in time derived from a fact: occurred_at(fact) + offset, or that many business days.
struct Anchor {
  FactId fact = kNoFact;
  Duration offset{0};
  int business_days = -1;  // >= 0: use the calendar instead of `offset`

  bool operator==(const Anchor&) const = default;
};

// kEnd: the timer of a timed end state (`end_states: - {name, after}`), compiled into an
// internal action named "end:<name>" so that it is scheduled, stored and explored as every timer
// is; firing it ends the instance in that state and sends nothing.
enum class ActionKind : uint8_t { kMessage, kWebhook, kTask, kOpenCase, kEnd };
enum class Audience : uint8_t { kCustomer, kInternal };

std::string_view ActionKindName(ActionKind k);
std::string_view AudienceName(Audience a);

// A parameter handed to the template/webhook: a literal text or a date computed from a fact.
struct ParamSpec {
  std::string name;
  std::string literal;
  std::optional<Anchor> date;  // rendered as RFC 3339
};

// kind open_case: the case a journey opens (an escalation) for the instance's person. The
// params become the case's fields; the cases service checks type, team and fields on delivery.
struct OpenCaseSpec {
  std::string type;      // required, e.g. "escalation"
  std::string team;      // empty: the case routing rules choose
  std::string priority;  // empty: the cases default ("normal")
  std::string title;

  bool operator==(const OpenCaseSpec&) const = default;
};

struct ActionSpec {
  std::string name;
  ActionKind kind = ActionKind::kMessage;
  Audience audience = Audience::kCustomer;
  std::string channel;                    // message: "email", "sms", "letter"
  std::string template_name;              // message
  std::string url;                        // webhook
  std::string queue;                      // task: the team/queue an agent works from
  std::optional<OpenCaseSpec> open_case;  // open_case
  // The step the customer is asked to complete; the action never fires once it holds.
  FactId asks_customer_to = kNoFact;
  std::vector<FactId> required;  // all must hold when it fires
  std::vector<FactId> unless;    // none may hold when it fires (asks_customer_to included)
  // Timed actions: occurrence k is due at Resolve(*after) + k * every, k < max_occurrences.
  // Untimed actions fire once, as soon as their guards hold.
  std::optional<Anchor> after;
  Duration every{0};
  uint16_t max_occurrences = 1;
  // An occurrence processed later than due + expires is skipped as stale (0 = never stale).
  Duration expires{0};
  // Compensation: fires only if that action fired before.
  ActionId compensates = kNoAction;
  // Listed in an end state's `then`: fires only when the instance enters that end state
  // (cancellation, compensation), never on its guards alone. Such actions are untimed.
  bool on_end = false;
  int16_t ends_in = -1;  // kEnd: the end state it enters
  std::vector<ParamSpec> params;
  // promise: {within, from}: the time the message promises the customer in words; every date
  // it tells must leave at least that (journey check, property deadline).
  std::optional<Anchor> promise;
  int line = 0;
  int column = 0;
};

struct EndStateSpec {
  std::string name;
  std::vector<FactId> when;  // any one ends the instance
  // A timed end: this long after a fact, if nothing ended it before and none of its `unless`
  // facts holds (they are its timer's, the action "end:<name>").
  std::optional<Anchor> after;
  bool success = true;         // false for cancellations, lost kits, lapses
  std::vector<ActionId> then;  // actions fired on entering it (guards still apply)
};

// Lets string-keyed hash maps be searched with a string_view, without a temporary string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

class JourneyDefinition {
 public:
  const std::string& name() const { return name_; }
  int version() const { return version_; }
  const std::string& file() const { return file_; }
  const std::string& description() const { return description_; }
  // A fingerprint of the YAML text, so that a store can tell two texts of one version apart.
  uint64_t fingerprint() const { return fingerprint_; }

  // keys()[0] is the correlation key that names an instance (e.g. "order_id"); the others are
  // aliases an instance learns from events that carry both (e.g. "shipment_id").
  const std::vector<std::string>& keys() const { return keys_; }
  const std::string& primary_key() const { return keys_[0]; }
  std::optional<KeyId> FindKey(std::string_view name) const;

  // The event that creates an instance, and payload fields it must carry ("where").
  FactId start_fact() const { return start_fact_; }
  const std::vector<std::pair<std::string, std::string>>& start_where() const {
    return start_where_;
  }

  const std::vector<FactSpec>& facts() const { return facts_; }
  const std::vector<EventSpec>& events() const { return events_; }
  const std::vector<StepSpec>& steps() const { return steps_; }
  const std::vector<ActionSpec>& actions() const { return actions_; }
  const std::vector<EndStateSpec>& end_states() const { return end_states_; }
  // The facts of kind kAllOf, in id order.
  const std::vector<FactId>& all_of_facts() const { return all_of_facts_; }
  const BusinessCalendar& calendar() const { return calendar_; }

  std::optional<FactId> FindFact(std::string_view name) const;
  // nullptr if the journey does not listen to this event type.
  const EventSpec* FindEvent(std::string_view type) const;
  std::optional<ActionId> FindAction(std::string_view name) const;

  // True if whenever fact `a` holds, fact `b` holds too (reflexive; an event implies the step it
  // completes and every earlier step; a step implies every earlier step).
  bool Implies(FactId a, FactId b) const { return implies_[a * facts_.size() + b]; }

  // The ways fact `f` can come to hold, each a set of event facts that must all have occurred:
  // {e} for an event; for a step, one set per completing event (or all-of) of it and of every
  // later step; for an all-of fact, one set per combination of its parts' ways.
  const std::vector<std::vector<FactId>>& Conditions(FactId f) const { return conditions_[f]; }
  // When `f` began to hold, given when each event occurred (`event_time(event_fact)`, `never` -
  // the greatest value of T - for one that has not): the earliest of its conditions, each at its
  // latest event. *decided (optional) is that latest event, kNoFact if f never held.
  template <typename T, typename EventTime>
  T HoldsSince(FactId f, T never, EventTime&& event_time, FactId* decided = nullptr) const {
    T best = never;
    FactId best_event = kNoFact;
    for (const auto& condition : conditions_[f]) {
      T latest = event_time(condition.front());
      FactId latest_event = condition.front();
      for (size_t i = 1; i < condition.size(); ++i) {
        T t = event_time(condition[i]);
        if (t > latest) {
          latest = t;
          latest_event = condition[i];
        }
      }
      if (latest < best) {
        best = latest;
        best_event = latest_event;
      }
    }
    if (decided) *decided = best_event;
    return best;
  }

  // The time an anchor denotes once its fact holds since `fact_time`.
  Time Resolve(const Anchor& anchor, Time fact_time) const;
  // "10d from kit.delivered", "5 business days from kit_shipped".
  std::string AnchorText(const Anchor& anchor) const;

 private:
  friend class DefinitionCompiler;

  std::string name_;
  int version_ = 0;
  std::string file_;
  std::string description_;
  uint64_t fingerprint_ = 0;
  std::vector<std::string> keys_;
  FactId start_fact_ = kNoFact;
  std::vector<std::pair<std::string, std::string>> start_where_;
  std::vector<FactSpec> facts_;
  std::vector<EventSpec> events_;
  std::vector<StepSpec> steps_;
  std::vector<ActionSpec> actions_;
  std::vector<EndStateSpec> end_states_;
  BusinessCalendar calendar_;
  std::vector<bool> implies_;                                 // facts x facts
  std::vector<std::vector<std::vector<FactId>>> conditions_;  // by fact
  std::vector<FactId> all_of_facts_;
  StringMap<FactId> fact_index_;
  StringMap<ActionId> action_index_;
};

using DefinitionPtr = std::shared_ptr<const JourneyDefinition>;

// Parses, validates and compiles a definition. `file` names the text in diagnostics.
// Returns the compiled definition, or nullptr and at least one diagnostic in *diagnostics.
// Diagnostics are in file order; loading never stops at the first problem of a valid YAML
// document, so an author sees all of them at once.
DefinitionPtr CompileDefinition(std::string_view yaml, std::string_view file,
                                std::vector<Diagnostic>* diagnostics);

// As CompileDefinition; the error is kInvalidArgument with the first diagnostic's message,
// where = "file:line:column", and "(and N more problems)" when there were several.
Result<DefinitionPtr> LoadDefinition(std::string_view yaml, std::string_view file);
// Reads the file first; kNotFound if it cannot be read.
Result<DefinitionPtr> LoadDefinitionFile(const std::string& path);

// The compiled form as JSON, for the HTTP API and the console: name, version, keys, start,
// facts (with kind), steps, actions (guards and timers by fact name), end states.
Json DefinitionToJson(const JourneyDefinition& def);

}  // namespace rapport::journey
