// The states of a run, their keys for merging, and the branches of a run: what the world does
// next, in which order receipts and timers at one instant are applied, and the leaves.
#include "journey/verify/internal/checker.h"

namespace rapport::journey::check_internal {

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
    put(static_cast<int>(it.kind) * 1000000 + it.entry * 100 + it.copy * 10);
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
    n.choices.push_back({ChoiceKind::kReleaseOrder, 0, n.now});
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
    if (by_action ? em.after_action == id : CausesAt(n.occurred, em, id)) {
      n.choices.push_back({ChoiceKind::kWhen, static_cast<uint16_t>(i), t});
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
  // Only an event that changes what holds starts a new wait: a second or late report of what
  // is known (a scan after the escalation about it was opened) leaves the told one as it was.
  size_t facts = n.st.facts.size();
  bool told = n.sent_since_event;
  n.sent_since_event = false;
  Deliver(n, e, n.now + shift);
  if (n.started && n.st.facts.size() == facts) n.sent_since_event |= told;
  CheckCalendarRules(n);
}

void Checker::Realise(Node& n, const Choice& c) {
  // Option 0 is the grid's own (explored first, so that realised runs that reach the same
  // state later merge); the others set a calendar day or another release order.
  if (c.kind == ChoiceKind::kReleaseOrder) {
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
      std::vector<std::tuple<ChoiceKind, uint16_t, Time>> p;
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
      if (c.kind == ChoiceKind::kCalendarDay || c.kind == ChoiceKind::kReleaseOrder) {
        Realise(n, c);
        if (stop_) return;
        continue;
      }
      const EventModel& em = m_.events[c.entry];
      // Options are numbered and each branch is built only when it is explored, so that a
      // wide range costs time (bounded by max_states), not memory.
      int64_t fault = c.kind == ChoiceKind::kWhen ? (em.lost || em.optional) : em.missing;
      // A business-day delay counts from the calendar day of its cause; a real cause that
      // rounds to c.t may lie on a neighbouring day, so every count of those days is a branch.
      std::vector<Duration> business;
      // Checking every count around c.t costs samples * counts * days calendar steps; beyond
      // a budget (a range of years) the counts of c.t's own day are explored, computed per
      // branch, and the result is reported as not proven.
      bool wide = c.kind == ChoiceKind::kWhen && em.business_days &&
                  (2 * (grid_ / std::min<Duration>(std::chrono::minutes(15), grid_)) + 3) *
                          int64_t{em.max_days - em.min_days + 1} * em.max_days >
                      2'000'000;
      if (wide) {
        NotExact("event " + em.type + ": business_days [" + std::to_string(em.min_days) + ", " +
                 std::to_string(em.max_days) +
                 "] is too wide to check the calendar within one grid step of each cause; "
                 "explored with the count of the cause's own day");
      }
      if (c.kind == ChoiceKind::kWhen && em.business_days && !wide) {
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
      if (c.kind == ChoiceKind::kWhen) {
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
        if (i < fault) return c.kind == ChoiceKind::kReport || em.lost;
        int64_t v = i - fault;
        return c.kind == ChoiceKind::kReport && v > 0;  // a late or a second report
      };
      auto build = [&](int64_t i, Node& b) {
        if (is_fault(i)) ++b.deviations;
        if (i < fault) {
          if (c.kind == ChoiceKind::kReport || em.lost) ++b.faults;
          if (c.kind != ChoiceKind::kReport && em.lost && customers_[c.entry]) ++b.silent;
          return;
        }
        int64_t v = i - fault;
        if (c.kind == ChoiceKind::kWhen) {
          Time t = !em.business_days ? c.t + em.min_delay + grid_ * v
                   : wide ? def_.calendar().AddBusinessDays(c.t, em.min_days + static_cast<int>(v))
                          : c.t + business[static_cast<size_t>(v)];
          Push(b, {t, ItemKind::kOccurs, c.entry, 0, t, 0});
          return;
        }
        // dup: 0 once; 1 + j: twice, the second j grid steps after the first.
        int64_t dup = em.duplicate ? v % (1 + lags) : 0;
        Duration l = em.min_late + grid_ * (em.duplicate ? v / (1 + lags) : v);
        Push(b, {c.t + l, ItemKind::kReceived, c.entry, 0, c.t, 0});
        if (dup > 0)
          Push(b, {c.t + l + grid_ * (dup - 1), ItemKind::kReceived, c.entry, 1, c.t, 0});
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
    bool now_in_world = !n.queue.empty() && n.queue.front().kind == ItemKind::kOccurs &&
                        n.queue.front().at <= n.now;
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
    if (!n.queue.empty() && n.queue.front().at == next &&
        n.queue.front().kind == ItemKind::kOccurs) {
      // What happens in the world at this instant comes first: it changes nothing the instance
      // sees, and every property compares world times with <=, so its order does not matter.
      Item it = n.queue.front();
      n.queue.erase(n.queue.begin());
      if (n.occurred[it.entry] == kNever) n.occurred[it.entry] = it.at;
      n.choices.push_back({ChoiceKind::kReport, it.entry, it.at});
      CausedBy(n, false, m_.events[it.entry].fact, it.at);
      // A real time that rounds to this grid point may lie on a neighbouring calendar day, on
      // which the definition's business-day rules counting from this occurrence add other
      // delays.
      if (!calendar_days_[it.entry].empty() && !CalendarShifts(it.entry, it.at).empty()) {
        n.choices.push_back({ChoiceKind::kCalendarDay, it.entry, it.at});
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
            return o.copy == 0 && o.kind == ItemKind::kReceived && o.entry == it.entry &&
                   o.occurred == it.occurred;
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

}  // namespace rapport::journey::check_internal
