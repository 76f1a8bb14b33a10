#include "journey/service/journey_service.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <set>

#include "core/failpoint.h"

namespace rapport::journey {

namespace {

constexpr const char* kDefinitionKind = "journey-definition";
constexpr const char* kInstanceKind = "journey-instance";
// "<subject>~<journey>/<key>" → {"journey","key","subject"}: the instances about a subject.
constexpr const char* kSubjectIndexKind = "journey-subject";
constexpr const char* kSubjectIndexSetting = "journey.subject_index";
constexpr const char* kAliasKind = "journey-alias";
constexpr const char* kParkedKind = "journey-parked";
constexpr const char* kTimerQueue = "journey-timers";
constexpr const char* kOutboxQueue = "outbox";
constexpr const char* kTimelineLog = "journey-timeline";
constexpr const char* kOutboxLog = "outbox";
// Where the journeys stand in the event log, and which deployment generation of definitions
// that position was reached with: one document, so that a deploy by another server makes a
// concurrent round fail its revision check and run again with the new definitions.
constexpr const char* kCursorKind = "journey-cursor";
constexpr const char* kCursorId = "log";
constexpr const char* kLegacyCursorSetting = "journey.cursor";
constexpr int kChunk = 1000;  // timers per transaction, and events per page of the log
// Events per transaction: an instance's state is rewritten once per transaction that touched
// it, so a longer transaction writes an instance with several events once.
constexpr int kEventPages = 4;

// An e-mail address names its person however a sender capitalised it.
std::string IndexForm(std::string subject) {
  if (subject.find('@') != std::string::npos) {
    for (char& c : subject) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return subject;
}

store::WriteBatch::Put SubjectIndexPut(const std::string& subject, const std::string& id) {
  size_t slash = id.find('/');
  std::string form = IndexForm(subject);
  Json body = {{"journey", id.substr(0, slash)}, {"key", id.substr(slash + 1)}, {"subject", form}};
  return {{kSubjectIndexKind, form + "~" + id, body.dump()}, -1};
}

std::string Slot(std::string_view k, std::string_view v) {
  return std::string(k) + "=" + std::string(v);
}

std::string SecretSetting(std::string_view journey, std::string_view action) {
  return "webhook-secret:" + std::string(journey) + "/" + std::string(action);
}

std::string RandomSecret() {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  return hex;
}

}  // namespace

// The working set of one processing round: instances, aliases and parked events read from the
// store or changed in this round, and the batch that writes all changes at once.
class JourneyService::Chunk {
 public:
  Chunk(JourneyService& service, Time now) : s_(service), now_(now) {}

  store::WriteBatch batch;
  Time now() const { return now_; }

  // nullptr when the instance does not exist.
  Result<Loaded*> Find(const std::string& journey, const std::string& key) {
    std::string id = journey + "/" + key;
    auto it = instances_.find(id);
    if (it != instances_.end()) return &it->second;
    if (absent_.count(id)) return static_cast<Loaded*>(nullptr);
    if (auto w = s_.written_.find(id); w != s_.written_.end()) {
      Loaded& l = instances_[id];
      l = w->second;
      return &l;
    }
    ASSIGN_OR_RETURN(auto doc, s_.store_.GetDocument(kInstanceKind, id));
    if (!doc) {
      absent_.insert(id);
      return static_cast<Loaded*>(nullptr);
    }
    ASSIGN_OR_RETURN(Json body, ParseJson(doc->body));
    int version = body.value("version", 0);
    DefinitionPtr def = s_.Version(journey, version);
    if (!def) {
      return DataLoss("instance " + id + " runs on " + journey + " version " +
                      std::to_string(version) + ", which is not deployed");
    }
    ASSIGN_OR_RETURN(InstanceState state, StateFromJson(*def, body["state"]));
    Loaded& l = instances_[id];
    std::string subject = state.subject;
    l = Loaded{def, std::move(state), doc->revision, false, std::move(subject)};
    return &l;
  }

  Loaded* Create(const std::string& journey, const std::string& key, DefinitionPtr def) {
    std::string id = journey + "/" + key;
    absent_.erase(id);
    Loaded& l = instances_[id];
    l = Loaded{std::move(def), InstanceState{}, 0, true};
    return &l;
  }

