// Exhaustive exploration of a journey against its deviation model (see check.h). A run is built
// depth-first: whenever something happens in the world, every choice the model allows for what
// it causes (when, lost, late, twice) becomes a branch; events arrive at the real state machine
// in time order, interleaved with its own timers. At one point of the time grid, every order of
// the receipts and due timers that fall on it is a branch (they race in the live runtime, and
// real times inside one grid step, rounded to the grid, become equal: docs/journeys.md, "Why the
// time grid is exact"). Where a real time within one grid step can lie on another calendar day
// than its grid point, or parked events of one grid point can be released in another order, those
// are branches too, realised for the runtime with real times (ChoiceKind::kCalendarDay,
// kReleaseOrder); a violation found only in such a run is confirmed by replaying it (Confirm). The
// conditions of the argument that depend on the run are checked as the run is built (NotExact).
#include "journey/verify/check.h"

#include <sstream>

#include "journey/verify/internal/checker.h"

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

namespace check_internal {

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
  if (start >= 0)
    Push(root, {m_.start, ItemKind::kOccurs, static_cast<uint16_t>(start), 0, m_.start, 0});
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

}  // namespace check_internal

namespace {

using check_internal::Checker;

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

namespace {

// An event of a counterexample as JSON: received at the instant, and "after_timers": true when
// the timers due then were processed before it (ParseReplayEvents orders it so again).
Json CounterexampleEvent(const Violation& v, size_t i) {
  const Event& e = v.events[i];
  uint16_t after = i < v.after_timers.size() ? v.after_timers[i] : 0;
  Json j = EventToJson(e);
  j["received_at"] = FormatTime(e.received_at - std::chrono::microseconds(after));
  if (after > 0) j["after_timers"] = true;
  return j;
}

}  // namespace

std::string CounterexampleNdjson(const Violation& v) {
  std::string out;
  for (size_t i = 0; i < v.events.size(); ++i) out += CounterexampleEvent(v, i).dump() + "\n";
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
    if (!v.events.empty() || !v.action.empty()) vj["at"] = FormatTime(v.at - v.at_tie);
    Json evs = Json::array();
    for (size_t i = 0; i < v.events.size(); ++i) evs.push_back(CounterexampleEvent(v, i));
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
    for (size_t i = 0; i < v.events.size(); ++i) {
      const Event& e = v.events[i];
      uint16_t after = i < v.after_timers.size() ? v.after_timers[i] : 0;
      Time received = e.received_at - std::chrono::microseconds(after);
      out << "    " << FormatTime(e.occurred_at) << " (" << RelativeTo(e.occurred_at, start)
          << ")  " << e.type;
      if (received != e.occurred_at) out << "  received " << FormatTime(received);
      if (after > 0) out << "  (after the timers due then)";
      out << "\n";
    }
    if (!v.action.empty()) {
      Time at = v.at - v.at_tie;
      out << "    " << FormatTime(at) << " (" << RelativeTo(at, start) << ")  fired " << v.action
          << " #" << v.occurrence << "  <-- " << v.property << "\n";
    }
  }
  return out.str();
}

}  // namespace rapport::journey
