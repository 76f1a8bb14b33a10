// The checker's state and its class, shared by the files that implement it: check.cc (the run
// and the public functions), check_explore.cc (states, their keys, and the branches of a run),
// check_judge.cc (the properties judged on a run), check_calendar.cc (calendar days and
// business-day rules on the time grid) and check_confirm.cc (replaying a realised run).
// Internal to journey/verify; see check.h for the contract.
#pragma once

#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/ids.h"
#include "journey/instance.h"
#include "journey/replay.h"
#include "journey/runtime.h"
#include "journey/verify/check.h"

namespace rapport::journey::check_internal {

inline constexpr Time kNever = Time::max();
inline const std::string kKey = "C-1";

// What a queued item of a run is: an event occurring in the world, or its report received by the
// journey.
enum class ItemKind : uint8_t { kOccurs, kReceived };

// The branches of a run (Node::choices): when `entry` happens after its cause (at `t`); how it
// is reported; on which calendar day its occurrence at grid point `t` really lies; in which order
// the parked events being released (Node::releasing) are applied.
enum class ChoiceKind : uint8_t { kWhen, kReport, kCalendarDay, kReleaseOrder };

struct Item {
  Time at;
  ItemKind kind;
  uint16_t entry;
  uint8_t copy;  // 0, or 1 for a duplicate
  Time occurred;
  uint32_t seq;
  // By content, not by when it was pushed, so that runs reaching the same state by different
  // orders have the same queue (and merge); seq only orders identical items.
  bool operator<(const Item& o) const {
    return std::tie(at, kind, entry, copy, occurred, seq) <
           std::tie(o.at, o.kind, o.entry, o.copy, o.occurred, o.seq);
  }
};

struct Choice {
  ChoiceKind kind;
  uint16_t entry;
  Time t;
};

struct Node {
  Time now{};
  bool started = false;
  InstanceState st;
  std::vector<Event> parked;
  std::vector<Item> queue;  // sorted
  std::vector<Choice> choices;
  std::vector<Time> occurred;     // per entry
  std::vector<Time> received;     // per entry, first receipt
  std::vector<Time> first_fired;  // per action
  // Compact, because every branch copies the node: events arrived so far and actions fired
  // (action, occurrence, time); Violation turns them into Events and text.
  struct Arrived {
    uint16_t entry;
    uint8_t copy;
    uint16_t after_timers;  // timers fired at the same instant before it (see Report)
    Time occurred, at;
  };
  std::vector<Arrived> trace;
  std::vector<std::tuple<ActionId, uint16_t, Time>> fired;
  int faults = 0;      // events lost or reports missing: an instance may then wait for ever
  int silent = 0;      // of the faults: customers who never did what they were asked to do
  int deviations = 0;  // faults of the model's budget: those, and late or second reports
  // Firings of customer-facing actions at `now`, judged against the world when the instant is
  // over (CloseInstant): something that happens later in the same instant (an effect of a timer
  // processed after this one) still happened by then, since the properties compare times.
  struct Deferred {
    ActionId action;
    uint16_t occurrence;
    uint16_t shift;
    std::vector<std::pair<uint8_t, Time>> told;  // date params: index into params, value
  };
  std::vector<Deferred> deferred;
  bool sent_since_event = true;
  uint16_t timers_now = 0;  // timers fired at `now` so far
  uint16_t shift_now = 0;   // microseconds after `now` at which `journey run` shows this step
  uint32_t seq = 0;
  // Calendar days (ChoiceKind::kCalendarDay): the runtime is told that entry i occurred (and was
  // received) shift[i] later than its grid time, a real time on a neighbouring calendar day that
  // rounds to it. Everything the runtime derives from it (due times, dates told) is shifted back by
  // the same amount. Empty while no entry has one.
  std::vector<Duration> shift;
  // Release orders (ChoiceKind::kReleaseOrder), for the counterexample only: entry i is listed as
  // occurring (and received) tie_us[i] microseconds later, so that `journey run` releases it in the
  // explored order.
  std::vector<int32_t> tie_us;
  // The rounding thresholds (microseconds into a grid step, inclusive) that agree with every
  // calendar day chosen so far: a real time before its grid point rounds up, one after it down.
  int64_t e_lo = 0, e_hi = 0;
  bool realised =
      false;  // a calendar-day or release-order choice was not the grid's own: confirm violations
  // Parked events released by the last step, sorted by occurred_at (ties in the order they were
  // parked), waiting for a kReleaseOrder choice because some of them tie; applied at releasing_now.
  std::vector<Event> releasing;
  Time releasing_now{};
};

// A violation found in a realised run, to be confirmed by replay (Checker::Confirm).
struct Candidate {
  Violation v;                 // with the real times, as `journey run` replays it
  std::vector<Time> occurred;  // real occurrence time per model entry, kNever if none
  bool faults = false;         // something was lost or went missing (not a customer's inaction)
};

class Checker {
 public:
  Checker(const JourneyDefinition& def, const DeviationModel& m, const CheckOptions& o)
      : def_(def), m_(m), opt_(o) {
    model_grid_ = TimeGrid(def, m);
    grid_ = model_grid_;
    if (o.grid_divisor > 1 && model_grid_.count() % o.grid_divisor == 0) {
      grid_ = model_grid_ / o.grid_divisor;
    } else if (o.grid_divisor != 1) {
      NotExact("grid_divisor " + std::to_string(o.grid_divisor) + " does not divide the grid " +
               FormatDuration(model_grid_));
    }
    entry_of_fact_.assign(def.facts().size(), -1);
    for (size_t i = 0; i < m.events.size(); ++i) entry_of_fact_[m.events[i].fact] = int(i);
    reached_.assign(def.facts().size(), false);
    // The events by which a customer completes a step an action asks of them: never doing it
    // is what customers do (a survey left unanswered), not a fault of the world, so a journey
    // must still end when it happens.
    customers_.assign(m.events.size(), false);
    for (size_t i = 0; i < m.events.size(); ++i) {
      for (const StepSpec& st : def.steps()) {
        bool asked = std::find(m.asks.begin(), m.asks.end(), st.fact) != m.asks.end();
        bool completes = std::any_of(st.completed_by.begin(), st.completed_by.end(), [&](FactId c) {
          const auto& parts = def.facts()[c].parts;
          return c == m.events[i].fact ||
                 std::find(parts.begin(), parts.end(), m.events[i].fact) != parts.end();
        });
        if (asked && completes) customers_[i] = true;
      }
    }
    FindCalendarRules();
  }

