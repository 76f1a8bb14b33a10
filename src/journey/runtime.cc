// The in-memory journey driver: routing by correlation and alias keys, parking of events that
// arrive before their instance can take them, a lazily-pruned timer heap and the outbox.
#include "journey/runtime.h"

#include <algorithm>

namespace rapport::journey {

namespace {

std::string Slot(std::string_view key, std::string_view value) {
  std::string s;
  s.reserve(key.size() + value.size() + 1);
  s.append(key);
  s.push_back('\x1f');
  s.append(value);
  return s;
}

}  // namespace

Runtime::Runtime(const Clock& clock, RuntimeOptions options) : clock_(clock), options_(options) {
  fx_.record_timeline = options_.record_timeline;
}

Status Runtime::Deploy(DefinitionPtr def) {
  if (!def) return InvalidArgument("no definition");
  Journey& j = journeys_[def->name()];
  for (const auto& v : j.versions) {
    if (v->version() == def->version()) {
      if (v->fingerprint() == def->fingerprint()) return OkStatus();
      return AlreadyExists("version " + std::to_string(def->version()) + " of " + def->name() +
                           " is already deployed with a different text; raise the version");
    }
  }
  if (!j.versions.empty() && j.versions.front()->primary_key() != def->primary_key()) {
    return InvalidArgument("journey " + def->name() + " correlates by " +
                           j.versions.front()->primary_key() + "; a new version cannot change it");
  }
  j.versions.push_back(std::move(def));
  std::sort(
      j.versions.begin(), j.versions.end(),
      [](const DefinitionPtr& a, const DefinitionPtr& b) { return a->version() < b->version(); });
  return OkStatus();
}

Status Runtime::Ingest(const Event& e) {
  if (e.id.empty()) return InvalidArgument("an event needs an id (its idempotency key)", "id");
  ++events_ingested_;
  std::deque<Work> work;
  for (auto& [name, j] : journeys_) {
    bool listens = std::any_of(j.versions.begin(), j.versions.end(),
                               [&](const DefinitionPtr& d) { return d->FindEvent(e.type); });
    if (listens) RETURN_IF_ERROR(Deliver(j, e, &work));
  }
  while (!work.empty()) {
    Work w = std::move(work.front());
    work.pop_front();
    RETURN_IF_ERROR(Deliver(*w.journey, w.event, &work));
  }
  return OkStatus();
}

Status Runtime::Deliver(Journey& j, const Event& e, std::deque<Work>* more) {
  const JourneyDefinition& latest = *j.versions.back();
  const std::string* primary = FindField(e.keys, latest.primary_key());
  std::optional<uint32_t> idx;
  if (primary && !primary->empty()) {
    auto it = j.by_key.find(*primary);
    if (it != j.by_key.end()) idx = it->second;
  } else {
    for (const auto& [k, v] : e.keys) {
      auto it = j.by_alias.find(Slot(k, v));
      if (it != j.by_alias.end()) {
        idx = it->second;
        break;
      }
    }
  }
  fx_.Clear();
  if (idx) {
    Instance& inst = instances_[*idx];
    if (!inst.def->FindEvent(e.type)) return OkStatus();  // not in this instance's version
    RETURN_IF_ERROR(ApplyEvent(*inst.def, &inst.state, e, clock_.Now(), &fx_));
    Absorb(j, *idx, more);
    return OkStatus();
  }
  Route r = RouteEvent(latest, e);
  if (r.starts) {
    // Events of this key that came before the start event are applied with it, in one step.
    std::vector<Event> backlog;
    auto parked = j.parked.find(Slot(latest.primary_key(), *r.primary));
    if (parked != j.parked.end()) {
      for (Parked& p : parked->second) {
        if (latest.FindEvent(p.event.type)) backlog.push_back(std::move(p.event));
      }
      parked_count_ -= parked->second.size();
      j.parked.erase(parked);
    }
    uint32_t n = static_cast<uint32_t>(instances_.size());
    instances_.push_back({&latest, InstanceState{}});
    Status st = StartInstance(latest, e, clock_.Now(), &instances_.back().state, &fx_, backlog);
    if (!st.ok()) {
      instances_.pop_back();
      fx_.Clear();
      return st;
    }
    j.by_key.emplace(*r.primary, n);
    Absorb(j, n, more);
    return OkStatus();
  }
  const EventSpec* spec = latest.FindEvent(e.type);
  if (spec && spec->fact == latest.start_fact()) return OkStatus();  // start.where did not match
  if (primary && !primary->empty()) {
    Park(j, Slot(latest.primary_key(), *primary), e);
  } else {
    for (const auto& [k, v] : r.aliases) Park(j, Slot(k, v), e);
  }
  return OkStatus();
}

void Runtime::Park(Journey& j, const std::string& slot, const Event& e) {
  j.parked[slot].push_back({clock_.Now(), e});
  ++parked_count_;
}

void Runtime::Unpark(Journey& j, const std::string& slot, std::deque<Work>* more) {
  auto it = j.parked.find(slot);
  if (it == j.parked.end()) return;
  std::vector<Parked> events = std::move(it->second);
  j.parked.erase(it);
  parked_count_ -= events.size();
  std::stable_sort(events.begin(), events.end(), [](const Parked& a, const Parked& b) {
    return a.event.occurred_at < b.event.occurred_at;
  });
  for (auto& p : events) more->push_back({&j, std::move(p.event)});
}

// Takes the effects of the last step into the runtime's indexes, heap, outbox and timeline.
void Runtime::Absorb(Journey& j, uint32_t instance, std::deque<Work>* more) {
  const InstanceState& s = instances_[instance].state;
  for (const TimerChange& c : fx_.timers) {
    if (c.op == TimerChange::Op::kSchedule) {
      timers_.push({ToMicros(c.due), instance, c.action, c.occurrence});
      ++live_timers_;
    } else {
      --live_timers_;  // cancelled or done: the heap entry is dropped lazily (Pending)
    }
  }
  for (const auto& [k, v] : fx_.bound_keys) {
    std::string slot = Slot(k, v);
    j.by_alias.emplace(slot, instance);
    if (more) Unpark(j, slot, more);
  }
  if (options_.keep_outbox) {
    for (auto& o : fx_.outbox) outbox_.push_back(std::move(o));
  }
  if (options_.record_timeline) {
    const std::string& journey = instances_[instance].def->name();
    for (auto& t : fx_.timeline) timeline_.push_back({journey, s.key, std::move(t)});
  }
  fx_.Clear();
}

bool Runtime::Pending(const TimerEntry& t) const {
  const InstanceState& s = instances_[t.instance].state;
  return std::any_of(s.timers.begin(), s.timers.end(), [&](const PendingTimer& p) {
    return p.action == t.action && p.occurrence == t.occurrence && ToMicros(p.due) == t.due_us;
  });
}

void Runtime::SweepParked(Time now) {
  if (parked_count_ == 0 || now - last_sweep_ < std::chrono::days(1)) return;
  last_sweep_ = now;
  for (auto& [name, j] : journeys_) {
    for (auto it = j.parked.begin(); it != j.parked.end();) {
      auto& v = it->second;
      size_t before = v.size();
      std::erase_if(v, [&](const Parked& p) { return now - p.at > options_.park_for; });
      dropped_parked_ += before - v.size();
      parked_count_ -= before - v.size();
      it = v.empty() ? j.parked.erase(it) : std::next(it);
    }
  }
}

size_t Runtime::RunDue() {
  size_t n = 0;
  Time now = clock_.Now();
  SweepParked(now);
  while (!timers_.empty() && timers_.top().due_us <= ToMicros(now)) {
    TimerEntry t = timers_.top();
    timers_.pop();
    if (!Pending(t)) continue;
    Instance& inst = instances_[t.instance];
    fx_.Clear();
    Status st = FireTimer(*inst.def, &inst.state, t.action, t.occurrence, now, &fx_);
    if (!st.ok()) continue;  // cannot happen for a pending, due timer
    Journey& j = journeys_.find(inst.def->name())->second;
    std::deque<Work> more;
    Absorb(j, t.instance, &more);
    ++n;
  }
  return n;
}

std::optional<Time> Runtime::NextDue() {
  while (!timers_.empty() && !Pending(timers_.top())) timers_.pop();
  if (timers_.empty()) return std::nullopt;
  return FromMicros(timers_.top().due_us);
}

const InstanceState* Runtime::Find(std::string_view journey, std::string_view key) const {
  auto j = journeys_.find(journey);
  if (j == journeys_.end()) return nullptr;
  auto it = j->second.by_key.find(key);
  if (it == j->second.by_key.end()) return nullptr;
  return &instances_[it->second].state;
}

const JourneyDefinition* Runtime::DefinitionOf(std::string_view journey,
                                               std::string_view key) const {
  auto j = journeys_.find(journey);
  if (j == journeys_.end()) return nullptr;
  auto it = j->second.by_key.find(key);
  if (it == j->second.by_key.end()) return nullptr;
  return instances_[it->second].def;
}

Result<Json> Runtime::InstanceJson(std::string_view journey, std::string_view key) const {
  const InstanceState* s = Find(journey, key);
  if (!s) return NotFound("no instance of " + std::string(journey) + " for " + std::string(key));
  return StateToJson(*DefinitionOf(journey, key), *s);
}

}  // namespace rapport::journey