  void Forget(const std::string& journey, const std::string& key) {
    std::string id = journey + "/" + key;
    instances_.erase(id);
    absent_.insert(id);
  }

  Result<std::optional<std::string>> Alias(const std::string& journey, const std::string& slot) {
    std::string id = journey + "/" + slot;
    auto it = aliases_.find(id);
    if (it != aliases_.end()) return it->second;
    ASSIGN_OR_RETURN(auto doc, s_.store_.GetDocument(kAliasKind, id));
    std::optional<std::string> key;
    if (doc) {
      ASSIGN_OR_RETURN(Json body, ParseJson(doc->body));
      key = body.value("key", "");
    }
    aliases_[id] = key;
    return key;
  }

  void BindAlias(const std::string& journey, const std::string& slot, const std::string& key) {
    std::string id = journey + "/" + slot;
    aliases_[id] = key;
    batch.puts.push_back({{kAliasKind, id, Json{{"key", key}}.dump()}, -1});
  }

  void Park(const std::string& journey, const std::string& slot, const Event& e) {
    std::string prefix = journey + "/" + slot + "/";
    batch.puts.push_back({{kParkedKind, prefix + e.id, EventToJson(e).dump()}, -1});
    fresh_parked_[prefix].push_back(e);
  }

  // Removes and returns the events parked under a slot, oldest occurrence first.
  Result<std::vector<Event>> TakeParked(const std::string& journey, const std::string& slot) {
    std::string prefix = journey + "/" + slot + "/";
    std::vector<Event> out;
    if (taken_.insert(prefix).second) {
      ASSIGN_OR_RETURN(auto docs, s_.store_.ListDocuments(kParkedKind, prefix, "", 100000));
      for (const auto& d : docs) {
        ASSIGN_OR_RETURN(Json j, ParseJson(d.body));
        ASSIGN_OR_RETURN(Event e, EventFromJson(j, now_, d.id));
        e.received_at = *ParseTime(j.value("received_at", FormatTime(now_)));
        out.push_back(std::move(e));
        batch.deletes.push_back({kParkedKind, d.id});
      }
    }
    auto fresh = fresh_parked_.find(prefix);
    if (fresh != fresh_parked_.end()) {
      for (auto& e : fresh->second) {
        batch.deletes.push_back({kParkedKind, prefix + e.id});
        out.push_back(std::move(e));
      }
      fresh_parked_.erase(fresh);
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Event& a, const Event& b) { return a.occurred_at < b.occurred_at; });
    return out;
  }

  // Writes every change of the round in one transaction, with the cursor if given. Ends the
  // round: the written instances move into the service's cache.
  Status Flush(std::optional<LogCursor> cursor) {
    for (auto& [id, l] : instances_) {
      if (!l.dirty) continue;
      Json body = {{"version", l.def->version()}, {"state", StateToJson(*l.def, l.state)}};
      batch.puts.push_back({{kInstanceKind, id, body.dump()}, l.revision});
      if (!l.state.subject.empty() && l.state.subject != l.indexed_subject) {
        batch.puts.push_back(SubjectIndexPut(l.state.subject, id));
      }
    }
    if (cursor) {
      Json body = {{"after", cursor->after}, {"definitions", cursor->definitions}};
      batch.puts.push_back({{kCursorKind, kCursorId, body.dump()}, cursor->revision});
    }
    Status written = s_.store_.Write(batch);
    if (!written.ok()) {
      s_.written_.clear();
      return written;
    }
    if (s_.written_.size() > kWrittenLimit) s_.written_.clear();
    for (auto& [id, l] : instances_) {
      if (!l.dirty) continue;
      std::string subject = l.state.subject;
      s_.written_[id] =
          Loaded{l.def, std::move(l.state), l.revision + 1, false, std::move(subject)};
    }
    return OkStatus();
  }

