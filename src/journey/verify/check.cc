// Exhaustive exploration of a journey against its deviation model (see check.h). A run is built
// depth-first: whenever something happens in the world, every choice the model allows for what
// it causes (when, lost, late, twice) becomes a branch; events arrive at the real state machine
// in time order, interleaved with its own timers (an event received at a timer's due time is
// applied first, as the runtime and replay do; "just after" is explored as a separate branch).
#include "journey/verify/check.h"

#include <algorithm>
#include <chrono>
#include <optional>
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

constexpr Duration kEpsilon{1};  // "just after": far below any grid (>= 1 s)
constexpr Time kNever = Time::max();
const std::string kKey = "C-1";

struct Item {
  Time at;
  uint8_t kind;  // 0: occurs in the world, 1: received by the journey
  uint16_t entry;
  uint8_t copy;  // 0, or 1 for a duplicate
  bool shifted = false;
  Time occurred;
  uint32_t seq;
  bool operator<(const Item& o) const {
    if (at != o.at) return at < o.at;
    if (kind != o.kind) return kind < o.kind;
    return seq < o.seq;
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
    Time occurred, at;
  };
  std::vector<Arrived> trace;
  std::vector<std::tuple<ActionId, uint16_t, Time>> fired;
  int faults = 0;
  bool sent_since_event = true;
  uint32_t seq = 0;
};

class Checker {
 public:
  Checker(const JourneyDefinition& def, const DeviationModel& m, const CheckOptions& o)
      : def_(def), m_(m), opt_(o) {
    grid_ = TimeGrid(def, m);
    entry_of_fact_.assign(def.facts().size(), -1);
    for (size_t i = 0; i < m.events.size(); ++i) entry_of_fact_[m.events[i].fact] = int(i);
    reached_.assign(def.facts().size(), false);
  }

  CheckReport Run();

 private:
  void Explore(Node& n);
  void Leaf(Node& n);
  void Push(Node& n, Item it) {
    it.seq = n.seq++;
    n.queue.insert(std::upper_bound(n.queue.begin(), n.queue.end(), it), it);
  }
  void CausedBy(Node& n, bool by_action, uint16_t id, Time t);
  void Deliver(Node& n, const Event& e);
  void Absorb(Node& n, Effects& fx);
  void Judge(Node& n, const OutboxAction& o);
  std::optional<Time> AbleSince(const Node& n, FactId step, std::string* what) const;
  void Report(const Node& n, const char* property, std::string message, std::string action,
              int occurrence);
  uint64_t Key(const Node& n) const;
  std::vector<std::string> FiredText(const Node& n) const {
    std::vector<std::string> out;
    for (const auto& [id, occ, at] : n.fired) {
      out.push_back(FormatTime(at) + " " + def_.actions()[id].name + " #" + std::to_string(occ));
    }
    return out;
  }
  // True if entry `x` is (transitively) caused by the occurrence of entry `e`.
  bool Descends(uint16_t x, uint16_t e) const {
    for (FactId c = m_.events[x].after_event; c != kNoFact;) {
      int ce = entry_of_fact_[c];
      if (ce < 0) return false;
      if (ce == e) return true;
      c = m_.events[ce].after_event;
    }
    return false;
  }

