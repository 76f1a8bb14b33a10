// The properties judged on a run: what a firing tells the customer against what happened in
// the world, and the report of a violation with its counterexample.
#include "journey/verify/internal/checker.h"

namespace rapport::journey::check_internal {

void Checker::Report(const Node& n, const char* property, std::string message, std::string action,
                     int occurrence, uint16_t shift) {
  Violation v;
  v.property = property;
  v.message = std::move(message);
  v.action = std::move(action);
  v.occurrence = occurrence;
  v.at = n.now + Duration(shift);
  v.at_tie = Duration(shift);
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
  for (const Node::Arrived& a : n.trace) {
    // A receipt processed after a timer at the same instant lost the race; `journey run`
    // applies receipts before timers due at the same time, so the replayable form lists it as
    // received that many microseconds later (its occurrence, and so every fact, unchanged).
    events.push_back(ModelEvent(def_, m_.events[a.entry].fact, kKey, a.copy + 1,
                                real(a.entry, a.occurred),
                                real(a.entry, a.at) + Duration(a.after_timers)));
    v.after_timers.push_back(a.after_timers);
  }
  for (const Item& it : n.queue) {
    if (it.kind != ItemKind::kReceived || it.occurred > n.now) continue;
    events.push_back(ModelEvent(def_, m_.events[it.entry].fact, kKey, it.copy + 1,
                                real(it.entry, it.occurred), real(it.entry, it.at)));
    v.after_timers.push_back(0);
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

// When the customer became able to do `step`, in the world (DeviationModel::AbleSince), and
// what enabled them, for the report.
std::optional<Time> Checker::AbleSince(const std::vector<Time>& occurred,
                                       const std::vector<Time>& first_fired, FactId step,
                                       std::string* what, int* cause_entry) const {
  FactId enabler = kNoFact;
  ActionId action = kNoAction;
  std::optional<Time> able = m_.AbleSince<Time>(
      def_, step, [&](FactId f) { return WorldTime(occurred, f); },
      [&](ActionId a) { return first_fired[a]; }, &enabler, &action);
  if (able) {
    *what =
        enabler != kNoFact ? def_.facts()[enabler].name : "action " + def_.actions()[action].name;
    if (cause_entry) *cause_entry = enabler != kNoFact ? entry_of_fact_[enabler] : -1;
  }
  return able;
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
    FactId last = kNoFact;
    Time done = def_.HoldsSince(
        asks, kNever, [&](FactId e) { return WorldTime(n.received, e); }, &last);
    if (done <= n.now) {
      Report(n, kPropNotDone,
             label + " asked the customer to complete " + def_.facts()[asks].name + " at " +
                 FormatTime(n.now) + ", but " + def_.facts()[last].name + " had arrived at " +
                 FormatTime(done),
             a.name, o.occurrence, n.shift_now);
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
    bool holds = def_.HoldsSince(f, kNever, [&](FactId e) { return WorldTime(occurred, e); }) <= at;
    if (!holds && entry_of_fact_.size() > f) {
      out.emplace_back(kPropCanAct, label + " fired at " + FormatTime(at) + " although " +
                                        def_.facts()[f].name + " (required) had not happened");
    }
  }
  // A promise in words ("within 10 business days of the kit's arrival") is kept by every date
  // told, whatever rule computed it; judged once what it counts from has happened.
  if (a.promise) {
    FactId decided = kNoFact;
    Time from = def_.HoldsSince(
        a.promise->fact, kNever, [&](FactId e) { return WorldTime(occurred, e); }, &decided);
    int from_entry = decided == kNoFact ? -1 : entry_of_fact_[decided];
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

}  // namespace rapport::journey::check_internal