 private:
  JourneyService& s_;
  Time now_;
  std::map<std::string, Loaded> instances_;
  std::set<std::string> absent_;
  std::map<std::string, std::optional<std::string>> aliases_;
  std::map<std::string, std::vector<Event>> fresh_parked_;
  std::set<std::string> taken_;
};

JourneyService::JourneyService(store::Store& store, const Clock& clock, MetricsRegistry& metrics)
    : store_(store),
      clock_(clock),
      events_applied_(metrics.GetCounter("rapport_journey_events_total",
                                         "Events read from the log by the journey runtime")),
      actions_created_(
          metrics.GetCounter("rapport_journey_actions_total", "Actions put into the outbox")),
      timers_fired_(metrics.GetCounter("rapport_journey_timers_total", "Journey timers decided")) {
  if (sodium_init() < 0) std::abort();
}

Result<JourneyService::LogCursor> JourneyService::ReadCursor() {
  ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kCursorKind, kCursorId));
  LogCursor c;
  if (!doc) {
    // Databases written before the cursor document kept the position in a setting; starting
    // from 0 there would replay the whole log into journeys deployed since.
    ASSIGN_OR_RETURN(auto legacy, store_.GetSetting(kLegacyCursorSetting));
    if (legacy) c.after = std::atoll(legacy->c_str());
    return c;
  }
  ASSIGN_OR_RETURN(Json body, ParseJson(doc->body));
  c.after = body.value("after", int64_t{0});
  c.definitions = body.value("definitions", int64_t{0});
  c.revision = doc->revision;
  return c;
}

Status JourneyService::ReloadDefinitions(int64_t generation) {
  std::map<std::string, std::vector<DefinitionPtr>, std::less<>> loaded;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto docs, store_.ListDocuments(kDefinitionKind, "", after, 500));
    if (docs.empty()) break;
    for (const auto& d : docs) {
      DefinitionPtr known;
      size_t at = d.id.rfind('@');
      if (at != std::string::npos) {
        known = Version(d.id.substr(0, at), std::atoi(d.id.c_str() + at + 1));
      }
      if (!known) {  // compiled once; versions never change
        ASSIGN_OR_RETURN(Json body, ParseJson(d.body));
        auto def = LoadDefinition(body.value("text", ""), body.value("file", d.id));
        if (!def.ok()) return def.status().WithContext("stored journey definition " + d.id);
        known = *def;
      }
      loaded[known->name()].push_back(known);
    }
    after = docs.back().id;
  }
  for (auto& [name, versions] : loaded) {
    std::sort(versions.begin(), versions.end(), [](const DefinitionPtr& a, const DefinitionPtr& b) {
      return a->version() < b->version();
    });
  }
  std::lock_guard<std::mutex> lock(defs_mu_);
  journeys_ = std::move(loaded);
  loaded_generation_ = generation;
  return OkStatus();
}

Status JourneyService::Start() {
  std::lock_guard<std::mutex> lock(process_mu_);
  ASSIGN_OR_RETURN(LogCursor cursor, ReadCursor());
  RETURN_IF_ERROR(ReloadDefinitions(cursor.definitions));
  return IndexSubjectsOnce();
}

Status JourneyService::IndexSubjectsOnce() {
  ASSIGN_OR_RETURN(auto done, store_.GetSetting(kSubjectIndexSetting));
  if (done && *done == "1") return OkStatus();
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto docs, store_.ListDocuments(kInstanceKind, "", after, 500));
    store::WriteBatch batch;
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json body, ParseJson(d.body));
      std::string subject = body["state"].value("subject", "");
      if (!subject.empty()) batch.puts.push_back(SubjectIndexPut(subject, d.id));
    }
    if (!batch.empty()) RETURN_IF_ERROR(store_.Write(batch));
    if (docs.size() < 500) break;
    after = docs.back().id;
  }
  return store_.PutSetting(kSubjectIndexSetting, "1");
}