  const JourneyDefinition& def_;
  const DeviationModel& m_;
  CheckOptions opt_;
  Duration grid_;
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
  for (const Event& e : n.parked) {
    put(static_cast<int64_t>(Hash64(e.id)));
    put(ToMicros(e.occurred_at));
  }
  put(-4);
  for (const Item& it : n.queue) {
    put(ToMicros(it.at));
    put(ToMicros(it.occurred));
    put(it.kind * 1000000 + it.entry * 100 + it.copy * 10 + it.shifted);
  }
  put(-5);
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
                     int occurrence) {
  Violation v;
  v.property = property;
  v.message = std::move(message);
  v.action = std::move(action);
  v.occurrence = occurrence;
  v.at = n.now;
  // The counterexample: what arrived so far, and what already happened in the world and will
  // arrive later (e.g. the delivery the deadline should have been counted from).
  std::vector<Event> events;
  for (const Node::Arrived& a : n.trace) {
    events.push_back(ModelEvent(def_, m_.events[a.entry].fact, kKey, a.copy + 1, a.occurred, a.at));
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
        (events.size() == existing.events.size() && n.now >= existing.at)) {
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
           o.occurrence);
  }
  n.fired.emplace_back(*id, o.occurrence, n.now);
  if (a.audience != Audience::kCustomer) return;
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
             a.name, o.occurrence);
    }
  }
  FactId asks = m_.asks[*id];
  if (asks == kNoFact) return;
  const std::string& step = def_.facts()[asks].name;
  std::string cause;
  std::optional<Time> able = AbleSince(n, asks, &cause);
  if (able && *able > n.now) {
    Report(n, kPropCanAct,
           label + " asked the customer to complete " + step + " at " + FormatTime(n.now) +
               ", but they could not: " + cause +
               (*able == kNever ? " has not happened" : " happened only at " + FormatTime(*able)),
           a.name, o.occurrence);
  }
  for (size_t i = 0; i < m_.events.size(); ++i) {
    if (def_.Implies(m_.events[i].fact, asks) && n.received[i] <= n.now) {
      Report(n, kPropNotDone,
             label + " asked the customer to complete " + step + " at " + FormatTime(n.now) +
                 ", but " + m_.events[i].type + " had arrived at " + FormatTime(n.received[i]),
             a.name, o.occurrence);
      break;
    }
  }
  if (!able || *able == kNever) return;
  for (const ParamSpec& p : a.params) {
    if (!p.date) continue;
    auto it = o.params.find(p.name);
    if (it == o.params.end() || !it->is_string()) continue;
    auto told = ParseTime(it->get<std::string>());
    if (!told.ok()) continue;
    Time promised = def_.Resolve(*p.date, *able);
    if (*told < promised) {
      Report(n, kPropDeadline,
             label + " told the customer " + p.name + "=" + FormatTime(*told) + ", only " +
                 FormatDuration(*told - *able) + " after they could act (" + cause + " at " +
                 FormatTime(*able) + "); the rule " + def_.AnchorText(*p.date) + " promises " +
                 FormatTime(promised),
             a.name, o.occurrence);
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
      n.parked.push_back(e);
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
    n.parked.push_back(e);
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
  ++report_.runs;
  for (const HeldFact& h : n.st.facts) reached_[h.fact] = true;
  if (!n.started || n.st.status != InstanceStatus::kRunning) return;
  if (n.faults == 0) {
    Report(n, kPropEnds,
           "no end state is reached although nothing was lost: the instance waits for ever "
           "(no event and no timer left)",
           "", -1);
  } else if (!n.sent_since_event) {
    std::string last = n.trace.empty() ? "the start" : m_.events[n.trace.back().entry].type;
    Report(n, kPropNoSilentWait,
           "after " + last +
               " the instance waits for ever and nobody is told: no timer, "
               "no escalation, nothing sent since",
           "", -1);
  }
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
      int64_t values;
      if (c.kind == 0) {
        values = em.business_days ? em.max_days - em.min_days + 1
                                  : (em.max_delay - em.min_delay) / grid_ + 1;
      } else {
        values = ((em.max_late - em.min_late) / grid_ + 1) * (em.duplicate ? 3 : 1);
      }
      int64_t options = fault + values;
      auto build = [&](int64_t i, Node& b) {
        if (i < fault) {
          if (c.kind == 1 || em.lost) ++b.faults;
          return;
        }
        int64_t v = i - fault;
        if (c.kind == 0) {
          Time t = em.business_days
                       ? (em.min_days + v == 0
                              ? c.t
                              : def_.calendar().AddBusinessDays(c.t, em.min_days + int(v)))
                       : c.t + em.min_delay + grid_ * v;
          Push(b, {t, 0, c.entry, 0, false, t, 0});
          return;
        }
        int64_t dup = em.duplicate ? v % 3 : 0;  // 0: once, 1: twice at once, 2: a grid later
        Duration l = em.min_late + grid_ * (em.duplicate ? v / 3 : v);
        Push(b, {c.t + l, 1, c.entry, 0, false, c.t, 0});
        if (dup > 0)
          Push(b, {c.t + l + (dup == 2 ? grid_ : Duration(0)), 1, c.entry, 1, false, c.t, 0});
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
    // The next thing: a world item, or a timer of the instance (items at a timer's due time
    // go first).
    std::optional<PendingTimer> timer;
    if (n.started && n.st.status == InstanceStatus::kRunning) {
      for (const PendingTimer& t : n.st.timers) {
        if (!timer || t.due < timer->due) timer = t;
      }
    }
    if (n.queue.empty() && !timer) {
      Leaf(n);
      return;
    }
    if (n.started && n.st.status == InstanceStatus::kEnded) {
      // The end is final (invariant 8): nothing that still happens can fire anything.
      Leaf(n);
      return;
    }
    if (timer && (n.queue.empty() || timer->due < n.queue.front().at)) {
      n.now = timer->due;
      Effects fx;
      fx.record_timeline = false;
      if (FireTimer(def_, &n.st, timer->action, timer->occurrence, n.now, &fx).ok()) {
        Absorb(n, fx);
      }
      continue;
    }
    Item it = n.queue.front();
    n.queue.erase(n.queue.begin());
    n.now = std::max(n.now, it.at);
    if (it.kind == 0) {
      if (n.occurred[it.entry] == kNever) n.occurred[it.entry] = it.at;
      n.choices.push_back({1, it.entry, it.at});
      CausedBy(n, false, m_.events[it.entry].fact, it.at);
      continue;
    }
    if (timer && timer->due == it.at && !it.shifted) {
      // The event at the deadline wins; explore it arriving just after as well.
      // An event that is reported as it occurs then also occurs just after the deadline, and
      // with it everything it caused so far (its duplicate, its consequences): the whole
      // subtree moves by the same epsilon, so every delay stays what was chosen.
      Node b = n;
      Item late = it;
      late.shifted = true;
      late.at += kEpsilon;
      if (it.copy == 0 && late.occurred == it.at) {
        late.occurred += kEpsilon;
        b.occurred[it.entry] = late.occurred;
        for (Item& q : b.queue) {
          if ((q.entry == it.entry && q.occurred == it.occurred) || Descends(q.entry, it.entry)) {
            q.at += kEpsilon;
            q.occurred += kEpsilon;
          }
        }
        std::sort(b.queue.begin(), b.queue.end());
      }
      Push(b, late);
      Explore(b);
      if (stop_) return;
    }
    Event e = ModelEvent(def_, m_.events[it.entry].fact, kKey, it.copy + 1, it.occurred, it.at);
    if (n.received[it.entry] == kNever) n.received[it.entry] = it.at;
    n.trace.push_back({it.entry, it.copy, it.occurred, it.at});
    n.sent_since_event = false;
    Deliver(n, e);
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
  if (start >= 0) Push(root, {m_.start, 0, static_cast<uint16_t>(start), 0, false, m_.start, 0});
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
  j["states"] = r.states;
  j["runs"] = r.runs;
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