  CheckReport Run();

 private:
  using Findings = std::vector<std::pair<const char*, std::string>>;

  void Explore(Node& n);
  void Leaf(Node& n);
  // One of the happenings at an instant: a receipt (index into the queue) or a due timer.
  struct Ready {
    bool timer;
    size_t index;  // into n.queue or n.st.timers
  };
  void Process(Node& n, Ready r);
  void FireDue(Node& n, PendingTimer t);
  // Explores the options of a calendar-day or release-order choice (option 0: the grid's own).
  void Realise(Node& n, const Choice& c);
  // The delays `days` business days can add to a time within one grid step of `x` (the calendar
  // day, and so the count, of a real time that rounds to x may be a neighbour of x's).
  const std::vector<Duration>& BusinessDelays(Time x, int days);
  // For each model entry, the business-day counts of the definition that count from its
  // occurrence: timers and dated params anchored at a fact it establishes, and the promise of a
  // dated param in business days, counted from when the customer could act.
  void FindCalendarRules();
  // The real times, other than `m` itself, on the other calendar days within one grid step of
  // grid point m at which the rules of `entry` add other delays (as shifts from m): the last
  // microsecond of an earlier day, the first of a later one.
  const std::vector<Duration>& CalendarShifts(int entry, Time m);
  // Condition (1) for a business-day rule evaluated at the real time x: it adds a multiple of
  // the grid (not so across a daylight-saving change).
  void CheckBusinessRule(Time x, int days, const std::string& what);
  void CheckCalendarRules(const Node& n);
  void NotExact(std::string reason) {
    if (report_.not_exact.size() < 20 &&
        std::find(report_.not_exact.begin(), report_.not_exact.end(), reason) ==
            report_.not_exact.end()) {
      report_.not_exact.push_back(std::move(reason));
    }
  }
  void Push(Node& n, Item it) {
    it.seq = n.seq++;
    n.queue.insert(std::upper_bound(n.queue.begin(), n.queue.end(), it), it);
  }
  Duration Shift(const Node& n, size_t entry) const {
    return n.shift.empty() ? Duration(0) : n.shift[entry];
  }
  // The grid time of a time the runtime was told or derived from a realised occurrence.
  Time GridOf(const Node& n, Time t) const {
    for (size_t i = 0; i < n.shift.size(); ++i) {
      if (n.shift[i].count() != 0 && n.occurred[i] != kNever && n.occurred[i] + n.shift[i] == t) {
        return n.occurred[i];
      }
    }
    return t;
  }
  // When a pending timer is due on the grid (its anchor may have a realised time).
  Time GridDue(const Node& n, const PendingTimer& t) const {
    if (n.shift.empty()) return t.due;
    const ActionSpec& a = def_.actions()[t.action];
    const HeldFact* h = a.after ? n.st.Fact(a.after->fact) : nullptr;
    return h ? t.due + (GridOf(n, h->at) - h->at) : t.due;
  }
  // The orders (as permutations of indices into `ready`, the first the runtime's own) in which
  // released events may be applied; see Absorb.
  std::vector<std::vector<size_t>> ReleaseOrders(const std::vector<Event>& ready);
  // True if the model makes the two events occur at the same time in every run: fixed delays
  // from a common cause. (Their release order is then the order they were parked in.)
  bool AlwaysTogether(const Event& a, const Event& b) const {
    auto chain = [&](const Event& e, int* root) {
      Duration offset{0};
      int entry = EntryOf(e);
      while (entry >= 0) {
        const EventModel& em = m_.events[static_cast<size_t>(entry)];
        if (em.after_events.size() != 1 || em.business_days || em.min_delay != em.max_delay) {
          break;
        }
        offset += em.min_delay;
        entry = entry_of_fact_[em.after_events.front()];
      }
      *root = entry;
      return offset;
    };
    int root_a = -1, root_b = -1;
    Duration offset_a = chain(a, &root_a), offset_b = chain(b, &root_b);
    return root_a >= 0 && root_a == root_b && offset_a == offset_b;
  }
  int EntryOf(const Event& e) const {
    const EventSpec* spec = def_.FindEvent(e.type);
    return spec ? entry_of_fact_[spec->fact] : -1;
  }
  void CausedBy(Node& n, bool by_action, uint16_t id, Time t);
  // True if event `cause` just occurred and was the last of em's causes to occur.
  bool CausesAt(const std::vector<Time>& occurred, const EventModel& em, FactId cause) const {
    if (std::find(em.after_events.begin(), em.after_events.end(), cause) == em.after_events.end()) {
      return false;
    }
    return std::all_of(em.after_events.begin(), em.after_events.end(),
                       [&](FactId f) { return WorldTime(occurred, f) != kNever; });
  }
  // The time of event fact `e` in a per-entry vector (occurred, received), kNever if the model
  // does not make it happen.
  Time WorldTime(const std::vector<Time>& by_entry, FactId e) const {
    int i = entry_of_fact_[e];
    return i < 0 ? kNever : by_entry[static_cast<size_t>(i)];
  }
  void Deliver(Node& n, const Event& e, Time now);
  void Park(Node& n, const Event& e);
  void Absorb(Node& n, Effects& fx, Time now);
  void Judge(Node& n, const OutboxAction& o);
  void JudgeWorld(Node& n, const Node::Deferred& d);
  // The judgements of one firing against the world (occurred per entry, first firing per
  // action): requires held, the customer could act, each date told leaves the promised time.
  // With `grid`, the times are grid times and the promise counts from the realised day of the
  // cause (and condition (1) is checked); without, they are real times.
  Findings JudgeFiring(ActionId action, int occurrence, Time at,
                       const std::vector<std::pair<uint8_t, Time>>& told,
                       const std::vector<Time>& occurred, const std::vector<Time>& first_fired,
                       const Node* grid);
  void CloseInstant(Node& n) {
    std::vector<Node::Deferred> deferred = std::move(n.deferred);
    n.deferred.clear();
    for (const Node::Deferred& d : deferred) JudgeWorld(n, d);
  }
  std::optional<Time> AbleSince(const std::vector<Time>& occurred,
                                const std::vector<Time>& first_fired, FactId step,
                                std::string* what, int* cause_entry) const;
  void Report(const Node& n, const char* property, std::string message, std::string action,
              int occurrence, uint16_t shift);
  // Replays a candidate's counterexample through the runtime and checks that it is a run of the
  // model that violates the property; on success v holds the real firing time and message.
  bool Confirm(Candidate& c, std::string* why);
  bool InModel(const Candidate& c, const std::vector<Time>& fired, Time horizon,
               std::string* why) const;
  uint64_t Key(const Node& n) const;
  bool Visited(const Node& n) {
    uint64_t key = Key(n);
    if (n.realised) return !visited_.insert(key).second;
    visited_.insert(key);
    return !visited_grid_.insert(key).second;
  }
  std::vector<std::string> FiredText(const Node& n) const {
    std::vector<std::string> out;
    for (const auto& [id, occ, at] : n.fired) {
      out.push_back(FormatTime(at) + " " + def_.actions()[id].name + " #" + std::to_string(occ));
    }
    return out;
  }
  const JourneyDefinition& def_;
  const DeviationModel& m_;
  CheckOptions opt_;
  Duration model_grid_;  // TimeGrid: every constant is a multiple of it
  Duration grid_;        // explored: model_grid_ / grid_divisor
  std::map<std::pair<int64_t, int>, std::vector<Duration>> business_delays_;
  std::set<std::pair<int64_t, int>> business_checked_;
  std::vector<std::vector<int>> calendar_days_;  // per entry: business-day counts from it
  std::map<std::pair<int64_t, int>, std::vector<Duration>> calendar_shifts_;
  std::vector<int> entry_of_fact_;
  std::vector<bool> customers_;  // per model entry: a customer's answer to what was asked
  std::vector<bool> reached_;
  CheckReport report_;
  uint64_t reports_ = 0;                                      // calls of Report
  std::map<std::string, std::vector<Candidate>> candidates_;  // by property, shortest first
  bool stop_ = false;
  // States explored, and of those the ones reached by a run without realisations. A realised run
  // merges into either; a run without merges only into the latter, so that a violation in its
  // future is found as an ordinary one, not as a candidate that needs confirmation.
  // Millions of keys: an open-addressing set, not one allocation per node.
  absl::flat_hash_set<uint64_t> visited_;
  absl::flat_hash_set<uint64_t> visited_grid_;
};

}  // namespace rapport::journey::check_internal