Result<Json> JourneyService::InstancesOf(const std::vector<std::string>& subjects) {
  RETURN_IF_ERROR(CatchUp().status());
  std::set<std::string> forms;
  for (const auto& subject : subjects) {
    if (!subject.empty()) forms.insert(IndexForm(subject));
  }
  std::set<std::string> ids;
  for (const auto& subject : forms) {
    std::string after;
    while (true) {
      ASSIGN_OR_RETURN(auto docs,
                       store_.ListDocuments(kSubjectIndexKind, subject + "~", after, 500));
      for (const auto& d : docs) {
        ASSIGN_OR_RETURN(Json entry, ParseJson(d.body));
        // "a~" also begins the entries of a subject "a~b": the body says whose it is.
        if (entry.value("subject", "") != subject) continue;
        ids.insert(entry.value("journey", "") + "/" + entry.value("key", ""));
      }
      if (docs.size() < 500) break;
      after = docs.back().id;
    }
  }
  Json out = Json::array();
  for (const auto& id : ids) {
    ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kInstanceKind, id));
    if (!doc) continue;
    ASSIGN_OR_RETURN(Json body, ParseJson(doc->body));
    const Json& st = body["state"];
    // Indexed under a subject it no longer has (the subject is set once, but an erasure may
    // have rewritten it): not listed.
    if (!forms.count(IndexForm(st.value("subject", "")))) continue;
    size_t slash = id.find('/');
    out.push_back({{"journey", id.substr(0, slash)},
                   {"key", id.substr(slash + 1)},
                   {"version", body.value("version", 0)},
                   {"status", st.value("status", "")},
                   {"end_state", st.value("end_state", "")},
                   {"subject", st.value("subject", "")},
                   {"started_at", st.value("started_at", "")}});
  }
  return out;
}

DefinitionPtr JourneyService::Latest(std::string_view journey) const {
  std::lock_guard<std::mutex> lock(defs_mu_);
  auto it = journeys_.find(journey);
  return it == journeys_.end() || it->second.empty() ? nullptr : it->second.back();
}

DefinitionPtr JourneyService::Version(std::string_view journey, int version) const {
  std::lock_guard<std::mutex> lock(defs_mu_);
  auto it = journeys_.find(journey);
  if (it == journeys_.end()) return nullptr;
  for (const auto& d : it->second) {
    if (d->version() == version) return d;
  }
  return nullptr;
}

Result<DeployOutcome> JourneyService::Deploy(std::string_view yaml, std::string_view file) {
  ASSIGN_OR_RETURN(DefinitionPtr def, LoadDefinition(yaml, file));
  std::lock_guard<std::mutex> process_lock(process_mu_);
  {
    ASSIGN_OR_RETURN(LogCursor cursor, ReadCursor());
    if (cursor.definitions != loaded_generation_)
      RETURN_IF_ERROR(ReloadDefinitions(cursor.definitions));
  }
  DeployOutcome out;
  out.definition = def;
  for (int attempt = 0;;) {
    if (DefinitionPtr existing = Version(def->name(), def->version())) {
      if (existing->fingerprint() != def->fingerprint()) {
        return AlreadyExists("journey '" + def->name() + "' version " +
                                 std::to_string(def->version()) +
                                 " is deployed with a different text; deploy it as version " +
                                 std::to_string(Latest(def->name())->version() + 1),
                             "version");
      }
      out.definition = existing;
    } else {
      if (DefinitionPtr latest = Latest(def->name())) {
        if (latest->primary_key() != def->primary_key()) {
          return InvalidArgument("journey '" + def->name() + "' correlates by '" +
                                     latest->primary_key() + "'; a new version cannot change it",
                                 "correlation");
        }
      }
      // The definition and a new generation in the cursor, in one write: every server's next
      // round sees the new generation and loads the definition before it reads more events.
      ASSIGN_OR_RETURN(LogCursor cursor, ReadCursor());
      store::WriteBatch batch;
      Json body = {{"text", std::string(yaml)},
                   {"file", std::string(file)},
                   {"deployed_at", FormatTime(clock_.Now())}};
      batch.puts.push_back(
          {{kDefinitionKind, def->name() + "@" + std::to_string(def->version()), body.dump()}, 0});
      Json next = {{"after", cursor.after}, {"definitions", cursor.definitions + 1}};
      batch.puts.push_back({{kCursorKind, kCursorId, next.dump()}, cursor.revision});
      Status s = store_.Write(batch);
      if (s.code() == StatusCode::kAborted) {
        // Another server deployed or moved the cursor meanwhile: look again.
        ASSIGN_OR_RETURN(LogCursor now, ReadCursor());
        RETURN_IF_ERROR(ReloadDefinitions(now.definitions));
        if (++attempt < 10) continue;
      }
      RETURN_IF_ERROR(s);
      RETURN_IF_ERROR(ReloadDefinitions(cursor.definitions + 1));
      out.created = true;
    }
    break;
  }
  for (const auto& a : out.definition->actions()) {
    if (a.kind != ActionKind::kWebhook) continue;
    std::string setting = SecretSetting(def->name(), a.name);
    ASSIGN_OR_RETURN(auto secret, store_.GetSetting(setting));
    if (!secret) {
      secret = RandomSecret();
      RETURN_IF_ERROR(store_.PutSetting(setting, *secret));
    }
    out.webhook_secrets.emplace_back(a.name, *secret);
  }
  return out;
}

