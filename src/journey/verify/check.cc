// Exhaustive exploration of a journey against its deviation model (see check.h). A run is built
// depth-first: whenever something happens in the world, every choice the model allows for what
// it causes (when, lost, late, twice) becomes a branch; events arrive at the real state machine
// in time order, interleaved with its own timers. At one point of the time grid, every order of
// the receipts and due timers that fall on it is a branch (they race in the live runtime, and
// real times inside one grid step, rounded to the grid, become equal: docs/journeys.md, "Why the
// time grid is exact"). The conditions of that argument that depend on the run are checked as
// the run is built (NotExact).
#include "journey/verify/check.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_set>

#include "core/ids.h"
#include "journey/instance.h"

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
  uint8_t kind;  // 0: when does `entry` happen after its cause (at `t`); 1: how is it reported
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
  int faults = 0;
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
  }

  CheckReport Run();

 private:
  void Explore(Node& n);
  void Leaf(Node& n);
  // One of the happenings at an instant: a receipt (index into the queue) or a due timer.
  struct Ready {
    bool timer;
    size_t index;  // into n.queue or n.st.timers
  };
  void Process(Node& n, Ready r);
  void FireDue(Node& n, PendingTimer t);
  // The delays `days` business days can add to a time within one grid step of `x` (the calendar
  // day, and so the count, of a real time that rounds to x may be a neighbour of x's).
  const std::vector<Duration>& BusinessDelays(Time x, int days);
  // Condition (1) for a business-day rule the journey itself evaluates at x: the same delay
  // for every time within one grid step, and a multiple of the grid.
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
  void CausedBy(Node& n, bool by_action, uint16_t id, Time t);
  void Deliver(Node& n, const Event& e);
  void Park(Node& n, const Event& e);
  void Absorb(Node& n, Effects& fx);
  void Judge(Node& n, const OutboxAction& o);
  void JudgeWorld(Node& n, const Node::Deferred& d);
  void CloseInstant(Node& n) {
    std::vector<Node::Deferred> deferred = std::move(n.deferred);
    n.deferred.clear();
    for (const Node::Deferred& d : deferred) JudgeWorld(n, d);
  }
  std::optional<Time> AbleSince(const Node& n, FactId step, std::string* what) const;
  void Report(const Node& n, const char* property, std::string message, std::string action,
              int occurrence, uint16_t shift);
  uint64_t Key(const Node& n) const;
  std::vector<std::string> FiredText(const Node& n) const {
    std::vector<std::string> out;
    for (const auto& [id, occ, at] : n.fired) {
      out.push_back(FormatTime(at) + " " + def_.actions()[id].name + " #" + std::to_string(occ));
    }
    return out;
  }
  // True if event type `cause` is (transitively) the model's cause of event type `effect`.
  bool Causes(const std::string& cause, const std::string& effect) const {
    const EventSpec* c = def_.FindEvent(cause);
    const EventSpec* e = def_.FindEvent(effect);
    if (!c || !e) return false;
    for (int entry = entry_of_fact_[e->fact]; entry >= 0;) {
      FactId up = m_.events[entry].after_event;
      if (up == kNoFact) return false;
      if (up == c->fact) return true;
      entry = entry_of_fact_[up];
    }
    return false;
  }

  const JourneyDefinition& def_;
  const DeviationModel& m_;
  CheckOptions opt_;
  Duration model_grid_;  // TimeGrid: every constant is a multiple of it
  Duration grid_;        // explored: model_grid_ / grid_divisor
  std::map<std::pair<int64_t, int>, std::vector<Duration>> business_delays_;
  std::set<std::pair<int64_t, int>> business_checked_;
  std::vector<int> entry_of_fact_;
  std::vector<bool> reached_;
  CheckReport report_;
  bool stop_ = false;
  std::unordered_set<uint64_t> visited_;
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
  put(n.started * 4 + (n.faults > 0) * 2 + n.sent_since_event);
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
  // are released by occurred_at; ties are released in the order they were parked, which Park
  // makes sure is cause before effect, or reports.)
  std::vector<std::pair<int64_t, int64_t>> set;
  for (const Event& e : n.parked) {
    set.emplace_back(ToMicros(e.occurred_at), static_cast<int64_t>(Hash64(e.id)));
  }
  std::sort(set.begin(), set.end());
  for (const auto& [at, id] : set) {
    put(id);
    put(at);
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
    auto able = AbleSince(n, step, &ignored);
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
  // The counterexample: what arrived so far, and what already happened in the world and will
  // arrive later (e.g. the delivery the deadline should have been counted from).
  std::vector<Event> events;
  for (const Node::Arrived& a : n.trace) {
    // A receipt processed after a timer at the same instant lost the race; `journey run`
    // applies receipts before timers due at the same time, so the replayable form lists it as
    // received that many microseconds later (its occurrence, and so every fact, unchanged).
    events.push_back(ModelEvent(def_, m_.events[a.entry].fact, kKey, a.copy + 1, a.occurred,
                                a.at + Duration(a.after_timers)));
  }
  for (const Item& it : n.queue) {
    if (it.kind != 1 || it.occurred > n.now) continue;
    events.push_back(
        ModelEvent(def_, m_.events[it.entry].fact, kKey, it.copy + 1, it.occurred, it.at));
  }
  for (auto& existing : report_.violations) {
    if (existing.property != property) continue;
    // Shortest: fewest events, then earliest.
    if (events.size() > existing.events.size() ||
        (events.size() == existing.events.size() && v.at >= existing.at)) {
      return;
    }
    v.events = std::move(events);
    v.fired = FiredText(n);
    existing = std::move(v);
    return;
  }
  v.events = std::move(events);
  v.fired = FiredText(n);
  report_.violations.push_back(std::move(v));
}

