// The step function of journey instances: apply an event or a due timer, settle facts, fire
// what is enabled and re-derive timers. The numbered invariants are in instance.h.
#include "journey/instance.h"

#include <algorithm>
#include <span>

#include "core/ids.h"

namespace rapport::journey {

const HeldFact* InstanceState::Fact(FactId f) const {
  auto it = std::lower_bound(facts.begin(), facts.end(), f,
                             [](const HeldFact& h, FactId id) { return h.fact < id; });
  return it != facts.end() && it->fact == f ? &*it : nullptr;
}

const ActionProgress* InstanceState::Progress(ActionId a) const {
  auto it = std::lower_bound(progress.begin(), progress.end(), a,
                             [](const ActionProgress& p, ActionId id) { return p.action < id; });
  return it != progress.end() && it->action == a ? &*it : nullptr;
}

std::string_view TimelineKindName(TimelineKind k) {
  switch (k) {
    case TimelineKind::kStarted:
      return "started";
    case TimelineKind::kEvent:
      return "event";
    case TimelineKind::kDuplicate:
      return "duplicate";
    case TimelineKind::kAfterEnd:
      return "after_end";
    case TimelineKind::kStep:
      return "step";
    case TimelineKind::kFired:
      return "fired";
    case TimelineKind::kSkipped:
      return "skipped";
    case TimelineKind::kScheduled:
      return "scheduled";
    case TimelineKind::kCancelled:
      return "cancelled";
    case TimelineKind::kLate:
      return "late";
    case TimelineKind::kEnded:
      return "ended";
  }
  return "?";
}

void Effects::Clear() {
  created = false;
  outbox.clear();
  timers.clear();
  timeline.clear();
  bound_keys.clear();
}

namespace {

void AppendEscaped(std::string* out, std::string_view part) {
  for (char c : part) {
    if (c == '%' || c == '/' || c == '#') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out->push_back('%');
      out->push_back(kHex[(static_cast<unsigned char>(c) >> 4) & 0xf]);
      out->push_back(kHex[static_cast<unsigned char>(c) & 0xf]);
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace

std::string IdempotencyKey(std::string_view journey, std::string_view key, std::string_view action,
                           int occurrence) {
  std::string out;
  out.reserve(journey.size() + key.size() + action.size() + 8);
  AppendEscaped(&out, journey);
  out.push_back('/');
  AppendEscaped(&out, key);
  out.push_back('/');
  AppendEscaped(&out, action);
  out.push_back('#');
  out += std::to_string(occurrence);
  return out;
}

Route RouteEvent(const JourneyDefinition& def, const Event& e) {
  Route r;
  const EventSpec* spec = def.FindEvent(e.type);
  if (!spec) return r;
  r.listens = true;
  for (KeyId k : spec->keys) {
    const std::string* v = FindField(e.keys, def.keys()[k]);
    if (!v || v->empty()) continue;
    if (k == 0) {
      r.primary = *v;
    } else {
      r.aliases.emplace_back(def.keys()[k], *v);
    }
  }
  if (spec->fact == def.start_fact() && r.primary) {
    r.starts = true;
    for (const auto& [field, want] : def.start_where()) {
      auto it = e.payload.find(field);
      if (it == e.payload.end() || ScalarText(*it) != want) r.starts = false;
    }
  }
  return r;
}

namespace {

// One step over one instance. Holds the references so that helpers stay short.
class Stepper {
 public:
  Stepper(const JourneyDefinition& def, InstanceState* s, Time now, Effects* fx)
      : def_(def), s_(*s), now_(now), fx_(*fx) {}

  void Apply(std::span<const Event> events);
  Status Fire(ActionId action, uint16_t occurrence);

 private:
  const std::string& FactName(FactId f) const { return def_.facts()[f].name; }
  bool Holds(FactId f) const { return s_.Holds(f); }
  ActionProgress& Progress(ActionId a);
  // True if f began to hold or now holds since earlier.
  bool SetFact(FactId f, Time at, const std::string& event_id, bool implied);
  void SettleFacts();
  void Settle();
  bool GuardsHold(const ActionSpec& a) const;
  std::vector<FactReason> Reasons(const ActionSpec& a) const;
  FactReason Reason(std::string_view role, FactId f) const;
  void Decide(ActionId id, uint16_t occurrence, bool fire, std::optional<Time> due,
              std::string why);
  bool Record(const Event& e);
  void ReconcileTimers(const std::vector<const Event*>& causes);
  // `timed_out`: why a timed end came (its anchor passed); empty for an end by its facts.
  void End(uint16_t end_state, const std::string& timed_out = "");
  void NoteLate(const Event& e, FactId f);
  TimelineEntry* Entry(TimelineKind kind, std::string subject, std::string text);

  const JourneyDefinition& def_;
  InstanceState& s_;
  Time now_;
  Effects& fx_;
};

TimelineEntry* Stepper::Entry(TimelineKind kind, std::string subject, std::string text) {
  if (!fx_.record_timeline) return nullptr;
  TimelineEntry& e = fx_.timeline.emplace_back();
  e.at = now_;
  e.kind = kind;
  e.subject = std::move(subject);
  e.text = std::move(text);
  return &e;
}

ActionProgress& Stepper::Progress(ActionId a) {
  auto it = std::lower_bound(s_.progress.begin(), s_.progress.end(), a,
                             [](const ActionProgress& p, ActionId id) { return p.action < id; });
  if (it == s_.progress.end() || it->action != a) {
    it = s_.progress.insert(it, ActionProgress{});
    it->action = a;
  }
  return *it;
}

bool Stepper::SetFact(FactId f, Time at, const std::string& event_id, bool implied) {
  auto it = std::lower_bound(s_.facts.begin(), s_.facts.end(), f,
                             [](const HeldFact& h, FactId id) { return h.fact < id; });
  if (it != s_.facts.end() && it->fact == f) {
    // Invariant 3: the earliest occurrence wins; an own event beats an implication at equal time.
    bool earlier = at < it->at || (at == it->at && it->implied && !implied);
    if (earlier) {
      it->at = at;
      it->event_id = event_id;
      it->implied = implied;
    }
    return earlier;
  }
  HeldFact h;
  h.fact = f;
  h.at = at;
  h.event_id = event_id;
  h.implied = implied;
  s_.facts.insert(it, std::move(h));
  if (def_.facts()[f].kind == FactKind::kStep) {
    if (auto* t = Entry(TimelineKind::kStep, FactName(f),
                        "step " + FactName(f) +
                            (implied ? " holds (implied by a later step)" : " completed"))) {
      t->event_id = event_id;
      t->occurred_at = at;
    }
  }
  return true;
}

// A step holds from the earliest of its own completing facts and the next step; an all-of fact
// from the latest of its parts, once all hold. Repeated until nothing changes: an all-of fact
// may name a step, and a step may be completed by an all-of fact.
void Stepper::SettleFacts() {
  const auto& steps = def_.steps();
  // Without all-of facts one pass from the last step to the first settles everything.
  for (bool changed = true; changed;) {
    changed = false;
    for (FactId f : def_.all_of_facts()) {
      const FactSpec& spec = def_.facts()[f];
      const HeldFact* latest = nullptr;
      for (FactId p : spec.parts) {
        const HeldFact* h = s_.Fact(p);
        if (!h) {
          latest = nullptr;
          break;
        }
        if (!latest || h->at > latest->at) latest = h;
      }
      if (!latest) continue;
      Time at = latest->at;
      std::string id = latest->event_id;
      changed |= SetFact(f, at, id, false);
    }
    for (size_t i = steps.size(); i-- > 0;) {
      const StepSpec& st = steps[i];
      const HeldFact* best = nullptr;
      for (FactId e : st.completed_by) {
        const HeldFact* h = s_.Fact(e);
        if (h && (!best || h->at < best->at)) best = h;
      }
      if (best) {
        Time at = best->at;
        std::string id = best->event_id;
        changed |= SetFact(st.fact, at, id, false);
      }
      if (i + 1 < steps.size()) {
        if (const HeldFact* later = s_.Fact(steps[i + 1].fact)) {
          Time at = later->at;
          std::string id = later->event_id;
          changed |= SetFact(st.fact, at, id, true);
        }
      }
    }
    changed = changed && !def_.all_of_facts().empty();
  }
}

FactReason Stepper::Reason(std::string_view role, FactId f) const {
  FactReason r;
  r.role = role;
  r.fact = FactName(f);
  if (const HeldFact* h = s_.Fact(f)) {
    r.held = true;
    r.since = h->at;
    r.event_id = h->event_id;
    r.implied = h->implied;
  }
  return r;
}

std::vector<FactReason> Stepper::Reasons(const ActionSpec& a) const {
  std::vector<FactReason> out;
  if (a.after) out.push_back(Reason("anchor", a.after->fact));
  for (FactId f : a.required) out.push_back(Reason("requires", f));
  for (FactId f : a.unless) out.push_back(Reason("unless", f));
  return out;
}

bool Stepper::GuardsHold(const ActionSpec& a) const {
  for (FactId f : a.required) {
    if (!Holds(f)) return false;
  }
  for (FactId f : a.unless) {
    if (Holds(f)) return false;
  }
  if (a.compensates != kNoAction) {
    const ActionProgress* p = s_.Progress(a.compensates);
    if (!p || p->fired == 0) return false;
  }
  return true;
}

void Stepper::Decide(ActionId id, uint16_t occurrence, bool fire, std::optional<Time> due,
                     std::string why) {
  const ActionSpec& a = def_.actions()[id];
  ActionProgress& p = Progress(id);
  p.next = static_cast<uint16_t>(occurrence + 1);  // invariant 5
  std::vector<FactReason> reasons = Reasons(a);
  if (a.compensates != kNoAction) {
    FactReason r;
    r.role = "compensates";
    r.fact = def_.actions()[a.compensates].name;
    const ActionProgress* cp = s_.Progress(a.compensates);
    r.held = cp && cp->fired > 0;
    if (r.held) r.since = cp->last_fired;
    reasons.push_back(std::move(r));
  }
  if (fire) {
    ++p.fired;
    p.last_fired = now_;
    OutboxAction& o = fx_.outbox.emplace_back();
    o.idempotency_key = IdempotencyKey(def_.name(), s_.key, a.name, occurrence);
    o.journey = def_.name();
    o.version = def_.version();
    o.instance_key = s_.key;
    o.action = a.name;
    o.occurrence = occurrence;
    o.kind = a.kind;
    o.audience = a.audience;
    o.channel = a.channel;
    o.template_name = a.template_name;
    o.url = a.url;
    o.queue = a.queue;
    o.subject = s_.subject;
    o.open_case = a.open_case;
    if (a.open_case) {
      o.keys.emplace_back(def_.primary_key(), s_.key);
      for (const auto& [k, v] : s_.aliases) o.keys.emplace_back(def_.keys()[k], v);
    }
    o.created_at = now_;
    o.due = due;
    for (const ParamSpec& param : a.params) {
      if (param.date) {
        const HeldFact* h = s_.Fact(param.date->fact);
        // Validation guarantees the fact holds (it is required or the anchor).
        o.params[param.name] = h ? FormatTime(def_.Resolve(*param.date, h->at)) : "";
      } else {
        o.params[param.name] = param.literal;
      }
    }
    o.reasons = reasons;
    if (fx_.record_timeline && !a.params.empty()) {
      std::string ps;
      for (const auto& [k, v] : o.params.items()) {
        ps += (ps.empty() ? "" : ", ") + k + "=" + ScalarText(v);
      }
      why += " {" + ps + "}";
    }
  }
  if (auto* t = Entry(fire ? TimelineKind::kFired : TimelineKind::kSkipped, a.name,
                      std::string(fire ? "fired " : "skipped ") + a.name + " #" +
                          std::to_string(occurrence) + ": " + why)) {
    t->occurrence = occurrence;
    t->due = due;
    t->reasons = std::move(reasons);
  }
}

void Stepper::End(uint16_t end_state, const std::string& timed_out) {
  const EndStateSpec& end = def_.end_states()[end_state];
  for (ActionId id : end.then) {
    const ActionSpec& a = def_.actions()[id];
    const ActionProgress* p = s_.Progress(id);
    if (p && p->next > 0) continue;
    if (GuardsHold(a)) {
      Decide(id, 0, true, std::nullopt, "the journey ends in " + end.name);
    }
  }
  s_.status = InstanceStatus::kEnded;
  s_.end_state = end_state;
  s_.ended_at = now_;
  std::string facts;
  for (FactId f : end.when) {
    if (Holds(f)) facts += (facts.empty() ? "" : ", ") + FactName(f);
  }
  std::string because = timed_out.empty() ? facts + " holds" : timed_out;
  if (auto* t = Entry(
          TimelineKind::kEnded, end.name,
          "ended in " + end.name + (end.success ? "" : " (failure)") + " because " + because)) {
    for (FactId f : end.when) {
      if (Holds(f)) t->reasons.push_back(Reason("when", f));
    }
    if (!timed_out.empty()) t->reasons.push_back(Reason("after", end.after->fact));
  }
}

// Fire enabled untimed actions, end if an end state holds, then re-derive timers.
void Stepper::Settle() {
  SettleFacts();
  if (s_.status != InstanceStatus::kRunning) return;
  const auto& ends = def_.end_states();
  for (size_t i = 0; i < ends.size(); ++i) {
    for (FactId f : ends[i].when) {
      if (Holds(f)) {
        End(static_cast<uint16_t>(i));
        return;
      }
    }
  }
  // Untimed actions; firing one can enable a compensation, so repeat until nothing changes.
  for (bool changed = true; changed;) {
    changed = false;
    const auto& actions = def_.actions();
    for (ActionId id = 0; id < actions.size(); ++id) {
      const ActionSpec& a = actions[id];
      if (a.after || a.on_end) continue;
      const ActionProgress* p = s_.Progress(id);
      if (p && p->next > 0) continue;
      if (!GuardsHold(a)) continue;
      std::string why;
      for (FactId f : a.required) why += (why.empty() ? "" : ", ") + FactName(f);
      Decide(id, 0, true, std::nullopt,
             why.empty() ? "no guard" : "its requirements hold (" + why + ")");
      changed = true;
    }
  }
}

void Stepper::ReconcileTimers(const std::vector<const Event*>& causes) {
  std::vector<PendingTimer> want;
  if (s_.status == InstanceStatus::kRunning) {
    const auto& actions = def_.actions();
    for (ActionId id = 0; id < actions.size(); ++id) {
      const ActionSpec& a = actions[id];
      if (!a.after) continue;
      const ActionProgress* p = s_.Progress(id);
      uint16_t next = p ? p->next : 0;
      if (next >= a.max_occurrences) continue;
      const HeldFact* anchor = s_.Fact(a.after->fact);
      if (!anchor) continue;
      bool cancelled =
          std::any_of(a.unless.begin(), a.unless.end(), [&](FactId f) { return Holds(f); });
      if (cancelled) continue;
      if (a.compensates != kNoAction) {
        const ActionProgress* cp = s_.Progress(a.compensates);
        if (!cp || cp->fired == 0) continue;
      }
      Time due = def_.Resolve(*a.after, anchor->at) + a.every * next;
      want.push_back({id, next, due});
    }
  }
  // Both lists are sorted by action id.
  for (const PendingTimer& old : s_.timers) {
    if (std::find(want.begin(), want.end(), old) != want.end()) continue;
    const ActionSpec& a = def_.actions()[old.action];
    const ActionProgress* p = s_.Progress(old.action);
    bool decided = p && p->next > old.occurrence;
    TimerChange& c = fx_.timers.emplace_back();
    c.op = decided ? TimerChange::Op::kDone : TimerChange::Op::kCancel;
    c.timer_id = IdempotencyKey(def_.name(), s_.key, a.name, old.occurrence);
    c.action = old.action;
    c.action_name = a.name;
    c.occurrence = old.occurrence;
    c.due = old.due;
    if (decided) continue;  // fired or skipped in this step: the timeline says so already
    if (fx_.record_timeline) {
      std::string why;
      const Event* cause = nullptr;
      if (s_.status != InstanceStatus::kRunning) {
        why = "the journey ended";
      } else {
        for (FactId f : a.unless) {
          if (!Holds(f)) continue;
          why = FactName(f) + " holds";
          for (const Event* e : causes) {
            if (def_.Implies(def_.FindEvent(e->type)->fact, f)) cause = e;
          }
        }
        if (why.empty()) why = "its anchor moved";
      }
      if (cause && s_.status == InstanceStatus::kRunning) {
        why += cause->occurred_at <= old.due
                   ? "; " + cause->type + " occurred at " + FormatTime(cause->occurred_at) +
                         ", before the timer was due: the event won"
                   : "; " + cause->type + " occurred at " + FormatTime(cause->occurred_at) +
                         ", after the due time, but was known before the timer was processed";
      }
      if (auto* t = Entry(TimelineKind::kCancelled, a.name,
                          "cancelled " + a.name + " #" + std::to_string(old.occurrence) + " (due " +
                              FormatTime(old.due) + "): " + why)) {
        t->occurrence = old.occurrence;
        t->due = old.due;
        t->reasons = Reasons(a);
        if (cause) {
          t->event_id = cause->id;
          t->occurred_at = cause->occurred_at;
        }
      }
    }
  }
  for (const PendingTimer& t : want) {
    if (std::find(s_.timers.begin(), s_.timers.end(), t) != s_.timers.end()) continue;
    const ActionSpec& a = def_.actions()[t.action];
    TimerChange& c = fx_.timers.emplace_back();
    c.op = TimerChange::Op::kSchedule;
    c.timer_id = IdempotencyKey(def_.name(), s_.key, a.name, t.occurrence);
    c.action = t.action;
    c.action_name = a.name;
    c.occurrence = t.occurrence;
    c.due = t.due;
    if (auto* e = Entry(TimelineKind::kScheduled, a.name,
                        "scheduled " + a.name + " #" + std::to_string(t.occurrence) + " for " +
                            FormatTime(t.due) + " (" + def_.AnchorText(*a.after) +
                            (t.occurrence > 0 ? " + " + std::to_string(t.occurrence) + " x " +
                                                    FormatDuration(a.every)
                                              : "") +
                            ")")) {
      e->occurrence = t.occurrence;
      e->due = t.due;
      e->reasons.push_back(Reason("anchor", a.after->fact));
    }
  }
  s_.timers = std::move(want);
}

// An event that would have cancelled an action which already fired, although it occurred first:
// the timer won a race the event should have won. Recorded so that the simulator can count it.
void Stepper::NoteLate(const Event& e, FactId f) {
  if (!fx_.record_timeline) return;
  for (const ActionProgress& p : s_.progress) {
    if (p.fired == 0 || e.occurred_at >= p.last_fired) continue;
    const ActionSpec& a = def_.actions()[p.action];
    bool cancels =
        std::any_of(a.unless.begin(), a.unless.end(), [&](FactId u) { return def_.Implies(f, u); });
    if (!cancels) continue;
    if (auto* t = Entry(TimelineKind::kLate, a.name,
                        e.type + " occurred at " + FormatTime(e.occurred_at) + ", before " +
                            a.name + " fired at " + FormatTime(p.last_fired) +
                            ", but arrived later: the timer won the race")) {
      t->event_id = e.id;
      t->occurred_at = e.occurred_at;
    }
  }
}

// Records one event's fact; returns false for a duplicate.
bool Stepper::Record(const Event& e) {
  const EventSpec* spec = def_.FindEvent(e.type);
  uint64_t h = Hash64(e.id);
  auto seen = std::lower_bound(s_.seen.begin(), s_.seen.end(), h);
  if (seen != s_.seen.end() && *seen == h) {
    if (auto* t = Entry(TimelineKind::kDuplicate, e.type,
                        "duplicate " + e.type + " (" + e.id + ") ignored: already applied")) {
      t->event_id = e.id;
      t->occurred_at = e.occurred_at;
    }
    return false;  // invariant 2: nothing else changes
  }
  s_.seen.insert(seen, h);
  ++s_.steps;
  for (KeyId k : spec->keys) {
    if (k == 0) continue;
    const std::string* v = FindField(e.keys, def_.keys()[k]);
    if (!v || v->empty()) continue;
    bool known = std::any_of(s_.aliases.begin(), s_.aliases.end(),
                             [&](const auto& a) { return a.first == k && a.second == *v; });
    if (!known) {
      s_.aliases.emplace_back(k, *v);
      fx_.bound_keys.emplace_back(def_.keys()[k], *v);
    }
  }
  const HeldFact* before = s_.Fact(spec->fact);
  bool ended = s_.status != InstanceStatus::kRunning;
  std::string text;
  if (ended) {
    text = e.type + " after the journey ended: recorded, nothing triggered";
  } else if (before && before->at <= e.occurred_at) {
    text = e.type + " again (" + e.id + "): already holds since " + FormatTime(before->at) +
           " by " + before->event_id;
  } else {
    text = e.type + " occurred at " + FormatTime(e.occurred_at);
  }
  if (auto* t = Entry(ended ? TimelineKind::kAfterEnd : TimelineKind::kEvent, e.type, text)) {
    t->event_id = e.id;
    t->occurred_at = e.occurred_at;
  }
  SetFact(spec->fact, e.occurred_at, e.id, false);
  if (!ended) NoteLate(e, spec->fact);
  return true;
}

// All facts of a batch are recorded before anything fires, so that a backlog (events parked
// before the instance existed, or ingested after downtime) is judged on everything known now.
void Stepper::Apply(std::span<const Event> events) {
  std::vector<const Event*> applied;
  for (const Event& e : events) {
    if (Record(e)) {
      applied.push_back(&e);
      if (s_.subject.empty()) s_.subject = e.subject;
    }
  }
  if (applied.empty()) return;
  if (s_.status != InstanceStatus::kRunning) {
    SettleFacts();
    return;  // invariant 8
  }
  Settle();
  ReconcileTimers(applied);
}

Status Stepper::Fire(ActionId action, uint16_t occurrence) {
  auto it = std::find_if(s_.timers.begin(), s_.timers.end(), [&](const PendingTimer& t) {
    return t.action == action && t.occurrence == occurrence;
  });
  if (s_.status != InstanceStatus::kRunning || it == s_.timers.end()) return OkStatus();
  if (it->due > now_) {
    return FailedPrecondition("timer " + def_.actions()[action].name + " #" +
                              std::to_string(occurrence) + " is due at " + FormatTime(it->due) +
                              ", not yet at " + FormatTime(now_));
  }
  const ActionSpec& a = def_.actions()[action];
  const HeldFact* anchor = s_.Fact(a.after->fact);
  Time base = def_.Resolve(*a.after, anchor->at);
  Time due = it->due;
  ++s_.steps;
  if (a.ends_in >= 0) {
    // A timed end: nothing is sent; the end state's own actions (then) run as for any end.
    ActionProgress& p = Progress(action);
    p.next = static_cast<uint16_t>(occurrence + 1);
    ++p.fired;
    p.last_fired = now_;
    End(static_cast<uint16_t>(a.ends_in), def_.AnchorText(*a.after) + " passed at " +
                                              FormatTime(due) + " and nothing ended it before");
    SettleFacts();
    ReconcileTimers({});
    return OkStatus();
  }
  // Invariant 6: after downtime only the last overdue occurrence is evaluated.
  while (occurrence + 1 < a.max_occurrences && base + a.every * (occurrence + 1) <= now_) {
    Decide(action, occurrence, false, due,
           "overdue; a later occurrence is due too, so only that one is considered");
    ++occurrence;
    due = base + a.every * occurrence;
  }
  std::string missing;
  for (FactId f : a.required) {
    if (!Holds(f)) missing += (missing.empty() ? "" : ", ") + FactName(f);
  }
  if (!missing.empty()) {
    Decide(action, occurrence, false, due, "requires " + missing + ", which does not hold");
  } else if (a.expires.count() > 0 && now_ > due + a.expires) {
    Decide(action, occurrence, false, due,
           "stale: processed " + FormatDuration(now_ - due) + " after its due time (expires " +
               FormatDuration(a.expires) + ")");
  } else {
    std::string why =
        "due at " + FormatTime(due) + " (" + def_.AnchorText(*a.after) +
        (occurrence > 0 ? " + " + std::to_string(occurrence) + " x " + FormatDuration(a.every)
                        : "") +
        ")";
    if (!a.required.empty()) {
      std::string req;
      for (FactId f : a.required) req += (req.empty() ? "" : ", ") + FactName(f);
      why += "; requires " + req + ": holds";
    }
    Decide(action, occurrence, true, due, why);
  }
  Settle();
  ReconcileTimers({});
  return OkStatus();
}

Status CheckVersion(const JourneyDefinition& def, const InstanceState& s) {
  if (s.version != def.version()) {
    return FailedPrecondition("instance " + s.key + " runs on version " +
                              std::to_string(s.version) + " of " + def.name() + ", not " +
                              std::to_string(def.version()));
  }
  return OkStatus();
}

Status CheckEvent(const JourneyDefinition& def, const Event& e) {
  if (e.id.empty()) return InvalidArgument("an event needs an id (its idempotency key)", "id");
  if (!def.FindEvent(e.type)) {
    return InvalidArgument("journey " + def.name() + " does not declare event type " + e.type,
                           "type");
  }
  return OkStatus();
}

Status CheckKey(const JourneyDefinition& def, const Event& e, const std::string& key) {
  const std::string* primary = FindField(e.keys, def.primary_key());
  if (primary && !primary->empty() && *primary != key) {
    return InvalidArgument("event " + e.id + " belongs to " + def.primary_key() + "=" + *primary +
                               ", not to instance " + key,
                           "keys." + def.primary_key());
  }
  return OkStatus();
}

}  // namespace

Status StartInstance(const JourneyDefinition& def, const Event& e, Time now, InstanceState* state,
                     Effects* effects, std::span<const Event> backlog) {
  RETURN_IF_ERROR(CheckEvent(def, e));
  Route r = RouteEvent(def, e);
  if (!r.starts) {
    return InvalidArgument(e.type + " does not start journey " + def.name() +
                               " (start event, correlation key and start.where must match)",
                           "type");
  }
  for (const Event& b : backlog) {
    RETURN_IF_ERROR(CheckEvent(def, b));
    RETURN_IF_ERROR(CheckKey(def, b, *r.primary));
  }
  *state = InstanceState{};
  state->version = def.version();
  state->key = *r.primary;
  state->started_at = now;
  effects->created = true;
  if (effects->record_timeline) {
    TimelineEntry& t = effects->timeline.emplace_back();
    t.at = now;
    t.kind = TimelineKind::kStarted;
    t.subject = def.name();
    t.event_id = e.id;
    t.occurred_at = e.occurred_at;
    t.text = "started " + def.name() + " v" + std::to_string(def.version()) + " for " +
             def.primary_key() + "=" + state->key;
  }
  std::vector<Event> all;
  all.reserve(backlog.size() + 1);
  all.push_back(e);
  all.insert(all.end(), backlog.begin(), backlog.end());
  Stepper(def, state, now, effects).Apply(all);
  return OkStatus();
}

Status ApplyEvents(const JourneyDefinition& def, InstanceState* state,
                   std::span<const Event> events, Time now, Effects* effects) {
  RETURN_IF_ERROR(CheckVersion(def, *state));
  for (const Event& e : events) {
    RETURN_IF_ERROR(CheckEvent(def, e));
    RETURN_IF_ERROR(CheckKey(def, e, state->key));
  }
  Stepper(def, state, now, effects).Apply(events);
  return OkStatus();
}

Status ApplyEvent(const JourneyDefinition& def, InstanceState* state, const Event& e, Time now,
                  Effects* effects) {
  return ApplyEvents(def, state, std::span<const Event>(&e, 1), now, effects);
}

Status FireTimer(const JourneyDefinition& def, InstanceState* state, ActionId action,
                 uint16_t occurrence, Time now, Effects* effects) {
  RETURN_IF_ERROR(CheckVersion(def, *state));
  if (action >= def.actions().size() || !def.actions()[action].after) {
    return InvalidArgument("no timed action with id " + std::to_string(action), "action");
  }
  return Stepper(def, state, now, effects).Fire(action, occurrence);
}

Result<StepResult> StepEvent(const JourneyDefinition& def, const InstanceState* before,
                             const Event& e, Time now) {
  StepResult r;
  if (before == nullptr) {
    RETURN_IF_ERROR(StartInstance(def, e, now, &r.state, &r.effects));
  } else {
    r.state = *before;
    RETURN_IF_ERROR(ApplyEvent(def, &r.state, e, now, &r.effects));
  }
  return r;
}

Result<StepResult> StepTimer(const JourneyDefinition& def, const InstanceState& before,
                             ActionId action, uint16_t occurrence, Time now) {
  StepResult r;
  r.state = before;
  RETURN_IF_ERROR(FireTimer(def, &r.state, action, occurrence, now, &r.effects));
  return r;
}

// ---- JSON ----

namespace {

Json ReasonToJson(const FactReason& r) {
  Json j = {{"role", r.role}, {"fact", r.fact}, {"held", r.held}};
  if (r.held) {
    j["since"] = FormatTime(r.since);
    if (!r.event_id.empty()) j["event_id"] = r.event_id;
    if (r.implied) j["implied"] = true;
  }
  return j;
}

Json ReasonsToJson(const std::vector<FactReason>& rs) {
  Json a = Json::array();
  for (const auto& r : rs) a.push_back(ReasonToJson(r));
  return a;
}

}  // namespace

Json StateToJson(const JourneyDefinition& def, const InstanceState& s) {
  Json j;
  j["journey"] = def.name();
  j["version"] = s.version;
  j["key"] = s.key;
  j["status"] = s.status == InstanceStatus::kRunning ? "running" : "ended";
  if (s.status == InstanceStatus::kEnded) {
    j["end_state"] = def.end_states()[s.end_state].name;
    j["ended_at"] = FormatTime(s.ended_at);
  }
  j["started_at"] = FormatTime(s.started_at);
  j["steps"] = s.steps;
  if (!s.subject.empty()) j["subject"] = s.subject;
  Json aliases = Json::array();
  for (const auto& [k, v] : s.aliases) aliases.push_back({{"key", def.keys()[k]}, {"value", v}});
  j["aliases"] = std::move(aliases);
  Json facts = Json::object();
  for (const HeldFact& f : s.facts) {
    Json fj = {{"at", FormatTime(f.at)}, {"event_id", f.event_id}};
    if (f.implied) fj["implied"] = true;
    facts[def.facts()[f.fact].name] = std::move(fj);
  }
  j["facts"] = std::move(facts);
  Json seen = Json::array();
  for (uint64_t h : s.seen) seen.push_back(Hex64(h));
  j["seen"] = std::move(seen);
  Json actions = Json::object();
  for (const ActionProgress& p : s.progress) {
    Json pj = {{"next", p.next}, {"fired", p.fired}};
    if (p.fired > 0) pj["last_fired"] = FormatTime(p.last_fired);
    actions[def.actions()[p.action].name] = std::move(pj);
  }
  j["actions"] = std::move(actions);
  Json timers = Json::array();
  for (const PendingTimer& t : s.timers) {
    timers.push_back({{"action", def.actions()[t.action].name},
                      {"occurrence", t.occurrence},
                      {"due", FormatTime(t.due)},
                      {"timer_id", IdempotencyKey(def.name(), s.key, def.actions()[t.action].name,
                                                  t.occurrence)}});
  }
  j["timers"] = std::move(timers);
  return j;
}

namespace {

Result<int64_t> RequiredInt(const Json& j, const char* key, int64_t max) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) {
    return InvalidArgument("expected a whole number", key);
  }
  int64_t v = it->get<int64_t>();
  if (v < 0 || v > max) return InvalidArgument("out of range", key);
  return v;
}

Result<uint64_t> ParseHex64(const std::string& s) {
  if (s.size() != 16) return InvalidArgument("expected 16 hex digits", "seen");
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return InvalidArgument("expected 16 hex digits", "seen");
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace

Result<InstanceState> StateFromJson(const JourneyDefinition& def, const Json& j) {
  if (!j.is_object()) return InvalidArgument("instance state must be a JSON object");
  ASSIGN_OR_RETURN(std::string journey, RequiredString(j, "journey"));
  if (journey != def.name()) {
    return FailedPrecondition("state of journey " + journey + ", not " + def.name(), "journey");
  }
  InstanceState s;
  ASSIGN_OR_RETURN(int64_t version, RequiredInt(j, "version", 1 << 30));
  s.version = static_cast<int>(version);
  if (s.version != def.version()) {
    return FailedPrecondition(
        "state of version " + std::to_string(s.version) + ", not " + std::to_string(def.version()),
        "version");
  }
  ASSIGN_OR_RETURN(s.key, RequiredString(j, "key"));
  ASSIGN_OR_RETURN(std::string status, RequiredString(j, "status"));
  if (status == "ended") {
    s.status = InstanceStatus::kEnded;
    ASSIGN_OR_RETURN(std::string end, RequiredString(j, "end_state"));
    bool found = false;
    for (size_t i = 0; i < def.end_states().size(); ++i) {
      if (def.end_states()[i].name == end) {
        s.end_state = static_cast<uint16_t>(i);
        found = true;
      }
    }
    if (!found) return FailedPrecondition("unknown end state " + end, "end_state");
    ASSIGN_OR_RETURN(s.ended_at, RequiredTime(j, "ended_at"));
  } else if (status != "running") {
    return InvalidArgument("expected running or ended", "status");
  }
  ASSIGN_OR_RETURN(s.started_at, RequiredTime(j, "started_at"));
  ASSIGN_OR_RETURN(int64_t steps, RequiredInt(j, "steps", UINT32_MAX));
  s.steps = static_cast<uint32_t>(steps);
  if (auto it = j.find("subject"); it != j.end() && it->is_string()) s.subject = *it;
  try {
    for (const Json& a : j.at("aliases")) {
      ASSIGN_OR_RETURN(std::string key, RequiredString(a, "key", "aliases"));
      ASSIGN_OR_RETURN(std::string value, RequiredString(a, "value", "aliases"));
      auto k = def.FindKey(key);
      if (!k) return FailedPrecondition("unknown key " + key, "aliases");
      s.aliases.emplace_back(*k, value);
    }
    for (const auto& [name, fj] : j.at("facts").items()) {
      auto f = def.FindFact(name);
      if (!f) return FailedPrecondition("unknown fact " + name, "facts");
      HeldFact h;
      h.fact = *f;
      ASSIGN_OR_RETURN(h.at, RequiredTime(fj, "at", "facts." + name));
      ASSIGN_OR_RETURN(auto id, OptionalString(fj, "event_id", "facts." + name));
      h.event_id = id.value_or("");
      h.implied = fj.value("implied", false);
      s.facts.push_back(std::move(h));
    }
    std::sort(s.facts.begin(), s.facts.end(),
              [](const HeldFact& a, const HeldFact& b) { return a.fact < b.fact; });
    for (const Json& h : j.at("seen")) {
      if (!h.is_string()) return InvalidArgument("expected hex strings", "seen");
      ASSIGN_OR_RETURN(uint64_t v, ParseHex64(h.get<std::string>()));
      s.seen.push_back(v);
    }
    std::sort(s.seen.begin(), s.seen.end());
    for (const auto& [name, pj] : j.at("actions").items()) {
      auto a = def.FindAction(name);
      if (!a) return FailedPrecondition("unknown action " + name, "actions");
      ActionProgress p;
      p.action = *a;
      ASSIGN_OR_RETURN(int64_t next, RequiredInt(pj, "next", 0xffff));
      ASSIGN_OR_RETURN(int64_t fired, RequiredInt(pj, "fired", 0xffff));
      p.next = static_cast<uint16_t>(next);
      p.fired = static_cast<uint16_t>(fired);
      ASSIGN_OR_RETURN(auto last, OptionalTime(pj, "last_fired", "actions." + name));
      if (last) p.last_fired = *last;
      s.progress.push_back(p);
    }
    std::sort(s.progress.begin(), s.progress.end(),
              [](const ActionProgress& a, const ActionProgress& b) { return a.action < b.action; });
    for (const Json& tj : j.at("timers")) {
      ASSIGN_OR_RETURN(std::string name, RequiredString(tj, "action", "timers"));
      auto a = def.FindAction(name);
      if (!a || !def.actions()[*a].after) {
        return FailedPrecondition("unknown timed action " + name, "timers");
      }
      PendingTimer t;
      t.action = *a;
      ASSIGN_OR_RETURN(int64_t occ, RequiredInt(tj, "occurrence", 0xffff));
      t.occurrence = static_cast<uint16_t>(occ);
      ASSIGN_OR_RETURN(t.due, RequiredTime(tj, "due", "timers"));
      s.timers.push_back(t);
    }
    std::sort(s.timers.begin(), s.timers.end(),
              [](const PendingTimer& a, const PendingTimer& b) { return a.action < b.action; });
  } catch (const Json::exception& e) {
    return InvalidArgument(std::string("malformed instance state: ") + e.what());
  }
  return s;
}

Json TimelineEntryToJson(const TimelineEntry& e) {
  Json j = {{"at", FormatTime(e.at)},
            {"kind", TimelineKindName(e.kind)},
            {"subject", e.subject},
            {"text", e.text}};
  if (!e.event_id.empty()) j["event_id"] = e.event_id;
  if (e.occurred_at) j["occurred_at"] = FormatTime(*e.occurred_at);
  if (e.due) j["due"] = FormatTime(*e.due);
  if (e.occurrence >= 0) j["occurrence"] = e.occurrence;
  if (!e.reasons.empty()) j["reasons"] = ReasonsToJson(e.reasons);
  return j;
}

// Keys in the order Json's std::map dumps them.
void AppendTimelineEntryJson(std::string& out, const TimelineEntry& e) {
  auto key = [&out](const char* k) {
    out += out.back() == '{' ? "\"" : ",\"";
    out += k;
    out += "\":";
  };
  out += '{';
  key("at");
  AppendJsonString(out, FormatTime(e.at));
  if (e.due) {
    key("due");
    AppendJsonString(out, FormatTime(*e.due));
  }
  if (!e.event_id.empty()) {
    key("event_id");
    AppendJsonString(out, e.event_id);
  }
  key("kind");
  AppendJsonString(out, TimelineKindName(e.kind));
  if (e.occurred_at) {
    key("occurred_at");
    AppendJsonString(out, FormatTime(*e.occurred_at));
  }
  if (e.occurrence >= 0) {
    key("occurrence");
    out += std::to_string(e.occurrence);
  }
  if (!e.reasons.empty()) {
    key("reasons");
    out += '[';
    for (const FactReason& r : e.reasons) {
      if (out.back() != '[') out += ',';
      out += '{';
      if (r.held && !r.event_id.empty()) {
        key("event_id");
        AppendJsonString(out, r.event_id);
      }
      key("fact");
      AppendJsonString(out, r.fact);
      key("held");
      out += r.held ? "true" : "false";
      if (r.held && r.implied) {
        key("implied");
        out += "true";
      }
      key("role");
      AppendJsonString(out, r.role);
      if (r.held) {
        key("since");
        AppendJsonString(out, FormatTime(r.since));
      }
      out += '}';
    }
    out += ']';
  }
  key("subject");
  AppendJsonString(out, e.subject);
  key("text");
  AppendJsonString(out, e.text);
  out += '}';
}

Json OutboxActionToJson(const OutboxAction& a) {
  Json j = {{"idempotency_key", a.idempotency_key},
            {"journey", a.journey},
            {"version", a.version},
            {"instance_key", a.instance_key},
            {"action", a.action},
            {"occurrence", a.occurrence},
            {"kind", ActionKindName(a.kind)},
            {"audience", AudienceName(a.audience)},
            {"params", a.params},
            {"created_at", FormatTime(a.created_at)},
            {"reasons", ReasonsToJson(a.reasons)}};
  if (!a.channel.empty()) j["channel"] = a.channel;
  if (!a.template_name.empty()) j["template"] = a.template_name;
  if (!a.url.empty()) j["url"] = a.url;
  if (!a.queue.empty()) j["queue"] = a.queue;
  if (!a.subject.empty()) j["subject"] = a.subject;
  if (a.open_case) {
    Json c = {{"type", a.open_case->type}};
    if (!a.open_case->team.empty()) c["team"] = a.open_case->team;
    if (!a.open_case->priority.empty()) c["priority"] = a.open_case->priority;
    if (!a.open_case->title.empty()) c["title"] = a.open_case->title;
    Json keys = Json::object();
    for (const auto& [k, v] : a.keys) keys[k] = v;
    c["keys"] = std::move(keys);
    j["case"] = std::move(c);
  }
  if (a.due) j["due"] = FormatTime(*a.due);
  return j;
}

Json TimerChangeToJson(const TimerChange& t) {
  return {{"op", t.op == TimerChange::Op::kSchedule ? "schedule"
                 : t.op == TimerChange::Op::kCancel ? "cancel"
                                                    : "done"},
          {"timer_id", t.timer_id},
          {"action", t.action_name},
          {"occurrence", t.occurrence},
          {"due", FormatTime(t.due)}};
}

std::string TimelineEntryToText(const TimelineEntry& e) {
  std::string s = FormatTime(e.at) + "  " + std::string(TimelineKindName(e.kind));
  s.resize(std::max<size_t>(s.size(), 33), ' ');
  s += e.text;
  std::string because;
  for (size_t i = 0; i < e.reasons.size(); ++i) {
    const FactReason& r = e.reasons[i];
    if (!r.held || (r.role != "requires" && r.role != "anchor" && r.role != "when")) continue;
    bool repeated = std::any_of(e.reasons.begin(), e.reasons.begin() + static_cast<long>(i),
                                [&](const FactReason& o) { return o.fact == r.fact && o.held; });
    if (repeated) continue;
    because += (because.empty() ? "" : "; ") + r.fact + " since " + FormatTime(r.since) +
               (r.event_id.empty() ? "" : " (" + r.event_id + ")");
  }
  if (!because.empty() && (e.kind == TimelineKind::kFired || e.kind == TimelineKind::kEnded)) {
    s += "  [because " + because + "]";
  }
  return s;
}

}  // namespace rapport::journey