Result<std::string> JourneyService::WebhookSecret(std::string_view journey,
                                                  std::string_view action) {
  ASSIGN_OR_RETURN(auto secret, store_.GetSetting(SecretSetting(journey, action)));
  if (!secret)
    return NotFound("no webhook '" + std::string(action) + "' in journey '" + std::string(journey) +
                    "'");
  return *secret;
}

Json JourneyService::ListJourneys() const {
  std::lock_guard<std::mutex> lock(defs_mu_);
  Json out = Json::array();
  for (const auto& [name, versions] : journeys_) {
    Json vs = Json::array();
    for (const auto& d : versions) vs.push_back(d->version());
    const auto& latest = versions.back();
    out.push_back({{"name", name},
                   {"latest_version", latest->version()},
                   {"versions", vs},
                   {"description", latest->description()},
                   {"correlation", latest->primary_key()},
                   {"actions", latest->actions().size()}});
  }
  return out;
}

// Mirrors Runtime::Deliver (journey/runtime.cc) over stored instances.
Status JourneyService::Deliver(Chunk& c, const DefinitionPtr& latest, const Event& e,
                               std::vector<Event>* more) {
  const std::string& journey = latest->name();
  const std::string* primary = FindField(e.keys, latest->primary_key());
  Loaded* inst = nullptr;
  if (primary && !primary->empty()) {
    ASSIGN_OR_RETURN(inst, c.Find(journey, *primary));
  } else {
    for (const auto& [k, v] : e.keys) {
      ASSIGN_OR_RETURN(auto key, c.Alias(journey, Slot(k, v)));
      if (key && !key->empty()) {
        ASSIGN_OR_RETURN(inst, c.Find(journey, *key));
        if (inst) break;
      }
    }
  }
  Effects fx;
  if (inst) {
    if (!inst->def->FindEvent(e.type)) return OkStatus();  // not in this instance's version
    RETURN_IF_ERROR(ApplyEvent(*inst->def, &inst->state, e, c.now(), &fx));
    return Absorb(c, journey, *inst, fx, more);
  }
  Route r = RouteEvent(*latest, e);
  if (r.starts) {
    ASSIGN_OR_RETURN(auto parked, c.TakeParked(journey, Slot(latest->primary_key(), *r.primary)));
    std::vector<Event> backlog;
    for (auto& p : parked) {
      if (latest->FindEvent(p.type)) backlog.push_back(std::move(p));
    }
    Loaded* created = c.Create(journey, *r.primary, latest);
    Status st = StartInstance(*latest, e, c.now(), &created->state, &fx, backlog);
    if (!st.ok()) {
      c.Forget(journey, *r.primary);
      return st;
    }
    return Absorb(c, journey, *created, fx, more);
  }
  const EventSpec* spec = latest->FindEvent(e.type);
  if (spec && spec->fact == latest->start_fact()) return OkStatus();  // start.where not met
  if (primary && !primary->empty()) {
    c.Park(journey, Slot(latest->primary_key(), *primary), e);
  } else {
    for (const auto& [k, v] : r.aliases) c.Park(journey, Slot(k, v), e);
  }
  return OkStatus();
}

