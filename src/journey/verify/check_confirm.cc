// Confirming a violation found only in a realised run (another calendar day or release order)
// by replaying its counterexample through the runtime.
#include "journey/verify/internal/checker.h"

namespace rapport::journey::check_internal {

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
    if (!em.after_events.empty()) {
      cause = Time::min();  // the latest of its causes
      for (FactId f : em.after_events) {
        Time t_cause = c.occurred[static_cast<size_t>(entry_of_fact_[f])];
        if (t_cause > cause) {
          cause = t_cause;
          cause_name = def_.facts()[f].name;
        }
      }
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
    Time received = e.received_at - Duration(c.v.after_timers[j]);
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
      std::vector<Time> received(def_.facts().size(), kNever);
      for (size_t j = 0; j < v.events.size(); ++j) {
        const Event& e = v.events[j];
        Time r = e.received_at - Duration(c.v.after_timers[j]);
        Time& first = received[def_.FindEvent(e.type)->fact];
        if (r <= at && r < first) first = r;
      }
      FactId last = kNoFact;
      Time held = def_.HoldsSince(
          m_.asks[id], kNever, [&](FactId e) { return received[e]; }, &last);
      if (held != kNever) {
        message = label + " asked the customer to complete " + def_.facts()[m_.asks[id]].name +
                  " at " + FormatTime(at) + ", but " + def_.facts()[last].name +
                  " had arrived at " + FormatTime(held);
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
    v.at_tie = Duration(0);  // a real time as replayed
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

}  // namespace rapport::journey::check_internal