// When the customer became able to do `step`, in the world: the cause (in the model) of the
// earliest event that completes it. nullopt if the model does not say what enables it.
std::optional<Time> Checker::AbleSince(const Node& n, FactId step, std::string* what) const {
  const StepSpec& s = def_.steps()[def_.facts()[step].index];
  std::optional<Time> best;
  bool known = false;
  for (FactId ev : s.completed_by) {
    int entry = entry_of_fact_[ev];
    if (entry < 0) continue;
    const EventModel& em = m_.events[entry];
    Time t = kNever;
    std::string name;
    if (em.after_event != kNoFact) {
      t = n.occurred[entry_of_fact_[em.after_event]];
      name = def_.facts()[em.after_event].name;
    } else if (em.after_action != kNoAction) {
      t = n.first_fired[em.after_action];
      name = "action " + def_.actions()[em.after_action].name;
    } else {
      continue;
    }
    known = true;
    if (!best || t < *best) {
      best = t;
      *what = name;
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
    if (told.ok()) d.told.emplace_back(static_cast<uint8_t>(p), *told);
  }
  n.deferred.push_back(std::move(d));
}

// What is judged against the world, once the instant of the firing is over: requires that
// held in the world, whether the customer could act, the deadline told.
void Checker::JudgeWorld(Node& n, const Node::Deferred& d) {
  const ActionSpec& a = def_.actions()[d.action];
  std::string label = a.name + " #" + std::to_string(d.occurrence);
  // Requires must hold in the world, not only in what the journey was told.
  for (FactId f : a.required) {
    bool holds = false;
    for (size_t i = 0; i < m_.events.size() && !holds; ++i) {
      holds = def_.Implies(m_.events[i].fact, f) && n.occurred[i] <= n.now;
    }
    if (!holds && entry_of_fact_.size() > f) {
      Report(n, kPropCanAct,
             label + " fired at " + FormatTime(n.now) + " although " + def_.facts()[f].name +
                 " (required) had not happened",
             a.name, d.occurrence, d.shift);
    }
  }
  FactId asks = m_.asks[d.action];
  if (asks == kNoFact) return;
  const std::string& step = def_.facts()[asks].name;
  std::string cause;
  std::optional<Time> able = AbleSince(n, asks, &cause);
  if (able && *able > n.now) {
    Report(n, kPropCanAct,
           label + " asked the customer to complete " + step + " at " + FormatTime(n.now) +
               ", but they could not: " + cause +
               (*able == kNever ? " has not happened" : " happened only at " + FormatTime(*able)),
           a.name, d.occurrence, d.shift);
  }
  if (!able || *able == kNever) return;
  for (const auto& [index, told] : d.told) {
    const ParamSpec& p = a.params[index];
    if (p.date->business_days >= 0) {
      // Condition (1) for both sides of the comparison below.
      std::string what = "the date " + p.name + " of " + a.name;
      if (const HeldFact* h = n.st.Fact(p.date->fact)) {
        CheckBusinessRule(h->at, p.date->business_days, what);
      }
      CheckBusinessRule(*able, p.date->business_days, what);
    }
    Time promised = def_.Resolve(*p.date, *able);
    if (told < promised) {
      Report(n, kPropDeadline,
             label + " told the customer " + p.name + "=" + FormatTime(told) + ", only " +
                 FormatDuration(told - *able) + " after they could act (" + cause + " at " +
                 FormatTime(*able) + "); the rule " + def_.AnchorText(*p.date) + " promises " +
                 FormatTime(promised),
             a.name, d.occurrence, d.shift);
    }
  }
}

void Checker::Absorb(Node& n, Effects& fx) {
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
  // by occurred_at.
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

  for (const Event& e : ready) Deliver(n, e);
}

// Condition (1): the runtime releases parked events by a strict comparison of occurred_at, ties
// in the order they were parked. Two of them at one grid point may have occurred in either order
// in real time unless the one parked first is a cause of the other in the model (a cause never
// occurs after its effect); then the order is the same for every real time. (Events under the
// journey's own key that wait for the start event are applied with it as one batch, in no
// order, and never together with the others.)
void Checker::Park(Node& n, const Event& e) {
  auto batched = [&](const Event& x) { return FindField(x.keys, def_.primary_key()) != nullptr; };
  for (const Event& p : n.parked) {
    if (p.occurred_at == e.occurred_at && p.type != e.type && !Causes(p.type, e.type) &&
        !batched(p) && !batched(e)) {
      NotExact("parked events " + p.type + " and " + e.type + " occurred at the same grid point " +
               FormatTime(e.occurred_at) +
               ": the runtime releases them by occurred_at, which real times inside one grid "
               "step may order either way");
    }
  }
  n.parked.push_back(e);
}

void Checker::Deliver(Node& n, const Event& e) {
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
      if (StartInstance(def_, e, n.now, &n.st, &fx, backlog).ok()) n.started = true;
      Absorb(n, fx);
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
  if (ApplyEvent(def_, &n.st, e, n.now, &fx).ok()) Absorb(n, fx);
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
  if (n.faults == 0) {
    Report(n, kPropEnds,
           "no end state is reached although nothing was lost: the instance waits for ever "
           "(no event and no timer left)",
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

void Checker::CheckBusinessRule(Time x, int days, const std::string& what) {
  if (!business_checked_.insert({ToMicros(x), days}).second) return;
  const std::vector<Duration>& delays = BusinessDelays(x, days);
  if (delays.size() > 1) {
    NotExact(what + " (" + std::to_string(days) + " business days from " + FormatTime(x) +
             ") adds " + FormatDuration(delays.front()) + " or " + FormatDuration(delays.back()) +
             " depending on where within one grid step (" + FormatDuration(grid_) +
             ") the real time lies");
  } else if (delays.front().count() % grid_.count() != 0) {
    NotExact(what + " (" + std::to_string(days) + " business days from " + FormatTime(x) +
             ") adds " + FormatDuration(delays.front()) + ", not a multiple of the grid " +
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
  // Condition (1): whether an overdue occurrence is stale is a strict comparison (now - due >
  // expires). Exactly on its boundary, real times inside the grid step decide either way.
  if (a.expires.count() > 0 && n.now - t.due == a.expires) {
    NotExact("timer " + a.name + " #" + std::to_string(t.occurrence) + " is processed exactly " +
             FormatDuration(a.expires) + " (its expires) after its due time " + FormatTime(t.due) +
             ": whether it is stale depends on times inside one grid step");
  }
  Effects fx;
  fx.record_timeline = false;
  if (FireTimer(def_, &n.st, t.action, t.occurrence, n.now, &fx).ok()) Absorb(n, fx);
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
  Event e = ModelEvent(def_, m_.events[it.entry].fact, kKey, it.copy + 1, it.occurred, it.at);
  if (n.received[it.entry] == kNever) n.received[it.entry] = it.at;
  n.trace.push_back({it.entry, it.copy, n.timers_now, it.occurred, it.at});
  n.shift_now = n.timers_now;
  n.sent_since_event = false;
  Deliver(n, e);
  CheckCalendarRules(n);
}

void Checker::Explore(Node& n) {
  while (!stop_) {
    if (++report_.states > opt_.max_states) {
      report_.complete = false;
      stop_ = true;
      return;
    }
    if (n.choices.empty() && !visited_.insert(Key(n)).second) {
      --report_.states;
      ++report_.merged;
      return;
    }
    if (!n.choices.empty()) {
      Choice c = n.choices.back();
      n.choices.pop_back();
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
      auto build = [&](int64_t i, Node& b) {
        if (i < fault) {
          if (c.kind == 1 || em.lost) ++b.faults;
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
      for (int64_t i = 0; i + 1 < options && !stop_; ++i) {
        Node b = n;
        build(i, b);
        Explore(b);
      }
      if (stop_) return;
      build(options - 1, n);
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
      for (const PendingTimer& t : n.st.timers) next = std::min(next, std::max(t.due, n.now));
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
        if (std::max(n.st.timers[i].due, n.now) == next) ready.push_back({true, i});
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
  int start = entry_of_fact_[def_.start_fact()];
  if (start >= 0) Push(root, {m_.start, 0, static_cast<uint16_t>(start), 0, m_.start, 0});
  Explore(root);
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
  return Checker(def, model, options).Run();
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
  j["grid"] = FormatDuration(r.grid);
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
  std::string size = std::to_string(r.states) + " states, " + std::to_string(r.runs) +
                     " runs, time grid " + FormatDuration(r.grid);
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