Status JourneyService::Absorb(Chunk& c, const std::string& journey, Loaded& inst, Effects& fx,
                              std::vector<Event>* more) {
  inst.dirty = true;
  const std::string instance_id = journey + "/" + inst.state.key;
  for (const TimerChange& t : fx.timers) {
    if (t.op == TimerChange::Op::kSchedule) {
      Json body = {{"journey", journey},
                   {"key", inst.state.key},
                   {"action", t.action_name},
                   {"occurrence", t.occurrence}};
      c.batch.enqueue.push_back({kTimerQueue, t.timer_id, t.due, body.dump(), 0});
    } else {
      c.batch.dequeue.push_back({kTimerQueue, t.timer_id});
    }
  }
  for (const auto& [k, v] : fx.bound_keys) {
    std::string slot = Slot(k, v);
    c.BindAlias(journey, slot, inst.state.key);
    if (more) {
      ASSIGN_OR_RETURN(auto parked, c.TakeParked(journey, slot));
      for (auto& p : parked) more->push_back(std::move(p));
    }
  }
  for (const OutboxAction& a : fx.outbox) {
    std::string body = OutboxActionToJson(a).dump();
    c.batch.enqueue.push_back({kOutboxQueue, a.idempotency_key, a.created_at, body, 0});
    c.batch.append.push_back({kOutboxLog, instance_id, body, a.created_at});
    actions_created_.Add();
  }
  // One log line per event or timer (an array when it made several entries): a row and an
  // index entry per timeline entry cost more than the entries themselves.
  if (!fx.timeline.empty()) {
    std::string line;
    if (fx.timeline.size() > 1) line += '[';
    for (const TimelineEntry& t : fx.timeline) {
      if (line.size() > 1) line += ',';
      AppendTimelineEntryJson(line, t);
    }
    if (fx.timeline.size() > 1) line += ']';
    c.batch.append.push_back({kTimelineLog, instance_id, std::move(line), fx.timeline.front().at});
  }
  return OkStatus();
}

Result<size_t> JourneyService::CatchUp() {
  std::lock_guard<std::mutex> lock(process_mu_);
  return CatchUpLocked();
}

Result<size_t> JourneyService::CatchUpLocked() {
  size_t total = 0;
  while (true) {
    ASSIGN_OR_RETURN(LogCursor cursor, ReadCursor());
    if (cursor.definitions != loaded_generation_) {
      RETURN_IF_ERROR(ReloadDefinitions(cursor.definitions));
    }
    store::EventPage page;
    for (int p = 0; p < kEventPages; ++p) {
      int64_t after = page.events.empty() ? cursor.after : page.events.back().seq;
      ASSIGN_OR_RETURN(auto more, store_.ListEvents({.after = after, .limit = kChunk}));
      page.events.insert(page.events.end(), std::make_move_iterator(more.events.begin()),
                         std::make_move_iterator(more.events.end()));
      if (more.next_after == 0) break;
    }
    if (page.events.empty()) return total;
    std::vector<DefinitionPtr> latest;
    {
      std::lock_guard<std::mutex> lock(defs_mu_);
      for (const auto& [name, versions] : journeys_) latest.push_back(versions.back());
    }
    Chunk chunk(*this, clock_.Now());
    for (const Event& e : page.events) {
      for (const auto& def : latest) {
        if (!def->FindEvent(e.type)) continue;
        std::vector<Event> work = {e};
        for (size_t i = 0; i < work.size(); ++i) {
          Event ev = work[i];
          Status s = Deliver(chunk, def, ev, &work);
          // A bad event (wrong key, no id) is the sender's problem: it changes nothing and the
          // log keeps it; only store failures stop processing.
          if (!s.ok() && s.code() != StatusCode::kInvalidArgument &&
              s.code() != StatusCode::kFailedPrecondition) {
            return s.WithContext("applying event " + ev.id + " to journey " + def->name());
          }
        }
      }
    }
    Status flushed =
        chunk.Flush(LogCursor{page.events.back().seq, cursor.definitions, cursor.revision});
    if (flushed.code() == StatusCode::kAborted) continue;  // another server was first: reload
    RETURN_IF_ERROR(flushed);
    events_applied_.Add(page.events.size());
    total += page.events.size();
  }
}

Result<std::optional<Time>> JourneyService::NextDue() { return store_.NextDue(kTimerQueue); }

