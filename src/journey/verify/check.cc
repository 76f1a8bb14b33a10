// Exhaustive exploration of a journey against its deviation model (see check.h). A run is built
// depth-first: whenever something happens in the world, every choice the model allows for what
// it causes (when, lost, late, twice) becomes a branch; events arrive at the real state machine
// in time order, interleaved with its own timers. At one point of the time grid, every order of
// the receipts and due timers that fall on it is a branch (they race in the live runtime, and
// real times inside one grid step, rounded to the grid, become equal: docs/journeys.md, "Why the
// time grid is exact"). Where a real time within one grid step can lie on another calendar day
// than its grid point, or parked events of one grid point can be released in another order, those
// are branches too, realised for the runtime with real times (Choice kinds 2 and 3); a violation
// found only in such a run is confirmed by replaying it (Confirm). The conditions of the argument
// that depend on the run are checked as the run is built (NotExact).
#include "journey/verify/check.h"

#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "core/ids.h"
#include "journey/instance.h"
#include "journey/replay.h"
#include "journey/runtime.h"

namespace rapport::journey {

Event ModelEvent(const JourneyDefinition& def, FactId event_fact, const std::string& key, int n,
                 Time occurred, Time received) {
  const EventSpec& spec = def.events()[def.facts()[event_fact].index];
  Event e;
  e.id = spec.type + "#" + std::to_string(n);
  e.type = spec.type;
  for (KeyId k : spec.keys) {
    e.keys.emplace_back(def.keys()[k], k == 0 ? key : def.keys()[k] + ":" + key);
  }
  if (event_fact == def.start_fact()) {
    for (const auto& [field, value] : def.start_where()) {
      if (value == "true" || value == "false") {
        e.payload[field] = value == "true";
      } else {
        e.payload[field] = value;
      }
    }
  }
  e.occurred_at = occurred;
  e.received_at = received;
  return e;
}

namespace {

constexpr Time kNever = Time::max();
const std::string kKey = "C-1";

struct Item {
  Time at;
  uint8_t kind;  // 0: occurs in the world, 1: received by the journey
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
  // 0: when does `entry` happen after its cause (at `t`); 1: how is it reported; 2: on which
  // calendar day does its occurrence at grid point `t` really lie; 3: in which order are the
  // parked events being released (Node::releasing) applied.
  uint8_t kind;
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
  // Calendar days (Choice kind 2): the runtime is told that entry i occurred (and was received)
  // shift[i] later than its grid time, a real time on a neighbouring calendar day that rounds to
  // it. Everything the runtime derives from it (due times, dates told) is shifted back by the
  // same amount. Empty while no entry has one.
  std::vector<Duration> shift;
  // Release orders (Choice kind 3), for the counterexample only: entry i is listed as occurring
  // (and received) tie_us[i] microseconds later, so that `journey run` releases it in the
  // explored order.
  std::vector<int32_t> tie_us;
  // The rounding thresholds (microseconds into a grid step, inclusive) that agree with every
  // calendar day chosen so far: a real time before its grid point rounds up, one after it down.
  int64_t e_lo = 0, e_hi = 0;
  bool realised = false;  // a choice of kind 2 or 3 was not the grid's own: confirm violations
  // Parked events released by the last step, sorted by occurred_at (ties in the order they were
  // parked), waiting for Choice kind 3 because some of them tie; applied at releasing_now.
  std::vector<Event> releasing;
  Time releasing_now{};
};

// A violation found in a realised run, to be confirmed by replay (Checker::Confirm).
struct Candidate {
  Violation v;                 // with the real times, as `journey run` replays it
  std::vector<Time> occurred;  // real occurrence time per model entry, kNever if none
  std::vector<int64_t> race;   // per event of v: microseconds added because it lost a race
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
        bool completes = std::find(st.completed_by.begin(), st.completed_by.end(),
                                   m.events[i].fact) != st.completed_by.end();
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
  // Explores the options of a choice of kind 2 or 3 (option 0: the grid's own).
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
        if (em.after_event == kNoFact || em.business_days || em.min_delay != em.max_delay) break;
        offset += em.min_delay;
        entry = entry_of_fact_[em.after_event];
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

// A state's identity for merging: everything that can still influence the rest of a run and
// the properties judged on it. Fact times that no action which can still fire looks at (anchor,
// dated params, when the customer could act) are left out: actions only ever stop being able to
// fire (unless-facts are monotone, occurrences only grow, the end is final), so such a time can
// never matter again, and runs that differ only there have the same future.
uint64_t Checker::Key(const Node& n) const {
  std::string b;
  b.reserve(512);
  auto put = [&](int64_t v) { b.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(ToMicros(n.now));
  // The fault count only up to the budget matters: a run with a fault left explores more.
  put(n.started * 4 + (n.faults > 0) * 2 + n.sent_since_event +
      (m_.max_faults >= 0 ? 8 * std::min(n.deviations, m_.max_faults) : 0));
  put((n.faults > n.silent) * 2 + (n.silent > 0));
  put(n.e_lo);
  put(n.e_hi);
  const InstanceState& s = n.st;
  put(static_cast<int64_t>(s.status) * 65536 + s.end_state);
  std::vector<bool> relevant(def_.facts().size(), false);
  std::vector<FactId> able_steps;
  const auto& actions = def_.actions();
  for (ActionId id = 0; id < actions.size(); ++id) {
    const ActionSpec& a = actions[id];
    const ActionProgress* p = s.Progress(id);
    uint16_t next = p ? p->next : 0;
    if (next >= a.max_occurrences) continue;
    if (std::any_of(a.unless.begin(), a.unless.end(), [&](FactId f) { return s.Holds(f); })) {
      continue;
    }
    if (a.after) relevant[a.after->fact] = true;
    for (const ParamSpec& p2 : a.params) {
      if (p2.date) relevant[p2.date->fact] = true;
    }
    if (a.audience == Audience::kCustomer && m_.asks[id] != kNoFact)
      able_steps.push_back(m_.asks[id]);
  }
  for (const HeldFact& h : s.facts) {
    put(h.fact);
    if (relevant[h.fact]) put(ToMicros(h.at));
  }
  put(-1);
  for (const PendingTimer& t : s.timers) {
    put(t.action * 65536 + t.occurrence);
    put(ToMicros(t.due));
  }
  put(-2);
  for (const ActionProgress& p : s.progress)
    put((int64_t{p.action} << 32) + p.next * 65536 + p.fired);
  put(-3);
  put(static_cast<int64_t>(s.aliases.size()));
  // Parked events and deferred judgements as sets: the order they were added in is the order
  // of an instant's happenings, which does not matter once they are all done. (Parked events
  // are released by occurred_at, and every order of ties is a branch when they are released.)
  std::vector<std::pair<int64_t, int64_t>> set;
  for (const Event& e : n.parked) {
    set.emplace_back(ToMicros(e.occurred_at), static_cast<int64_t>(Hash64(e.id)));
  }
  std::sort(set.begin(), set.end());
  for (const auto& [at, id] : set) {
    put(id);
    put(at);
  }
  // ... except for events that always occur at the same time: released in the order parked.
  for (size_t i = 0; i < n.parked.size(); ++i) {
    for (size_t j = i + 1; j < n.parked.size(); ++j) {
      if (n.parked[i].occurred_at == n.parked[j].occurred_at &&
          AlwaysTogether(n.parked[i], n.parked[j])) {
        put(static_cast<int64_t>(Hash64(n.parked[i].id + "<" + n.parked[j].id)));
      }
    }
  }
  put(-4);
  for (const Item& it : n.queue) {
    put(ToMicros(it.at));
    put(ToMicros(it.occurred));
    put(it.kind * 1000000 + it.entry * 100 + it.copy * 10);
  }
  put(-5);
  set.clear();
  for (const Node::Deferred& d : n.deferred) {
    int64_t h = d.action * 65536 + d.occurrence;
    for (const auto& [param, told] : d.told) {
      h = static_cast<int64_t>(Hash64(std::to_string(h) + "/" + std::to_string(param) + "/" +
                                      std::to_string(ToMicros(told))));
    }
    set.emplace_back(h, 0);
  }
  std::sort(set.begin(), set.end());
  for (const auto& [h, unused] : set) put(h);
  put(-6);
  int64_t bits = 0;
  for (size_t i = 0; i < n.occurred.size(); ++i) {
    bits = bits * 4 + (n.occurred[i] != kNever) * 2 + (n.received[i] != kNever);
    if (i % 24 == 23) {
      put(bits);
      bits = 0;
    }
  }
  put(bits);
  bits = 0;
  for (size_t i = 0; i < n.first_fired.size(); ++i) {
    bits = bits * 2 + (n.first_fired[i] != kNever);
    if (i % 48 == 47) {
      put(bits);
      bits = 0;
    }
  }
  put(bits);
  std::string ignored;
  for (FactId step : able_steps) {
    auto able = AbleSince(n.occurred, n.first_fired, step, &ignored, nullptr);
    put(able ? ToMicros(*able) : -7);
  }
  return Hash64(b);
}

void Checker::Report(const Node& n, const char* property, std::string message, std::string action,
                     int occurrence, uint16_t shift) {
  Violation v;
  v.property = property;
  v.message = std::move(message);
  v.action = std::move(action);
  v.occurrence = occurrence;
  v.at = n.now + Duration(shift);
  ++reports_;
  // The counterexample: what arrived so far, and what already happened in the world and will
  // arrive later (e.g. the delivery the deadline should have been counted from), at the real
  // times the runtime was told (a realised calendar day, a release order).
  auto real = [&](uint16_t entry, Time grid) {
    return grid + Shift(n, entry) + Duration(n.tie_us.empty() ? 0 : n.tie_us[entry]);
  };
  // A later place in a release order is a later real time of the whole report (its delay after
  // the cause and its lateness unchanged).
  std::vector<Event> events;
  std::vector<int64_t> race;
  for (const Node::Arrived& a : n.trace) {
    // A receipt processed after a timer at the same instant lost the race; `journey run`
    // applies receipts before timers due at the same time, so the replayable form lists it as
    // received that many microseconds later (its occurrence, and so every fact, unchanged).
    events.push_back(ModelEvent(def_, m_.events[a.entry].fact, kKey, a.copy + 1,
                                real(a.entry, a.occurred),
                                real(a.entry, a.at) + Duration(a.after_timers)));
    race.push_back(a.after_timers);
  }
  for (const Item& it : n.queue) {
    if (it.kind != 1 || it.occurred > n.now) continue;
    events.push_back(ModelEvent(def_, m_.events[it.entry].fact, kKey, it.copy + 1,
                                real(it.entry, it.occurred), real(it.entry, it.at)));
    race.push_back(0);
  }
  auto shorter = [](const Violation& a, const Violation& b) {  // fewest events, then earliest
    return a.events.size() < b.events.size() || (a.events.size() == b.events.size() && a.at < b.at);
  };
  if (n.realised) {
    // Found only with a realised day or order: kept (the few shortest) for Confirm.
    Candidate c;
    c.v = std::move(v);
    c.v.events = std::move(events);
    c.v.fired = FiredText(n);
    c.race = std::move(race);
    c.faults = n.faults > n.silent;
    c.occurred.assign(m_.events.size(), kNever);
    for (size_t i = 0; i < m_.events.size(); ++i) {
      if (n.occurred[i] != kNever) c.occurred[i] = real(static_cast<uint16_t>(i), n.occurred[i]);
    }
    std::vector<Candidate>& list = candidates_[property];
    auto at =
        std::upper_bound(list.begin(), list.end(), c,
                         [&](const Candidate& x, const Candidate& y) { return shorter(x.v, y.v); });
    if (at - list.begin() < 4) list.insert(at, std::move(c));
    if (list.size() > 4) list.pop_back();
    return;
  }
  v.events = std::move(events);
  for (auto& existing : report_.violations) {
    if (existing.property != property) continue;
    if (!shorter(v, existing)) return;
    v.fired = FiredText(n);
    existing = std::move(v);
    return;
  }
  v.fired = FiredText(n);
  report_.violations.push_back(std::move(v));
}

// When the customer became able to do `step`, in the world: the cause (in the model) of the
// earliest event that completes it. nullopt if the model does not say what enables it.
std::optional<Time> Checker::AbleSince(const std::vector<Time>& occurred,
                                       const std::vector<Time>& first_fired, FactId step,
                                       std::string* what, int* cause_entry) const {
  const StepSpec& s = def_.steps()[def_.facts()[step].index];
  std::optional<Time> best;
  bool known = false;
  for (FactId ev : s.completed_by) {
    int entry = entry_of_fact_[ev];
    if (entry < 0) continue;
    const EventModel& em = m_.events[entry];
    Time t = kNever;
    std::string name;
    int cause = -1;
    if (em.after_event != kNoFact) {
      cause = entry_of_fact_[em.after_event];
      t = occurred[cause];
      name = def_.facts()[em.after_event].name;
    } else if (em.after_action != kNoAction) {
      t = first_fired[em.after_action];
      name = "action " + def_.actions()[em.after_action].name;
    } else {
      continue;
    }
    known = true;
    if (!best || t < *best) {
      best = t;
      *what = name;
      if (cause_entry) *cause_entry = cause;
    }
  }
  if (!known) return std::nullopt;
  return best;
}

// What can be judged from the order in which the instance processed things: an occurrence
// decided twice, a step asked for after an event completing it was processed.
void Checker::Judge(Node& n, const OutboxAction& o) {
  auto id = def_.FindAction(o.action);
  if (!id) return;
  const ActionSpec& a = def_.actions()[*id];
  std::string label = a.name + " #" + std::to_string(o.occurrence);
  bool again = std::any_of(n.fired.begin(), n.fired.end(), [&](const auto& f) {
    return std::get<0>(f) == *id && std::get<1>(f) == o.occurrence;
  });
  if (again) {
    Report(n, kPropOnce, label + " fired a second time at " + FormatTime(n.now), a.name,
           o.occurrence, n.shift_now);
  }
  n.fired.emplace_back(*id, o.occurrence, n.now);
  if (a.audience != Audience::kCustomer) return;
  FactId asks = m_.asks[*id];
  if (asks != kNoFact) {
    for (size_t i = 0; i < m_.events.size(); ++i) {
      if (def_.Implies(m_.events[i].fact, asks) && n.received[i] <= n.now) {
        Report(n, kPropNotDone,
               label + " asked the customer to complete " + def_.facts()[asks].name + " at " +
                   FormatTime(n.now) + ", but " + m_.events[i].type + " had arrived at " +
                   FormatTime(n.received[i]),
               a.name, o.occurrence, n.shift_now);
        break;
      }
    }
  }
  Node::Deferred d{*id, o.occurrence, n.shift_now, {}};
  for (size_t p = 0; p < a.params.size(); ++p) {
    if (!a.params[p].date) continue;
    auto it = o.params.find(a.params[p].name);
    if (it == o.params.end() || !it->is_string()) continue;
    auto told = ParseTime(it->get<std::string>());
    if (!told.ok()) continue;
    // The runtime counted from the fact's real time: the date on the grid is as far from the
    // fact's grid time.
    Time grid_told = *told;
    if (const HeldFact* h = n.st.Fact(a.params[p].date->fact)) {
      if (a.params[p].date->business_days >= 0) {
        CheckBusinessRule(h->at, a.params[p].date->business_days,
                          "the date " + a.params[p].name + " of " + a.name);
      }
      grid_told += GridOf(n, h->at) - h->at;
    }
    d.told.emplace_back(static_cast<uint8_t>(p), grid_told);
  }
  n.deferred.push_back(std::move(d));
}

Checker::Findings Checker::JudgeFiring(ActionId action, int occurrence, Time at,
                                       const std::vector<std::pair<uint8_t, Time>>& told,
                                       const std::vector<Time>& occurred,
                                       const std::vector<Time>& first_fired, const Node* grid) {
  Findings out;
  const ActionSpec& a = def_.actions()[action];
  std::string label = a.name + " #" + std::to_string(occurrence);
  // Requires must hold in the world, not only in what the journey was told.
  for (FactId f : a.required) {
    bool holds = false;
    for (size_t i = 0; i < m_.events.size() && !holds; ++i) {
      holds = def_.Implies(m_.events[i].fact, f) && occurred[i] <= at;
    }
    if (!holds && entry_of_fact_.size() > f) {
      out.emplace_back(kPropCanAct, label + " fired at " + FormatTime(at) + " although " +
                                        def_.facts()[f].name + " (required) had not happened");
    }
  }
  // A promise in words ("within 10 business days of the kit's arrival") is kept by every date
  // told, whatever rule computed it; judged once what it counts from has happened.
  if (a.promise) {
    Time from = kNever;
    int from_entry = -1;
    for (size_t i = 0; i < m_.events.size(); ++i) {
      if (def_.Implies(m_.events[i].fact, a.promise->fact) && occurred[i] < from) {
        from = occurred[i];
        from_entry = static_cast<int>(i);
      }
    }
    if (from <= at) {
      Time counted = from;
      if (grid && from_entry >= 0) counted += Shift(*grid, static_cast<size_t>(from_entry));
      if (grid && a.promise->business_days >= 0) {
        CheckBusinessRule(counted, a.promise->business_days, "the promise of " + a.name);
      }
      Time promised = def_.Resolve(*a.promise, counted) + (from - counted);
      for (const auto& [index, told_at] : told) {
        if (told_at >= promised) continue;
        out.emplace_back(kPropDeadline, label + " told the customer " + a.params[index].name + "=" +
                                            FormatTime(told_at) +
                                            ", before what it "
                                            "promises: within " +
                                            def_.AnchorText(*a.promise) + " (" +
                                            def_.facts()[a.promise->fact].name + " at " +
                                            FormatTime(from) + ") is " + FormatTime(promised));
      }
    }
  }
  FactId asks = m_.asks[action];
  if (asks == kNoFact) return out;
  const std::string& step = def_.facts()[asks].name;
  std::string cause;
  int cause_entry = -1;
  std::optional<Time> able = AbleSince(occurred, first_fired, asks, &cause, &cause_entry);
  if (able && *able > at) {
    out.emplace_back(kPropCanAct, label + " asked the customer to complete " + step + " at " +
                                      FormatTime(at) + ", but they could not: " + cause +
                                      (*able == kNever ? " has not happened"
                                                       : " happened only at " + FormatTime(*able)));
  }
  if (!able || *able == kNever) return out;
  // The promise counts from the real time of the cause: on the grid, its realised day.
  Time counted = *able;
  if (grid && cause_entry >= 0) counted += Shift(*grid, static_cast<size_t>(cause_entry));
  for (const auto& [index, told_at] : told) {
    const ParamSpec& p = a.params[index];
    if (grid && p.date->business_days >= 0) {
      CheckBusinessRule(counted, p.date->business_days, "the date " + p.name + " of " + a.name);
    }
    Time promised = def_.Resolve(*p.date, counted) + (*able - counted);
    if (told_at < promised) {
      out.emplace_back(kPropDeadline,
                       label + " told the customer " + p.name + "=" + FormatTime(told_at) +
                           ", only " + FormatDuration(told_at - *able) + " after they could act (" +
                           cause + " at " + FormatTime(*able) + "); the rule " +
                           def_.AnchorText(*p.date) + " promises " + FormatTime(promised));
    }
  }
  return out;
}

// What is judged against the world, once the instant of the firing is over.
void Checker::JudgeWorld(Node& n, const Node::Deferred& d) {
  Findings found =
      JudgeFiring(d.action, d.occurrence, n.now, d.told, n.occurred, n.first_fired, &n);
  for (auto& [property, message] : found) {
    Report(n, property, std::move(message), def_.actions()[d.action].name, d.occurrence, d.shift);
  }
}

void Checker::Absorb(Node& n, Effects& fx, Time now) {
  for (const OutboxAction& o : fx.outbox) {
    n.sent_since_event = true;
    Judge(n, o);
    auto id = def_.FindAction(o.action);
    if (id && n.first_fired[*id] == kNever) {
      n.first_fired[*id] = n.now;
      CausedBy(n, true, *id, n.now);
    }
  }
  std::vector<std::pair<std::string, std::string>> bound = std::move(fx.bound_keys);
  fx.Clear();
  if (bound.empty() || n.parked.empty()) return;
  // As the runtime: events parked under a key the instance just learnt are applied one by one,
  // by occurred_at, ties in the order they were parked.
  std::vector<Event> ready;
  for (auto it = n.parked.begin(); it != n.parked.end();) {
    bool match = std::any_of(it->keys.begin(), it->keys.end(), [&](const auto& kv) {
      return std::find(bound.begin(), bound.end(), kv) != bound.end();
    });
    if (match) {
      ready.push_back(std::move(*it));
      it = n.parked.erase(it);
    } else {
      ++it;
    }
  }
  std::stable_sort(ready.begin(), ready.end(),
                   [](const Event& a, const Event& b) { return a.occurred_at < b.occurred_at; });
  if (ReleaseOrders(ready).size() > 1) {
    // Some tie on the grid: the order is a branch (Realise). The runtime applies released
    // events after the step that released them, so applying them after this one is the same.
    n.releasing = std::move(ready);
    n.releasing_now = now;
    n.choices.push_back({3, 0, n.now});
    return;
  }
  for (const Event& e : ready) Deliver(n, e, now);
}

// The runtime releases parked events by occurred_at, ties in the order they were parked. Events
// that tie on the grid may have occurred in either order in real time (or at the same time, and
// been parked in either order), so every order of them is a branch; the runtime's own comes
// first. Not so for events that always occur at the same time (AlwaysTogether): the order they
// were parked in. (Other orders that are not real, such as an effect released before its cause
// that was parked first, are explored too: a violation found only that way is confirmed by
// replay or not decided, see Confirm.) Events under the journey's own key that wait for the
// start event are applied with it as one batch and are never released here.
std::vector<std::vector<size_t>> Checker::ReleaseOrders(const std::vector<Event>& ready) {
  std::vector<std::vector<size_t>> orders;
  std::vector<size_t> order(ready.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  orders.push_back(order);
  bool ties = false;
  for (size_t i = 1; i < ready.size(); ++i) {
    ties |= ready[i].occurred_at == ready[i - 1].occurred_at &&
            ready[i].type != ready[i - 1].type && !AlwaysTogether(ready[i], ready[i - 1]);
  }
  if (!ties || ready.size() > 6) {
    if (ties) NotExact("more than six parked events released together tie on the grid");
    return orders;
  }
  while (std::next_permutation(order.begin(), order.end())) {
    bool possible = true;
    for (size_t i = 0; i < order.size() && possible; ++i) {
      for (size_t j = i + 1; j < order.size() && possible; ++j) {
        const Event& a = ready[order[i]];
        const Event& b = ready[order[j]];
        // By occurred_at first; a duplicate's two copies, or two events that always occur
        // together, in the order they were parked.
        possible = a.occurred_at < b.occurred_at ||
                   (a.occurred_at == b.occurred_at &&
                    (order[i] < order[j] || (a.type != b.type && !AlwaysTogether(a, b))));
      }
    }
    if (possible) orders.push_back(order);
  }
  return orders;
}

void Checker::Park(Node& n, const Event& e) { n.parked.push_back(e); }

void Checker::Deliver(Node& n, const Event& e, Time now) {
  Effects fx;
  fx.record_timeline = false;
  Route r = RouteEvent(def_, e);
  if (!n.started) {
    if (r.starts) {
      std::vector<Event> backlog;
      for (auto& p : n.parked) {
        const std::string* k = FindField(p.keys, def_.primary_key());
        if (k && *k == *r.primary) backlog.push_back(p);
      }
      std::erase_if(n.parked, [&](const Event& p) {
        const std::string* k = FindField(p.keys, def_.primary_key());
        return k && *k == *r.primary;
      });
      if (StartInstance(def_, e, now, &n.st, &fx, backlog).ok()) n.started = true;
      Absorb(n, fx, now);
    } else if (def_.FindEvent(e.type)->fact != def_.start_fact()) {
      Park(n, e);
    }
    return;
  }
  bool routable = r.primary.has_value();
  for (const auto& alias : r.aliases) {  // not a structured binding: clang 14 cannot capture it
    auto kid = def_.FindKey(alias.first);
    routable |= std::any_of(n.st.aliases.begin(), n.st.aliases.end(), [&](const auto& al) {
      return kid && al.first == *kid && al.second == alias.second;
    });
  }
  if (!routable) {
    Park(n, e);
    return;
  }
  if (ApplyEvent(def_, &n.st, e, now, &fx).ok()) Absorb(n, fx, now);
}

void Checker::CausedBy(Node& n, bool by_action, uint16_t id, Time t) {
  for (size_t i = 0; i < m_.events.size(); ++i) {
    const EventModel& em = m_.events[i];
    if (by_action ? em.after_action == id : em.after_event == id) {
      n.choices.push_back({0, static_cast<uint16_t>(i), t});
    }
  }
}

void Checker::Leaf(Node& n) {
  CloseInstant(n);
  ++report_.runs;
  for (const HeldFact& h : n.st.facts) reached_[h.fact] = true;
  if (!n.started || n.st.status != InstanceStatus::kRunning) return;
  if (n.faults == n.silent) {
    Report(n, kPropEnds,
           n.faults == 0 ? "no end state is reached although nothing was lost: the instance "
                           "waits for ever (no event and no timer left)"
                         : "no end state is reached when the customer does not do what was "
                           "asked: the instance waits for ever (no event and no timer left); "
                           "give an end state a time (end_states: - {name, after: ...})",
           "", -1, n.shift_now);
  } else if (!n.sent_since_event) {
    std::string last = n.trace.empty() ? "the start" : m_.events[n.trace.back().entry].type;
    Report(n, kPropNoSilentWait,
           "after " + last +
               " the instance waits for ever and nobody is told: no timer, "
               "no escalation, nothing sent since",
           "", -1, n.shift_now);
  }
}

const std::vector<Duration>& Checker::BusinessDelays(Time x, int days) {
  auto key = std::make_pair(ToMicros(x), days);
  auto found = business_delays_.find(key);
  if (found != business_delays_.end()) return found->second;
  // Samples every 15 minutes across (x - grid, x + grid) and both ends: the count changes only
  // where a (local) calendar day or a daylight-saving offset changes, never twice in 15 min.
  std::vector<Duration> delays;
  Duration step = std::min<Duration>(std::chrono::minutes(15), grid_);
  auto add = [&](Time t) {
    Duration d = def_.calendar().AddBusinessDays(t, days) - t;
    if (std::find(delays.begin(), delays.end(), d) == delays.end()) delays.push_back(d);
  };
  add(x);
  add(x - grid_ + Duration(1));
  add(x + grid_ - Duration(1));
  for (Time t = x - grid_ + step; t < x + grid_; t += step) add(t);
  std::sort(delays.begin(), delays.end());
  return business_delays_.emplace(key, std::move(delays)).first->second;
}

void Checker::FindCalendarRules() {
  calendar_days_.assign(m_.events.size(), {});
  auto add = [&](size_t entry, int days) {
    if (m_.events[entry].fact == def_.start_fact()) return;  // at `start`, exactly
    std::vector<int>& v = calendar_days_[entry];
    if (std::find(v.begin(), v.end(), days) == v.end()) v.push_back(days);
  };
  auto anchored = [&](FactId f, int days) {
    for (size_t i = 0; i < m_.events.size(); ++i) {
      if (def_.Implies(m_.events[i].fact, f)) add(i, days);
    }
  };
  for (ActionId id = 0; id < def_.actions().size(); ++id) {
    const ActionSpec& a = def_.actions()[id];
    if (a.after && a.after->business_days >= 0) anchored(a.after->fact, a.after->business_days);
    for (const ParamSpec& p : a.params) {
      if (!p.date || p.date->business_days < 0) continue;
      anchored(p.date->fact, p.date->business_days);
      FactId asks = m_.asks[id];
      if (asks == kNoFact) continue;
      for (FactId ev : def_.steps()[def_.facts()[asks].index].completed_by) {
        int entry = entry_of_fact_[ev];
        if (entry < 0 || m_.events[entry].after_event == kNoFact) continue;
        add(static_cast<size_t>(entry_of_fact_[m_.events[entry].after_event]),
            p.date->business_days);
      }
    }
  }
}

const std::vector<Duration>& Checker::CalendarShifts(int entry, Time m) {
  auto key = std::make_pair(ToMicros(m), entry);
  auto found = calendar_shifts_.find(key);
  if (found != calendar_shifts_.end()) return found->second;
  const BusinessCalendar& cal = def_.calendar();
  const timezone::Zone& zone = cal.zone();
  auto delays = [&](Time x) {
    std::vector<Duration> d;
    for (int days : calendar_days_[static_cast<size_t>(entry)]) {
      d.push_back(cal.AddBusinessDays(x, days) - x);
    }
    return d;
  };
  std::vector<Duration> own = delays(m);
  std::vector<Duration> shifts;
  Time lo = m - grid_ + Duration(1), hi = m + grid_ - Duration(1);
  auto day_m = zone.LocalDay(m);
  for (auto d = zone.LocalDay(lo); d < day_m; d += std::chrono::days(1)) {
    Time last = zone.ToUtc(d + std::chrono::days(1), Duration(0)) - Duration(1);
    if (last >= lo && last < m && zone.LocalDay(last) == d && delays(last) != own) {
      shifts.push_back(last - m);
    }
  }
  for (auto d = day_m + std::chrono::days(1); d <= zone.LocalDay(hi); d += std::chrono::days(1)) {
    Time first = zone.ToUtc(d, Duration(0));
    if (first > m && first <= hi && zone.LocalDay(first) == d && delays(first) != own) {
      shifts.push_back(first - m);
    }
  }
  return calendar_shifts_.emplace(key, std::move(shifts)).first->second;
}

void Checker::CheckBusinessRule(Time x, int days, const std::string& what) {
  if (!business_checked_.insert({ToMicros(x), days}).second) return;
  Duration d = def_.calendar().AddBusinessDays(x, days) - x;
  if (d.count() % grid_.count() != 0) {
    NotExact(what + " (" + std::to_string(days) + " business days from " + FormatTime(x) +
             ") adds " + FormatDuration(d) + ", not a multiple of the grid " +
             FormatDuration(grid_));
  }
}

// The business-day rules of the definition that the state machine evaluated: the due times of
// pending timers anchored that way (date params are checked where they are judged).
void Checker::CheckCalendarRules(const Node& n) {
  for (const PendingTimer& t : n.st.timers) {
    const ActionSpec& a = def_.actions()[t.action];
    if (!a.after || a.after->business_days < 0) continue;
    const HeldFact* anchor = n.st.Fact(a.after->fact);
    if (anchor) CheckBusinessRule(anchor->at, a.after->business_days, "the timer of " + a.name);
  }
}

void Checker::FireDue(Node& n, PendingTimer t) {
  const ActionSpec& a = def_.actions()[t.action];
  Time due = GridDue(n, t);
  // Condition (1): whether an overdue occurrence is stale is a strict comparison (now - due >
  // expires). Exactly on its boundary, real times inside the grid step decide either way.
  if (a.expires.count() > 0 && n.now - due == a.expires) {
    NotExact("timer " + a.name + " #" + std::to_string(t.occurrence) + " is processed exactly " +
             FormatDuration(a.expires) + " (its expires) after its due time " + FormatTime(due) +
             ": whether it is stale depends on times inside one grid step");
  }
  Effects fx;
  fx.record_timeline = false;
  // A timer counted from a realised time fires at the real time that rounds to this instant.
  Time now = n.now - (due - t.due);
  if (FireTimer(def_, &n.st, t.action, t.occurrence, now, &fx).ok()) Absorb(n, fx, now);
  ++n.timers_now;
  CheckCalendarRules(n);
}

void Checker::Process(Node& n, Ready r) {
  if (r.timer) {
    FireDue(n, n.st.timers[r.index]);
    return;
  }
  Item it = n.queue[r.index];
  n.queue.erase(n.queue.begin() + static_cast<ptrdiff_t>(r.index));
  Duration shift = Shift(n, it.entry);
  Event e = ModelEvent(def_, m_.events[it.entry].fact, kKey, it.copy + 1, it.occurred + shift,
                       it.at + shift);
  if (n.received[it.entry] == kNever) n.received[it.entry] = it.at;
  n.trace.push_back({it.entry, it.copy, n.timers_now, it.occurred, it.at});
  n.shift_now = n.timers_now;
  n.sent_since_event = false;
  Deliver(n, e, n.now + shift);
  CheckCalendarRules(n);
}

void Checker::Realise(Node& n, const Choice& c) {
  // Option 0 is the grid's own (explored first, so that realised runs that reach the same
  // state later merge); the others set a calendar day or another release order.
  if (c.kind == 3) {
    std::vector<Event> ready = std::move(n.releasing);
    n.releasing.clear();
    std::vector<std::vector<size_t>> orders = ReleaseOrders(ready);
    auto release = [&](size_t option, Node& b) {
      if (option > 0) {
        // `journey run` releases in the order of occurred_at, ties as parked (received): list
        // the events of each tie a microsecond apart, in the order explored.
        b.realised = true;
        if (b.tie_us.empty()) b.tie_us.assign(m_.events.size(), 0);
        int32_t offset = 0;
        for (size_t i = 0; i < orders[option].size(); ++i) {
          const Event& e = ready[orders[option][i]];
          bool tied = i > 0 && ready[orders[option][i - 1]].occurred_at == e.occurred_at;
          offset = tied ? offset + 1 : 0;
          int entry = EntryOf(e);
          if (entry >= 0) b.tie_us[static_cast<size_t>(entry)] = offset;
        }
      }
      for (size_t i : orders[option]) Deliver(b, ready[i], n.releasing_now);
    };
    // Another order that ends in the same state as the runtime's own, having reported nothing
    // on the way, has the same future: not explored again. (Often the events commute.)
    Node own = n;
    release(0, own);
    uint64_t own_key = Key(own);
    auto pending = [](const Node& x) {
      std::vector<std::tuple<uint8_t, uint16_t, Time>> p;
      for (const Choice& c : x.choices) p.emplace_back(c.kind, c.entry, c.t);
      std::sort(p.begin(), p.end());
      return p;
    };
    std::vector<Node> others;
    for (size_t option = 1; option < orders.size(); ++option) {
      Node b = n;
      uint64_t reports = reports_;
      release(option, b);
      if (reports_ == reports && b.releasing.empty() && own.releasing.empty() &&
          Key(b) == own_key && pending(b) == pending(own)) {
        continue;
      }
      others.push_back(std::move(b));
    }
    report_.order_branches += others.size();
    if (others.empty()) {
      n = std::move(own);
      return;
    }
    Explore(own);
    for (size_t i = 0; i + 1 < others.size() && !stop_; ++i) Explore(others[i]);
    n = std::move(others.back());
    return;
  }
  std::vector<int64_t> options = {0};
  for (Duration s : CalendarShifts(c.entry, c.t)) {
    // A real time before its grid point rounds up to it, one after it down: one threshold
    // must do both for every realised time of the run.
    int64_t lo = n.e_lo, hi = n.e_hi;
    if (s.count() < 0) {
      hi = std::min(hi, (grid_ + s).count() - 1);
    } else {
      lo = std::max(lo, s.count());
    }
    if (lo <= hi) options.push_back(s.count());
  }
  auto build = [&](int64_t option, Node& b) {
    if (option == 0) return;
    b.realised = true;
    Duration s(option);
    if (b.shift.empty()) b.shift.assign(m_.events.size(), Duration(0));
    b.shift[c.entry] = s;
    if (s.count() < 0) {
      b.e_hi = std::min(b.e_hi, (grid_ + s).count() - 1);
    } else {
      b.e_lo = std::max(b.e_lo, s.count());
    }
    ++report_.day_branches;
  };
  for (size_t i = 0; i < options.size() && !stop_; ++i) {
    if (i + 1 == options.size()) {
      build(options[i], n);
      return;
    }
    Node b = n;
    build(options[i], b);
    Explore(b);
  }
}

void Checker::Explore(Node& n) {
  while (!stop_) {
    if (++report_.states > opt_.max_states) {
      report_.complete = false;
      stop_ = true;
      return;
    }
    if (n.choices.empty() && Visited(n)) {
      --report_.states;
      ++report_.merged;
      return;
    }
    if (!n.choices.empty()) {
      Choice c = n.choices.back();
      n.choices.pop_back();
      if (c.kind >= 2) {
        Realise(n, c);
        if (stop_) return;
        continue;
      }
      const EventModel& em = m_.events[c.entry];
      // Options are numbered and each branch is built only when it is explored, so that a
      // wide range costs time (bounded by max_states), not memory.
      int64_t fault = c.kind == 0 ? (em.lost || em.optional) : em.missing;
      // A business-day delay counts from the calendar day of its cause; a real cause that
      // rounds to c.t may lie on a neighbouring day, so every count of those days is a branch.
      std::vector<Duration> business;
      // Checking every count around c.t costs samples * counts * days calendar steps; beyond
      // a budget (a range of years) the counts of c.t's own day are explored, computed per
      // branch, and the result is reported as not proven.
      bool wide = c.kind == 0 && em.business_days &&
                  (2 * (grid_ / std::min<Duration>(std::chrono::minutes(15), grid_)) + 3) *
                          int64_t{em.max_days - em.min_days + 1} * em.max_days >
                      2'000'000;
      if (wide) {
        NotExact("event " + em.type + ": business_days [" + std::to_string(em.min_days) + ", " +
                 std::to_string(em.max_days) +
                 "] is too wide to check the calendar within one grid step of each cause; "
                 "explored with the count of the cause's own day");
      }
      if (c.kind == 0 && em.business_days && !wide) {
        for (int k = em.min_days; k <= em.max_days; ++k) {
          for (Duration d : BusinessDelays(c.t, k)) {
            if (d.count() % grid_.count() != 0) {
              NotExact("event " + em.type + ": " + std::to_string(k) + " business days after " +
                       FormatTime(c.t) + " is " + FormatDuration(d) +
                       ", not a multiple of the grid " + FormatDuration(grid_));
            }
            business.push_back(d);
          }
        }
        std::sort(business.begin(), business.end());
        business.erase(std::unique(business.begin(), business.end()), business.end());
      }
      // A duplicate arrives with the first report or up to one model grid step later.
      int64_t lags = model_grid_ / grid_ + 1;
      int64_t values;
      if (c.kind == 0) {
        values = !em.business_days ? (em.max_delay - em.min_delay) / grid_ + 1
                 : wide            ? em.max_days - em.min_days + 1
                                   : static_cast<int64_t>(business.size());
      } else {
        values = ((em.max_late - em.min_late) / grid_ + 1) * (em.duplicate ? 1 + lags : 1);
      }
      int64_t options = fault + values;
      // The model's fault budget: once it is spent, what still happens happens on time, once
      // and reported (an optional event may still not happen: that is no fault).
      const bool spent = m_.max_faults >= 0 && n.deviations >= m_.max_faults;
      auto is_fault = [&](int64_t i) {
        if (i < fault) return c.kind == 1 || em.lost;
        int64_t v = i - fault;
        return c.kind == 1 && v > 0;  // a late or a second report
      };
      auto build = [&](int64_t i, Node& b) {
        if (is_fault(i)) ++b.deviations;
        if (i < fault) {
          if (c.kind == 1 || em.lost) ++b.faults;
          if (c.kind != 1 && em.lost && customers_[c.entry]) ++b.silent;
          return;
        }
        int64_t v = i - fault;
        if (c.kind == 0) {
          Time t = !em.business_days ? c.t + em.min_delay + grid_ * v
                   : wide ? def_.calendar().AddBusinessDays(c.t, em.min_days + static_cast<int>(v))
                          : c.t + business[static_cast<size_t>(v)];
          Push(b, {t, 0, c.entry, 0, t, 0});
          return;
        }
        // dup: 0 once; 1 + j: twice, the second j grid steps after the first.
        int64_t dup = em.duplicate ? v % (1 + lags) : 0;
        Duration l = em.min_late + grid_ * (em.duplicate ? v / (1 + lags) : v);
        Push(b, {c.t + l, 1, c.entry, 0, c.t, 0});
        if (dup > 0) Push(b, {c.t + l + grid_ * (dup - 1), 1, c.entry, 1, c.t, 0});
      };
      // The last option allowed is built in place (no copy), the others on copies.
      int64_t last = options - 1;
      while (spent && last > 0 && is_fault(last)) --last;
      for (int64_t i = 0; i < last && !stop_; ++i) {
        if (spent && is_fault(i)) continue;
        Node b = n;
        build(i, b);
        Explore(b);
      }
      if (stop_) return;
      build(last, n);
      continue;
    }
    bool ended = n.started && n.st.status == InstanceStatus::kEnded;
    bool now_in_world =
        !n.queue.empty() && n.queue.front().kind == 0 && n.queue.front().at <= n.now;
    if (ended && !now_in_world) {
      // The end is final (invariant 8): nothing that still happens can fire anything. (What
      // still happens in the world at this instant is played out first: it counts for what
      // fired at this instant.)
      Leaf(n);
      return;
    }
    // The next instant: the earliest world item or timer (an overdue timer, due before an
    // event that established its anchor late, is processed now, as the runtime does).
    bool running = n.started && n.st.status == InstanceStatus::kRunning;
    Time next = n.queue.empty() ? kNever : n.queue.front().at;
    if (running) {
      for (const PendingTimer& t : n.st.timers)
        next = std::min(next, std::max(GridDue(n, t), n.now));
    }
    if (next == kNever) {
      Leaf(n);
      return;
    }
    if (next > n.now) {
      CloseInstant(n);
      n.timers_now = n.shift_now = 0;
    }
    n.now = std::max(n.now, next);
    if (!n.queue.empty() && n.queue.front().at == next && n.queue.front().kind == 0) {
      // What happens in the world at this instant comes first: it changes nothing the instance
      // sees, and every property compares world times with <=, so its order does not matter.
      Item it = n.queue.front();
      n.queue.erase(n.queue.begin());
      if (n.occurred[it.entry] == kNever) n.occurred[it.entry] = it.at;
      n.choices.push_back({1, it.entry, it.at});
      CausedBy(n, false, m_.events[it.entry].fact, it.at);
      // A real time that rounds to this grid point may lie on a neighbouring calendar day, on
      // which the definition's business-day rules counting from this occurrence add other
      // delays.
      if (!calendar_days_[it.entry].empty() && !CalendarShifts(it.entry, it.at).empty()) {
        n.choices.push_back({2, it.entry, it.at});
      }
      continue;
    }
    // Every receipt and timer at this instant may be processed next: each is a branch.
    // Symmetry: the two copies of a duplicate differ only in their id, so copy 1 waits for copy
    // 0 of the same occurrence.
    std::vector<Ready> ready;
    for (size_t i = 0; i < n.queue.size() && n.queue[i].at == next; ++i) {
      const Item& it = n.queue[i];
      bool twin_first =
          it.copy == 1 && std::any_of(n.queue.begin(), n.queue.end(), [&](const Item& o) {
            return o.copy == 0 && o.kind == 1 && o.entry == it.entry && o.occurred == it.occurred;
          });
      if (!twin_first) ready.push_back({false, i});
    }
    if (running) {
      for (size_t i = 0; i < n.st.timers.size(); ++i) {
        if (std::max(GridDue(n, n.st.timers[i]), n.now) == next) ready.push_back({true, i});
      }
    }
    for (size_t i = 0; i + 1 < ready.size() && !stop_; ++i) {
      Node b = n;
      Process(b, ready[i]);
      Explore(b);
    }
    if (stop_) return;
    Process(n, ready.back());
  }
}

bool Checker::InModel(const Candidate& c, const std::vector<Time>& fired, Time horizon,
                      std::string* why) const {
  auto fail = [&](std::string text) {
    *why = std::move(text);
    return false;
  };
  for (size_t i = 0; i < m_.events.size(); ++i) {
    const EventModel& em = m_.events[i];
    Time t = c.occurred[i];
    Time cause = kNever;
    std::string cause_name;
    if (em.after_event != kNoFact) {
      cause = c.occurred[static_cast<size_t>(entry_of_fact_[em.after_event])];
      cause_name = def_.facts()[em.after_event].name;
    } else if (em.after_action != kNoAction) {
      cause = fired[em.after_action];
      cause_name = def_.actions()[em.after_action].name;
    } else {
      if (t != kNever && t != m_.start) return fail(em.type + " does not occur at the start");
      continue;
    }
    if (t == kNever) {
      Duration least = em.business_days ? Duration(0) : em.min_delay;
      if (cause != kNever && !em.lost && !em.optional && cause + least < horizon) {
        return fail(em.type + " would have happened by then");
      }
      continue;
    }
    if (cause == kNever || t < cause) return fail(em.type + " occurs before its cause");
    bool ok = false;
    if (em.business_days) {
      for (int k = em.min_days; k <= em.max_days && !ok; ++k) {
        ok = def_.calendar().AddBusinessDays(cause, k) == t;
      }
    } else {
      ok = t - cause >= em.min_delay && t - cause <= em.max_delay;
    }
    if (!ok) {
      return fail(em.type + " at " + FormatTime(t) + " is outside its range after " + cause_name +
                  " at " + FormatTime(cause));
    }
  }
  std::vector<Time> first(m_.events.size(), kNever);
  for (size_t j = 0; j < c.v.events.size(); ++j) {
    const Event& e = c.v.events[j];
    int entry = EntryOf(e);
    if (entry < 0 || e.occurred_at != c.occurred[static_cast<size_t>(entry)]) {
      return fail("event " + e.id + " is not the model's occurrence");
    }
    const EventModel& em = m_.events[static_cast<size_t>(entry)];
    Time received = e.received_at - Duration(c.race[j]);
    bool second = e.id.ends_with("#2");
    Duration late = received - (second ? first[static_cast<size_t>(entry)] : e.occurred_at);
    bool ok = second ? late >= Duration(0) && late <= model_grid_
                     : late >= em.min_late && late <= em.max_late;
    if (!ok) return fail(e.id + " is received outside its range");
    if (!second) first[static_cast<size_t>(entry)] = received;
  }
  return true;
}

bool Checker::Confirm(Candidate& c, std::string* why) {
  Violation& v = c.v;
  auto events = ParseReplayEvents(CounterexampleNdjson(v), "counterexample");
  if (!events.ok() || events->empty()) {
    *why = "no replayable events";
    return false;
  }
  ManualClock clock(events->front().received_at);
  Runtime rt(clock);
  if (!rt.Deploy(std::make_shared<JourneyDefinition>(def_)).ok()) {
    *why = "the definition does not deploy";
    return false;
  }
  bool leaf = v.action.empty();
  ReplayOptions options;
  // A realised firing lies within one grid step of its grid time.
  if (!leaf) options.until = v.at + grid_ - Duration(1);
  Replay(rt, clock, *events, options);
  const std::vector<OutboxAction>& outbox = rt.outbox();
  std::vector<Time> fired(def_.actions().size(), kNever);
  for (const OutboxAction& o : outbox) {
    if (auto id = def_.FindAction(o.action)) fired[*id] = std::min(fired[*id], o.created_at);
  }
  const OutboxAction* firing = nullptr;
  int copies = 0;
  for (const OutboxAction& o : outbox) {
    if (o.action != v.action || o.occurrence != v.occurrence) continue;
    if (!firing) firing = &o;
    ++copies;
  }
  if (!leaf && !firing) {
    *why = v.action + " #" + std::to_string(v.occurrence) + " does not fire when replayed";
    return false;
  }
  Time at = leaf ? kNever : firing->created_at;
  if (!InModel(c, fired, at, why)) return false;
  std::string message;
  if (leaf) {
    const InstanceState* s = rt.Find(def_.name(), kKey);
    if (!s || s->status != InstanceStatus::kRunning || !s->timers.empty()) {
      *why = "replayed, the instance ends or keeps a timer";
      return false;
    }
    if (v.property == kPropEnds && c.faults) {
      *why = "something was lost";
      return false;
    }
    if (v.property == kPropNoSilentWait) {
      Time last = m_.start;
      for (const Event& e : v.events) last = std::max(last, e.received_at);
      for (const OutboxAction& o : outbox) {
        if (o.created_at >= last) {
          *why = "replayed, " + o.action + " is sent after the last event";
          return false;
        }
      }
    }
    message = v.message;
  } else {
    ActionId id = *def_.FindAction(v.action);
    std::string label = v.action + " #" + std::to_string(v.occurrence);
    if (v.property == kPropOnce && copies > 1) {
      message = label + " fired a second time";
    } else if (v.property == kPropNotDone && m_.asks[id] != kNoFact) {
      for (size_t j = 0; j < v.events.size() && message.empty(); ++j) {
        const Event& e = v.events[j];
        if (def_.Implies(def_.FindEvent(e.type)->fact, m_.asks[id]) &&
            e.received_at - Duration(c.race[j]) <= at) {
          message = label + " asked the customer to complete " + def_.facts()[m_.asks[id]].name +
                    " at " + FormatTime(at) + ", but " + e.type + " had arrived at " +
                    FormatTime(e.received_at);
        }
      }
    } else {
      std::vector<std::pair<uint8_t, Time>> told;
      const ActionSpec& a = def_.actions()[id];
      for (size_t p = 0; p < a.params.size(); ++p) {
        auto it = firing->params.find(a.params[p].name);
        if (!a.params[p].date || it == firing->params.end() || !it->is_string()) continue;
        if (auto t = ParseTime(it->get<std::string>()); t.ok()) {
          told.emplace_back(static_cast<uint8_t>(p), *t);
        }
      }
      for (auto& [property, text] :
           JudgeFiring(id, v.occurrence, at, told, c.occurred, fired, nullptr)) {
        if (property == v.property && message.empty()) message = std::move(text);
      }
    }
    if (message.empty()) {
      *why = "replayed with its real times, " + label + " does not violate " + v.property;
      return false;
    }
    v.at = at;
    v.fired.clear();
    for (const OutboxAction& o : outbox) {
      if (o.created_at > at) continue;
      v.fired.push_back(FormatTime(o.created_at) + " " + o.action + " #" +
                        std::to_string(o.occurrence));
    }
  }
  v.message = message + " (replayed with real times within the model)";
  return true;
}

CheckReport Checker::Run() {
  auto t0 = std::chrono::steady_clock::now();
  report_.grid = grid_;
  report_.properties = {kPropCanAct, kPropDeadline,     kPropOnce,          kPropNotDone,
                        kPropEnds,   kPropNoSilentWait, kPropStepsReachable};
  Node root;
  root.now = m_.start;
  root.occurred.assign(m_.events.size(), kNever);
  root.received.assign(m_.events.size(), kNever);
  root.first_fired.assign(def_.actions().size(), kNever);
  root.e_hi = grid_.count() - 1;
  int start = entry_of_fact_[def_.start_fact()];
  if (start >= 0) Push(root, {m_.start, 0, static_cast<uint16_t>(start), 0, m_.start, 0});
  Explore(root);
  // A violation found only in runs with a realised day or release order is reported if one of
  // its shortest counterexamples replays as a run of the model; otherwise it is not decided.
  for (const std::string& property : report_.properties) {
    auto found = candidates_.find(property);
    if (found == candidates_.end() || !report_.complete) continue;
    bool reported = std::any_of(report_.violations.begin(), report_.violations.end(),
                                [&](const Violation& v) { return v.property == property; });
    if (reported) continue;
    std::string why;
    bool confirmed = false;
    for (Candidate& c : found->second) {
      std::string reason;
      if (Confirm(c, &reason)) {
        report_.violations.push_back(std::move(c.v));
        confirmed = true;
        break;
      }
      if (why.empty()) why = std::move(reason);
    }
    if (!confirmed) {
      const Violation& v = found->second.front().v;
      NotExact("[" + property + "] " + v.message +
               ": found only with a real time on another calendar day than its grid point or "
               "parked events released in another order, and its counterexample is not a run of "
               "the model (" +
               why + ")");
    }
  }
  // A reminder must say what it asks for: without the task (asks_customer_to in the definition,
  // asks: in a deviations file) nothing shows that it stops once the customer has done it. A
  // customer message that repeats and stops at some fact is a reminder.
  for (ActionId id = 0; id < def_.actions().size(); ++id) {
    const ActionSpec& a = def_.actions()[id];
    if (a.kind != ActionKind::kMessage || a.audience != Audience::kCustomer ||
        a.max_occurrences < 2 || a.unless.empty() || m_.asks[id] != kNoFact) {
      continue;
    }
    Violation v;
    v.property = kPropNotDone;  // no run shows it: the action field stays for fired actions
    v.message = a.name + " reminds the customer up to " + std::to_string(a.max_occurrences) +
                " times but names no task it asks for (asks_customer_to): nothing shows that it "
                "stops once the customer has done it";
    report_.violations.push_back(std::move(v));
  }
  if (report_.complete) {
    for (const StepSpec& s : def_.steps()) {
      if (reached_[s.fact]) continue;
      Violation v;
      v.property = kPropStepsReachable;
      v.message = "step " + s.name + " is never completed in any run the model allows";
      report_.violations.push_back(std::move(v));
    }
  }
  // Report order: the order of the properties list.
  std::stable_sort(report_.violations.begin(), report_.violations.end(),
                   [&](const Violation& a, const Violation& b) {
                     auto pos = [&](const std::string& p) {
                       return std::find(report_.properties.begin(), report_.properties.end(), p) -
                              report_.properties.begin();
                     };
                     return pos(a.property) < pos(b.property);
                   });
  report_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::move(report_);
}

std::string RelativeTo(Time t, Time start) {
  Duration d = t - start;
  std::string s = "+" + FormatDuration(std::chrono::duration_cast<std::chrono::seconds>(d));
  if (d.count() % 1000000 != 0) s += "+" + std::to_string(d.count() % 1000000) + "us";
  return s;
}

}  // namespace

CheckReport CheckJourney(const JourneyDefinition& def, const DeviationModel& model,
                         const CheckOptions& options) {
  CheckReport report = Checker(def, model, options).Run();
  report.model = model.Describe();
  return report;
}

std::string CounterexampleNdjson(const Violation& v) {
  std::string out;
  for (const Event& e : v.events) {
    Json j = EventToJson(e);
    j["received_at"] = FormatTime(e.received_at);
    out += j.dump() + "\n";
  }
  return out;
}

Json CheckReportToJson(const JourneyDefinition& def, const CheckReport& r) {
  Json j;
  j["journey"] = def.name();
  j["version"] = def.version();
  j["pass"] = r.pass();
  j["complete"] = r.complete;
  j["exact"] = r.not_exact.empty();
  j["not_exact"] = r.not_exact;
  j["states"] = r.states;
  j["runs"] = r.runs;
  j["merged"] = r.merged;
  j["day_branches"] = r.day_branches;
  j["order_branches"] = r.order_branches;
  j["grid"] = FormatDuration(r.grid);
  j["model"] = r.model;
  j["seconds"] = r.seconds;
  j["properties"] = r.properties;
  Json vs = Json::array();
  for (const Violation& v : r.violations) {
    Json vj = {{"property", v.property}, {"message", v.message}};
    if (!v.action.empty()) {
      vj["action"] = v.action;
      vj["occurrence"] = v.occurrence;
    }
    if (!v.events.empty() || !v.action.empty()) vj["at"] = FormatTime(v.at);
    Json evs = Json::array();
    for (const Event& e : v.events) {
      Json ej = EventToJson(e);
      ej["received_at"] = FormatTime(e.received_at);
      evs.push_back(std::move(ej));
    }
    vj["events"] = std::move(evs);
    vj["fired"] = v.fired;
    vs.push_back(std::move(vj));
  }
  j["violations"] = std::move(vs);
  return j;
}

std::string CheckReportToText(const JourneyDefinition& def, const CheckReport& r) {
  std::ostringstream out;
  // Which world was checked comes first: a pass is only as good as its model.
  if (!r.model.empty()) out << "model: " << r.model << "\n";
  std::string size = std::to_string(r.states) + " states, " + std::to_string(r.runs) +
                     " runs, time grid " + FormatDuration(r.grid);
  if (r.day_branches + r.order_branches > 0) {
    size += "; branches for another calendar day: " + std::to_string(r.day_branches) +
            ", another release order: " + std::to_string(r.order_branches);
  }
  if (!r.complete) {
    out << "INCOMPLETE: gave up after " << size << " (raise --max-states)\n";
  } else if (!r.not_exact.empty()) {
    out << "NOT PROVEN: " << def.name() << " v" << def.version()
        << ": the time grid is not exact for this model (" << size
        << "); see docs/journeys.md, \"Why the time grid is exact\":\n";
    for (const std::string& why : r.not_exact) out << "  - " << why << "\n";
    if (!r.violations.empty()) {
      out << r.violations.size() << " propert" << (r.violations.size() == 1 ? "y" : "ies")
          << " violated on the grid:\n";
    }
  } else if (r.violations.empty()) {
    out << "pass: " << def.name() << " v" << def.version() << ": " << r.properties.size()
        << " properties hold in every run (" << size << ")\n";
    return out.str();
  } else {
    out << "FAIL: " << def.name() << " v" << def.version() << ": " << r.violations.size()
        << " propert" << (r.violations.size() == 1 ? "y" : "ies") << " violated (" << size << ")\n";
  }
  for (const Violation& v : r.violations) {
    out << "\n[" << v.property << "] " << v.message << "\n";
    if (v.events.empty() && v.action.empty()) continue;
    Time start = v.events.empty() ? v.at : v.events.front().occurred_at;
    out << "  counterexample (" << v.events.size() << " events):\n";
    for (const Event& e : v.events) {
      out << "    " << FormatTime(e.occurred_at) << " (" << RelativeTo(e.occurred_at, start)
          << ")  " << e.type;
      if (e.received_at != e.occurred_at) out << "  received " << FormatTime(e.received_at);
      out << "\n";
    }
    if (!v.action.empty()) {
      out << "    " << FormatTime(v.at) << " (" << RelativeTo(v.at, start) << ")  fired "
          << v.action << " #" << v.occurrence << "  <-- " << v.property << "\n";
    }
  }
  return out.str();
}

}  // namespace rapport::journey