Result<size_t> JourneyService::RunDue() {
  std::lock_guard<std::mutex> lock(process_mu_);
  RETURN_IF_ERROR(CatchUpLocked().status());
  size_t decided = 0;
  while (true) {
    Time now = clock_.Now();
    ASSIGN_OR_RETURN(auto due, store_.DueItems(kTimerQueue, now, kChunk));
    if (due.empty()) return decided;
    Chunk chunk(*this, now);
    for (const auto& item : due) {
      chunk.batch.dequeue.push_back({kTimerQueue, item.id});
      ASSIGN_OR_RETURN(Json body, ParseJson(item.body));
      std::string journey = body.value("journey", "");
      std::string key = body.value("key", "");
      ASSIGN_OR_RETURN(Loaded * inst, chunk.Find(journey, key));
      if (!inst) continue;
      auto action = inst->def->FindAction(body.value("action", ""));
      if (!action) continue;
      Effects fx;
      Status s = FireTimer(*inst->def, &inst->state, *action,
                           static_cast<uint16_t>(body.value("occurrence", 0)), now, &fx);
      if (!s.ok()) continue;
      RETURN_IF_ERROR(Absorb(chunk, journey, *inst, fx, nullptr));
    }
    Failpoint("timers.before_fire");
    Status flushed = chunk.Flush(std::nullopt);
    if (flushed.code() == StatusCode::kAborted) continue;
    RETURN_IF_ERROR(flushed);
    timers_fired_.Add(due.size());
    decided += due.size();
  }
}

Result<Json> JourneyService::Instance(std::string_view journey, std::string_view key) {
  RETURN_IF_ERROR(CatchUp().status());
  std::string id = std::string(journey) + "/" + std::string(key);
  ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kInstanceKind, id));
  if (!doc)
    return NotFound("no instance of journey '" + std::string(journey) + "' for key '" +
                    std::string(key) + "'");
  ASSIGN_OR_RETURN(Json body, ParseJson(doc->body));
  Json out = body["state"];
  Json timeline = Json::array();
  int64_t after = 0;
  while (true) {
    ASSIGN_OR_RETURN(auto lines, store_.ReadLog(kTimelineLog, id, after, 1000));
    for (const auto& l : lines) {
      ASSIGN_OR_RETURN(Json entry, ParseJson(l.body));
      if (entry.is_array()) {
        for (auto& e : entry) timeline.push_back(std::move(e));
      } else {
        timeline.push_back(std::move(entry));
      }
    }
    if (lines.size() < 1000) break;
    after = lines.back().seq;
  }
  out["timeline"] = std::move(timeline);
  Json actions = Json::array();
  ASSIGN_OR_RETURN(auto sent, store_.ReadLog(kOutboxLog, id, 0, 1000));
  for (const auto& l : sent) {
    ASSIGN_OR_RETURN(Json a, ParseJson(l.body));
    actions.push_back(std::move(a));
  }
  out["outbox"] = std::move(actions);
  return out;
}

Result<Json> JourneyService::Cancel(std::string_view journey, std::string_view key,
                                    std::string_view reason) {
  DefinitionPtr def = Latest(journey);
  if (!def) return NotFound("no journey '" + std::string(journey) + "'", "name");
  // The cancellation event: an event fact that leads to an end state that is not a success.
  std::string type;
  for (const auto& end : def->end_states()) {
    if (end.success) continue;
    for (FactId f : end.when) {
      if (def->facts()[f].kind == FactKind::kEvent) {
        type = def->facts()[f].name;
        break;
      }
    }
    if (!type.empty()) break;
  }
  if (type.empty()) {
    return FailedPrecondition("journey '" + std::string(journey) +
                              "' has no end state for cancellation (an end state with "
                              "outcome: failure reached by an event)");
  }
  RETURN_IF_ERROR(Instance(journey, key).status());  // exists?
  Event e;
  e.id = "cancel:" + std::string(journey) + "/" + std::string(key);
  e.type = type;
  e.keys = {{def->primary_key(), std::string(key)}};
  e.occurred_at = clock_.Now();
  e.received_at = clock_.Now();
  e.payload = {{"reason", std::string(reason)}, {"source", "api"}};
  RETURN_IF_ERROR(store_.AppendEvents({e}).status());
  return Instance(journey, key);
}

}  // namespace rapport::journey
