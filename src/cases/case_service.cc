// Cases as revision-checked documents. Every change reads the case, applies one mutation and
// writes it back with its timeline entry, SLA queue changes and events in one batch.
#include "cases/case_service.h"

#include <algorithm>
#include <set>

#include "cases/rules.h"

namespace rapport::cases {

namespace {

constexpr const char* kCaseKind = "case";
constexpr const char* kPreferenceKind = "case-preference";
constexpr const char* kAnnotationKind = "case-annotation";
constexpr const char* kCursorKind = "case-cursor";
constexpr const char* kCursorId = "events";
constexpr const char* kSlaQueue = "case-sla";
constexpr const char* kTimelineStream = "case-timeline";
constexpr const char* kEventErrorKind = "case-event-error";
constexpr const char* kOriginKind = "case-origin";
constexpr int kMaxAttempts = 100;
constexpr int kEventChunk = 500;

const std::vector<std::string>& States() {
  static const std::vector<std::string> k = {"open", "in_progress", "waiting_for_customer",
                                             "resolved", "closed"};
  return k;
}

bool TransitionAllowed(const std::string& from, const std::string& to) {
  if (from == to) return false;
  if (from == "closed") return false;
  if (from == "resolved") return to == "closed" || to == "in_progress";
  return to != "open";
}

Json ActorJson(const Actor& a) {
  Json j = {{"id", a.id}, {"role", a.role}};
  if (!a.org.empty()) j["org"] = a.org;
  if (!a.name.empty()) j["name"] = a.name;
  return j;
}

void AddTimeline(Json& c, Time now, const Actor& actor, std::string kind, Json detail) {
  Json entry = {{"at", FormatTime(now)},
                {"kind", std::move(kind)},
                {"by", ActorJson(actor)},
                {"team", c.value("team", "")}};
  for (auto& [k, v] : detail.items()) entry[k] = v;
  c["timeline"].push_back(std::move(entry));
}

// The timeline is an append-only log stream, not part of the case document: a change writes
// its new entries as log lines, so the 500th change of a case costs what the first did.
Json MoveTimelineToLog(Json& c, store::WriteBatch& batch, Time now) {
  Json added = Json::array();
  if (c.contains("timeline")) {
    std::string id = c.value("id", "");
    for (auto& e : c["timeline"]) {
      batch.append.push_back({kTimelineStream, id, e.dump(), now, 0});
      added.push_back(std::move(e));
    }
    c.erase("timeline");
  }
  return added;
}

bool VerificationValid(const Json& c, Time now) {
  const Json& v = c["verification"];
  if (!v.is_object()) return false;
  auto until = ParseTime(v.value("valid_until", ""));
  return until.ok() && now < *until;
}

std::string SlaItemId(const std::string& case_id, const std::string& sla, const char* kind) {
  return case_id + "/" + sla + "/" + kind;
}

// Stops an SLA clock: met at `now` unless already decided, and its timers are dropped.
void MeetSla(Json& c, const std::string& name, Time now, store::WriteBatch& batch) {
  for (auto& s : c["sla"]) {
    if (s.value("name", "") != name || !s["met_at"].is_null() || !s["breached_at"].is_null()) {
      continue;
    }
    s["met_at"] = FormatTime(now);
    std::string id = c.value("id", "");
    batch.dequeue.emplace_back(kSlaQueue, SlaItemId(id, name, "warn"));
    batch.dequeue.emplace_back(kSlaQueue, SlaItemId(id, name, "breach"));
  }
}

Status NotFoundCase(std::string_view id) {
  return NotFound("no case '" + std::string(id) + "'", "id");
}

std::string NextPriority(const CasesConfig& cfg, const std::string& p) {
  auto it = std::find(cfg.priorities.begin(), cfg.priorities.end(), p);
  if (it == cfg.priorities.end() || it + 1 == cfg.priorities.end()) return p;
  return *(it + 1);
}

}  // namespace

CaseService::CaseService(store::Store& store, const Clock& clock, IdSource& ids,
                         MetricsRegistry* metrics)
    : store_(store), clock_(clock), ids_(ids), metrics_(metrics) {}

namespace {
bool IsOpenState(const Json& c) {
  std::string state = c.value("state", "");
  return state != "resolved" && state != "closed";
}
std::string TeamLabel(const std::string& team) { return "team=\"" + team + "\""; }
}  // namespace

void CaseService::CountChange(const Json* before, const Json& after) {
  if (metrics_ == nullptr) return;
  if (before == nullptr) {
    // Feedback cases are opened by an event; they are told apart by their channel.
    std::string source = after.value("channel", "") == "feedback"
                             ? "feedback"
                             : after.value("source", Json::object()).value("kind", "agent");
    metrics_
        ->GetCounter("rapport_cases_opened_total", "Cases opened, by source",
                     "source=\"" + source + "\"")
        .Add();
  } else {
    int64_t repeats = after.value("repeats", int64_t{0}) - before->value("repeats", int64_t{0});
    if (repeats > 0) {
      metrics_
          ->GetCounter("rapport_cases_repeats_total",
                       "Fields or verifications asked again although already on the case")
          .Add(static_cast<uint64_t>(repeats));
    }
    // A team change without an escalation is a handover (an SLA breach moves the case too).
    if (after.value("team", "") != before->value("team", "") &&
        after.value("escalated", false) == before->value("escalated", false)) {
      metrics_->GetCounter("rapport_cases_handovers_total", "Cases handed over to another team")
          .Add();
    }
  }
  const Json empty = Json::array();
  const Json& old_slas = before ? before->value("sla", empty) : empty;
  for (const Json& sla : after.value("sla", empty)) {
    auto had = [&](const char* field) {
      for (const Json& o : old_slas) {
        if (o.value("name", "") == sla.value("name", "") && o.contains(field) &&
            !o[field].is_null()) {
          return true;
        }
      }
      return false;
    };
    if (sla.contains("warned_at") && !sla["warned_at"].is_null() && !had("warned_at")) {
      metrics_->GetCounter("rapport_cases_sla_warnings_total", "SLA warnings before a breach")
          .Add();
    }
    if (sla.contains("breached_at") && !sla["breached_at"].is_null() && !had("breached_at")) {
      metrics_->GetCounter("rapport_cases_sla_breaches_total", "SLA breaches (each escalates)")
          .Add();
    }
  }
  std::lock_guard<std::mutex> lock(metrics_mu_);
  if (before && IsOpenState(*before)) --open_by_team_[before->value("team", "")];
  if (IsOpenState(after)) ++open_by_team_[after.value("team", "")];
  PublishOpenCases();
}

void CaseService::CountEventError(const std::string& body) {
  if (metrics_ == nullptr) return;
  auto why = ParseJson(body);
  // An open that failed has no "problem"; it is counted as such.
  std::string problem = why.ok() ? why->value("problem", "open_failed") : "open_failed";
  metrics_
      ->GetCounter("rapport_cases_event_errors_total",
                   "Events the case rules could not use (case-event-error), by problem",
                   "problem=\"" + problem + "\"")
      .Add();
}

void CaseService::PublishOpenCases() {
  for (const auto& [team, n] : open_by_team_) {
    metrics_->SetGauge("rapport_cases_open", "Open cases (not resolved or closed), by team",
                       static_cast<double>(n), TeamLabel(team));
  }
}

Status CaseService::RecountOpenCases() {
  if (metrics_ == nullptr) return OkStatus();
  std::map<std::string, int64_t> counts;
  for (const Team& t : config()->teams) counts[t.id] = 0;  // a team without cases shows 0
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto docs, store_.ListDocuments(kCaseKind, "", after, 500));
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json c, ParseJson(d.body));
      if (IsOpenState(c)) ++counts[c.value("team", "")];
    }
    if (docs.size() < 500) break;
    after = docs.back().id;
  }
  std::lock_guard<std::mutex> lock(metrics_mu_);
  open_by_team_ = std::move(counts);
  last_recount_ = clock_.Now();
  PublishOpenCases();
  return OkStatus();
}

struct CaseService::PendingWrite {
  store::WriteBatch batch;
  Status status;
  bool done = false;
};

void CaseService::CommitGroup(std::vector<PendingWrite*>& group) {
  // One transaction for the whole group; if it fails (typically one stale revision), halves
  // are tried, so k conflicts cost about k·log(n) extra writes and each gets its own status.
  std::function<void(size_t, size_t)> commit = [&](size_t from, size_t to) {
    if (to - from == 1) {
      group[from]->status = store_.Write(group[from]->batch);
      return;
    }
    store::WriteBatch merged;
    auto append = [](auto& into, const auto& part) {
      into.insert(into.end(), part.begin(), part.end());
    };
    for (size_t i = from; i < to; ++i) {
      const store::WriteBatch& b = group[i]->batch;
      append(merged.puts, b.puts);
      append(merged.deletes, b.deletes);
      append(merged.enqueue, b.enqueue);
      append(merged.reschedule, b.reschedule);
      append(merged.dequeue, b.dequeue);
      append(merged.append, b.append);
      append(merged.settings, b.settings);
    }
    if (store_.Write(merged).ok()) return;  // every status stays OK
    size_t mid = from + (to - from) / 2;
    commit(from, mid);
    commit(mid, to);
  };
  if (!group.empty()) commit(0, group.size());
}

Status CaseService::Commit(store::WriteBatch batch) {
  PendingWrite mine{std::move(batch)};
  std::unique_lock<std::mutex> lock(commit_mu_);
  commit_queue_.push_back(&mine);
  while (!mine.done) {
    if (committing_) {
      commit_cv_.wait(lock);
      continue;
    }
    // Lead one group: writes that touch distinct documents (two changes of one case in one
    // transaction would fail the second's revision check and send the group the slow way).
    committing_ = true;
    std::vector<PendingWrite*> group;
    std::set<std::pair<std::string, std::string>> docs;
    for (auto it = commit_queue_.begin(); it != commit_queue_.end() && group.size() < 256;) {
      bool clash = false;
      for (const auto& put : (*it)->batch.puts)
        clash = clash || docs.count({put.doc.kind, put.doc.id});
      if (clash) {
        ++it;
        continue;
      }
      for (const auto& put : (*it)->batch.puts) docs.insert({put.doc.kind, put.doc.id});
      group.push_back(*it);
      it = commit_queue_.erase(it);
    }
    lock.unlock();
    CommitGroup(group);
    lock.lock();
    for (PendingWrite* p : group) p->done = true;
    committing_ = false;
    commit_cv_.notify_all();
  }
  return mine.status;
}

Status CaseService::Start() {
  ASSIGN_OR_RETURN(auto saved, store_.GetSetting(kConfigSetting));
  ConfigPtr cfg;
  if (saved) {
    ASSIGN_OR_RETURN(Json j, ParseJson(*saved));
    auto loaded = LoadConfig(j.value("text", ""), j.value("file", "cases.yaml"));
    if (!loaded.ok()) return loaded.status().WithContext("stored cases configuration");
    cfg = *loaded;
  } else {
    ASSIGN_OR_RETURN(cfg, LoadConfig(DefaultConfigYaml(), "<default cases config>"));
  }
  {
    std::lock_guard<std::mutex> lock(config_mu_);
    config_ = std::move(cfg);
  }
  return RecountOpenCases();
}

Result<ConfigPtr> CaseService::SetConfig(std::string_view yaml, std::string_view file) {
  ASSIGN_OR_RETURN(ConfigPtr cfg, LoadConfig(yaml, file));
  RETURN_IF_ERROR(store_.PutSetting(kConfigSetting, Json{{"file", file}, {"text", yaml}}.dump()));
  {
    std::lock_guard<std::mutex> lock(config_mu_);
    config_ = cfg;
  }
  RETURN_IF_ERROR(RecountOpenCases());  // new teams show 0
  return cfg;
}

ConfigPtr CaseService::config() const {
  std::lock_guard<std::mutex> lock(config_mu_);
  return config_;
}

namespace {
// What OpenInto checks before it writes anything, and the team the case goes to.
Result<RoutingDecision> CheckedRouting(const CasesConfig& cfg, const OpenCaseRequest& r,
                                       const Actor& actor) {
  if (r.person.empty()) return InvalidArgument("a case needs the person it is about", "person");
  if (r.type.empty()) return InvalidArgument("type must not be empty", "type");
  if (!cfg.IsPriority(r.priority)) {
    return InvalidArgument("unknown priority '" + r.priority + "'", "priority");
  }
  for (const auto& [name, value] : r.fields) {
    if (!cfg.FindField(name)) {
      return InvalidArgument("unknown field '" + name + "' (not in the cases configuration)",
                             "fields." + name);
    }
  }
  RoutingDecision decision;
  if (!r.team.empty()) {
    if (!cfg.FindTeam(r.team)) return NotFound("no team '" + r.team + "'", "team");
    decision = {r.team, "", "team chosen by " + (actor.name.empty() ? actor.id : actor.name)};
  } else {
    decision = Route(cfg, {r.text, r.event_type, r.type, r.attributes});
  }
  const Team* team = cfg.FindTeam(decision.team);
  if (actor.is_partner() && team->org != actor.org) {
    return PermissionDenied("a partner opens cases only for its own organisation's teams");
  }
  return decision;
}
}  // namespace

Status CaseService::CheckOpen(const OpenCaseRequest& request, const Actor& actor) const {
  RETURN_IF_ERROR(CheckPerson(request));
  return CheckedRouting(*config(), request, actor).status();
}

void CaseService::SetSubjectResolver(profiles::SubjectResolver* resolver) { resolver_ = resolver; }

Status CaseService::CheckPerson(const OpenCaseRequest& request) const {
  // Issue 18, finding 9: a case for a person id nobody has was opened (201) and sat on a queue.
  if (!resolver_ || request.source != "agent" || request.person.empty()) return OkStatus();
  auto resolved = resolver_->ResolveSubject(request.person);
  if (resolved.status().code() == StatusCode::kNotFound) {
    return InvalidArgument("unknown person " + request.person + ": " + resolved.status().message(),
                           "person");
  }
  return resolved.status();
}

std::string CaseService::PersonOf(std::string_view subject) const {
  if (!resolver_ || subject.empty()) return std::string(subject);
  auto resolved = resolver_->ResolveSubject(subject);
  // Unresolved (or the resolver failing): the subject is kept as it came, never dropped; it is
  // listed by GET /v1/subjects/unresolved and resolves on a later read once its record exists.
  return resolved.ok() ? resolved->person : std::string(subject);
}

namespace {
// The form a stored case named its customer in: the subject it came with when that differed
// from the person it resolved to, else that person.
std::string NamedIn(const Json& stored_case) {
  auto subject = stored_case.find("subject");
  if (subject != stored_case.end() && subject->is_string() && !subject->empty()) {
    return subject->get<std::string>();
  }
  return stored_case.value("person", "");
}
}  // namespace

std::string CaseService::PersonNow(const Json& stored_case) const {
  return PersonOf(NamedIn(stored_case));
}

std::vector<std::string> CaseService::SubjectsOf(const std::string& person) const {
  if (!resolver_ || person.empty()) return {person};
  auto subjects = resolver_->SubjectsOf(person);
  return subjects.ok() ? std::move(*subjects) : std::vector<std::string>{person};
}

Result<Json> CaseService::PreferencesOf(const std::string& person) {
  Json merged = Json::object();
  for (const auto& subject : SubjectsOf(person)) {
    ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kPreferenceKind, subject));
    if (!doc) continue;
    ASSIGN_OR_RETURN(Json doc_json, ParseJson(doc->body));
    // items() refers to its object: keep the object alive for the whole loop.
    const Json prefs = doc_json.value("preferences", Json::object());
    for (const auto& [name, entry] : prefs.items()) {
      auto at = ParseTime(entry.value("set_at", ""));
      auto kept = merged.find(name);
      if (kept != merged.end()) {
        auto kept_at = ParseTime(kept->value("set_at", ""));
        if (!at.ok() || (kept_at.ok() && *kept_at >= *at)) continue;
      }
      merged[name] = entry;
    }
  }
  return Json{{"person", person}, {"preferences", std::move(merged)}};
}

Status CaseService::OpenInto(const ConfigPtr& cfg, const OpenCaseRequest& r, const Actor& actor,
                             Time now, store::WriteBatch& batch, Json* out) {
  ASSIGN_OR_RETURN(RoutingDecision decision, CheckedRouting(*cfg, r, actor));
  const Team* team = cfg->FindTeam(decision.team);
  std::string id = ids_.Next("case");
  const std::string person = PersonOf(r.person);
  Json c = {{"id", id},
            {"person", person},
            {"type", r.type},
            {"priority", r.priority},
            {"title", r.title},
            {"state", "open"},
            {"team", decision.team},
            {"org", team->org},
            {"channel", r.channel},
            {"source", {{"kind", r.source}}},
            {"opened_at", FormatTime(now)},
            {"opened_by", ActorJson(actor)},
            {"routing", decision.ToJson()},
            {"fields", Json::object()},
            {"verification", nullptr},
            {"escalated", false},
            {"repeats", 0},
            {"repeated", Json::array()},
            {"messages", 0},
            {"sla", Json::array()},
            {"timeline", Json::array()}};
  if (person != r.person) c["subject"] = r.person;  // as the event or caller named it
  if (!r.source_event.empty()) c["source"]["event"] = r.source_event;
  if (!r.event_type.empty()) c["source"]["event_type"] = r.event_type;
  if (!r.attributes.empty()) c["attributes"] = r.attributes;
  AddTimeline(c, now, actor, "opened", {{"text", r.text}, {"routing", decision.ToJson()}});
  AddTimeline(c, now, actor, "routed", decision.ToJson());
  for (const auto& [name, value] : r.fields) {
    c["fields"][name] = {{"value", value},
                         {"collected_at", FormatTime(now)},
                         {"collected_by", ActorJson(actor)},
                         {"team", decision.team},
                         {"source", r.source}};
    AddTimeline(c, now, actor, "field.collected", {{"field", name}, {"value", value}});
  }
  if (const SlaPolicy* p = cfg->FindSla(r.type, r.priority)) {
    const BusinessCalendar& cal =
        p->business_hours ? cfg->calendar : BusinessCalendar::AlwaysOpen();
    auto add = [&](const char* name, Duration within) {
      Time due = cal.Add(now, within);
      Json s = {{"name", name},
                {"within", FormatDuration(within)},
                {"hours", p->business_hours ? "business" : "always"},
                {"started_at", FormatTime(now)},
                {"due", FormatTime(due)},
                {"met_at", nullptr},
                {"warned_at", nullptr},
                {"breached_at", nullptr},
                {"escalate_to", p->escalate_to}};
      if (p->warn_before > Duration(0) && p->warn_before < within) {
        Time warn = cal.Add(now, within - p->warn_before);
        s["warn_at"] = FormatTime(warn);
        batch.enqueue.push_back({kSlaQueue, SlaItemId(id, name, "warn"), warn,
                                 Json{{"case", id}, {"sla", name}, {"kind", "warn"}}.dump()});
      }
      batch.enqueue.push_back({kSlaQueue, SlaItemId(id, name, "breach"), due,
                               Json{{"case", id}, {"sla", name}, {"kind", "breach"}}.dump()});
      c["sla"].push_back(std::move(s));
    };
    if (p->first_contact) add("first_contact", *p->first_contact);
    if (p->resolution) add("resolution", *p->resolution);
  }
  // A case opened during a call is first contact.
  if (r.in_contact) MeetSla(c, "first_contact", now, batch);
  for (const auto& [k, v] : r.extra.items()) {
    c[k] = v;
    c["timeline"][0][k] = v;
  }
  Json timeline = MoveTimelineToLog(c, batch, now);
  batch.puts.push_back({{kCaseKind, id, c.dump()}, 0});
  c["revision"] = 1;
  c["timeline"] = std::move(timeline);
  *out = std::move(c);
  return OkStatus();
}

Result<Json> CaseService::Open(const OpenCaseRequest& request, const Actor& actor) {
  RETURN_IF_ERROR(CheckPerson(request));
  // The case an earlier open with this key created, with its timeline.
  auto opened_before = [&]() -> Result<std::optional<Json>> {
    ASSIGN_OR_RETURN(auto origin, store_.GetDocument(kOriginKind, request.idempotency_key));
    if (!origin) return std::optional<Json>();
    ASSIGN_OR_RETURN(Json o, ParseJson(origin->body));
    ASSIGN_OR_RETURN(Json c, Get(o.value("case", ""), actor));
    return std::optional<Json>(std::move(c));
  };
  if (!request.idempotency_key.empty()) {
    ASSIGN_OR_RETURN(auto earlier, opened_before());
    if (earlier) return *earlier;
  }
  store::WriteBatch batch;
  Json c;
  RETURN_IF_ERROR(OpenInto(config(), request, actor, clock_.Now(), batch, &c));
  if (!request.idempotency_key.empty()) {
    // Revision 0: must not exist yet, so two concurrent opens with one key cannot both commit.
    batch.puts.push_back(
        {{kOriginKind, request.idempotency_key, Json{{"case", c["id"]}}.dump()}, 0});
  }
  Status committed = Commit(std::move(batch));
  if (committed.code() == StatusCode::kAborted && !request.idempotency_key.empty()) {
    ASSIGN_OR_RETURN(auto earlier, opened_before());
    if (earlier) return *earlier;
  }
  RETURN_IF_ERROR(committed);
  CountChange(nullptr, c);
  return c;
}

Result<Json> CaseService::OpenFromJourney(const Json& action) {
  auto text = [](const Json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!action.is_object()) return InvalidArgument("an outbox action is a JSON object");
  const Json& spec = action.contains("case") ? action["case"] : Json();
  if (!spec.is_object()) return InvalidArgument("an open_case action needs 'case'", "case");
  std::string journey = text(action, "journey"), name = text(action, "action");
  OpenCaseRequest r;
  r.person = text(action, "subject");
  if (r.person.empty()) {
    return InvalidArgument("journey " + journey + " instance " + text(action, "instance_key") +
                               " has no person (none of its events had a subject)",
                           "subject");
  }
  r.type = text(spec, "type");
  r.team = text(spec, "team");
  if (!text(spec, "priority").empty()) r.priority = text(spec, "priority");
  r.title = text(spec, "title").empty() ? journey + ": " + name : text(spec, "title");
  r.channel = "journey";
  r.in_contact = false;
  r.source = "journey";
  r.source_event = text(action, "idempotency_key");
  r.idempotency_key = r.source_event;
  r.event_type = "journey." + name;
  ConfigPtr cfg = config();
  if (auto keys = spec.find("keys"); keys != spec.end() && keys->is_object()) {
    for (const auto& [k, v] : keys->items()) {
      if (v.is_string() && cfg->FindField(k)) r.fields.emplace_back(k, v.get<std::string>());
    }
  }
  if (auto params = action.find("params"); params != action.end() && params->is_object()) {
    for (const auto& [k, v] : params->items()) {
      r.fields.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  r.extra = {{"journey", journey},
             {"instance_key", text(action, "instance_key")},
             {"action", name},
             {"occurrence", action.value("occurrence", 0)}};
  Actor system{"journey:" + journey, "system", "", "journey " + journey + " (" + name + ")"};
  return Open(r, system);
}

Result<std::pair<Json, int64_t>> CaseService::Load(std::string_view id, const Actor& actor) {
  ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kCaseKind, id));
  if (!doc) return NotFoundCase(id);
  ASSIGN_OR_RETURN(Json c, ParseJson(doc->body));
  // A partner learns nothing about other organisations' cases, not even that they exist.
  if (actor.is_partner() && c.value("org", "") != actor.org) return NotFoundCase(id);
  c["timeline"] = Json::array();  // entries a change adds; MoveTimelineToLog writes them
  return std::make_pair(std::move(c), doc->revision);
}

Result<Json> CaseService::ReadTimeline(std::string_view id) {
  Json out = Json::array();
  int64_t after = 0;
  while (true) {
    ASSIGN_OR_RETURN(auto lines, store_.ReadLog(kTimelineStream, id, after, 1000));
    for (const auto& l : lines) {
      ASSIGN_OR_RETURN(Json e, ParseJson(l.body));
      out.push_back(std::move(e));
    }
    if (lines.size() < 1000) return out;
    after = lines.back().seq;
  }
}

Result<Json> CaseService::Get(std::string_view id, const Actor& actor) {
  ASSIGN_OR_RETURN(auto loaded, Load(id, actor));
  loaded.first["person"] = PersonNow(loaded.first);
  loaded.first["revision"] = loaded.second;
  ASSIGN_OR_RETURN(loaded.first["timeline"], ReadTimeline(id));
  return loaded.first;
}

Result<Json> CaseService::View(std::string_view id, const Actor& actor) {
  ASSIGN_OR_RETURN(auto loaded, Load(id, actor));
  ASSIGN_OR_RETURN(loaded.first["timeline"], ReadTimeline(id));
  const Json& c = loaded.first;
  ConfigPtr cfg = config();
  Time now = clock_.Now();
  Json known = Json::array();
  Json do_not_ask = Json::array();
  for (const auto& [name, f] : c["fields"].items()) {
    const FieldSpec* spec = cfg->FindField(name);
    known.push_back({{"field", name},
                     {"label", spec && !spec->label.empty() ? spec->label : name},
                     {"value", f["value"]},
                     {"collected_by", f["collected_by"]},
                     {"team", f["team"]},
                     {"collected_at", f["collected_at"]}});
    do_not_ask.push_back(name);
  }
  Json missing = Json::array();
  if (const Team* team = cfg->FindTeam(c.value("team", ""))) {
    for (const auto& need : team->needs) {
      if (!c["fields"].contains(need)) missing.push_back(need);
    }
  }
  bool verified = VerificationValid(c, now);
  if (verified) do_not_ask.push_back("verification");
  Json handovers = Json::array();
  for (const auto& e : c["timeline"]) {
    if (e.value("kind", "") == "handover" || e.value("kind", "") == "escalated") {
      handovers.push_back(e);
    }
  }
  Json verification = c["verification"];
  if (verification.is_object()) verification["valid_now"] = verified;
  return Json{{"case", c["id"]},         {"revision", loaded.second},
              {"person", c["person"]},   {"team", c["team"]},
              {"state", c["state"]},     {"priority", c["priority"]},
              {"routing", c["routing"]}, {"verification", verification},
              {"known", known},          {"do_not_ask", do_not_ask},
              {"missing", missing},      {"handovers", handovers},
              {"repeats", c["repeats"]}, {"sla", c["sla"]}};
}

Result<Json> CaseService::List(const CaseFilter& f, const Actor& actor) {
  Json out = Json::array();
  std::string after;
  int limit = std::clamp(f.limit, 1, 1000);
  const std::string wanted_person = f.person.empty() ? "" : PersonOf(f.person);
  std::map<std::string, std::string> resolved;  // one resolution per distinct subject
  auto person_now = [&](const Json& c) -> const std::string& {
    std::string named = NamedIn(c);
    auto [it, fresh] = resolved.try_emplace(named);
    if (fresh) it->second = PersonOf(named);
    return it->second;
  };
  while (static_cast<int>(out.size()) < limit) {
    ASSIGN_OR_RETURN(auto docs, store_.ListDocuments(kCaseKind, "", after, 500));
    if (docs.empty()) break;
    after = docs.back().id;
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json c, ParseJson(d.body));
      if (actor.is_partner() && c.value("org", "") != actor.org) continue;
      if (!f.team.empty() && c.value("team", "") != f.team) continue;
      if (!f.state.empty() && c.value("state", "") != f.state) continue;
      // Resolved again on read: a case opened before its subject's record arrived, for a
      // person merged since, or whose record a split or undo moved, is found under the person
      // id now.
      if (!f.person.empty() && person_now(c) != wanted_person) continue;
      if (!f.type.empty() && c.value("type", "") != f.type) continue;
      out.push_back({{"id", c["id"]},
                     {"revision", d.revision},
                     {"person", person_now(c)},
                     {"type", c["type"]},
                     {"priority", c["priority"]},
                     {"state", c["state"]},
                     {"team", c["team"]},
                     {"title", c["title"]},
                     {"escalated", c["escalated"]},
                     {"opened_at", c["opened_at"]},
                     {"sla", c["sla"]}});
      if (static_cast<int>(out.size()) >= limit) break;
    }
    if (static_cast<int>(docs.size()) < 500) break;
  }
  return Json{{"cases", out}};
}

Result<bool> CaseService::OrgHasCaseAbout(const std::vector<std::string>& person_ids,
                                          std::string_view org) {
  if (org.empty()) return false;
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(auto docs, store_.ListDocuments(kCaseKind, "", after, 500));
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json c, ParseJson(d.body));
      if (c.value("org", "") != org) continue;
      // Resolved now: a case opened before its subject resolved, or whose record moved.
      const std::string person = PersonNow(c);
      if (std::find(person_ids.begin(), person_ids.end(), person) != person_ids.end()) {
        return true;
      }
    }
    if (docs.size() < 500) return false;
    after = docs.back().id;
  }
}

Result<Json> CaseService::Mutate(std::string_view id, const Actor& actor,
                                 std::optional<int64_t> expected_revision, const Mutation& fn) {
  bool passed = false;  // actor.before_write, once however often a conflict is retried
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    ASSIGN_OR_RETURN(auto loaded, Load(id, actor));
    auto& [c, revision] = loaded;
    if (expected_revision && *expected_revision != revision) {
      return Status(StatusCode::kAborted,
                    "case '" + std::string(id) + "' is at revision " + std::to_string(revision) +
                        ", not " + std::to_string(*expected_revision) + "; reload it and retry",
                    "expected_revision");
    }
    store::WriteBatch batch;
    Time now = clock_.Now();
    const Json before = metrics_ ? c : Json();
    RETURN_IF_ERROR(fn(c, batch, now));
    if (actor.before_write && !passed) {
      RETURN_IF_ERROR(actor.before_write(c));
      passed = true;
    }
    Json added = MoveTimelineToLog(c, batch, now);
    batch.puts.push_back({{kCaseKind, std::string(id), c.dump()}, revision});
    Status s = Commit(std::move(batch));
    if (s.ok()) {
      if (metrics_) CountChange(&before, c);
      c["revision"] = revision + 1;
      c["added_to_timeline"] = std::move(added);  // the whole timeline: GET /v1/cases/{id}
      return c;
    }
    if (s.code() != StatusCode::kAborted) return s;
    if (expected_revision) {
      return Status(StatusCode::kAborted,
                    "case '" + std::string(id) + "' changed meanwhile; reload it and retry",
                    "expected_revision");
    }
  }
  return Status(StatusCode::kAborted,
                "case '" + std::string(id) + "' is changed by too many writers at once; retry");
}

Result<Json> CaseService::CollectFields(
    std::string_view id, const std::vector<std::pair<std::string, std::string>>& fields,
    bool from_customer, const Actor& actor, std::optional<int64_t> expected_revision) {
  ConfigPtr cfg = config();
  if (fields.empty()) return InvalidArgument("give at least one field", "fields");
  for (const auto& [name, value] : fields) {
    if (!cfg->FindField(name)) {
      return InvalidArgument("unknown field '" + name + "' (not in the cases configuration)",
                             "fields." + name);
    }
  }
  return Mutate(id, actor, expected_revision, [&](Json& c, store::WriteBatch&, Time now) {
    if (c.value("state", "") == "closed") {
      return FailedPrecondition("case '" + std::string(id) + "' is closed", "state");
    }
    for (const auto& [name, value] : fields) {
      Json& slot = c["fields"][name];
      bool known = slot.is_object();
      if (known && from_customer) {
        // The customer was asked for something the case already knew: the failure S3 is about.
        c["repeats"] = c.value("repeats", 0) + 1;
        c["repeated"].push_back(name);
        AddTimeline(c, now, actor, "field.asked_again",
                    {{"field", name},
                     {"first_collected_by", slot["collected_by"]},
                     {"first_team", slot["team"]},
                     {"first_collected_at", slot["collected_at"]}});
      }
      if (known && slot["value"] == value) continue;
      Json entry = {{"value", value},
                    {"collected_at", FormatTime(now)},
                    {"collected_by", ActorJson(actor)},
                    {"team", c.value("team", "")},
                    {"source", from_customer ? "customer" : "agent"}};
      if (known) {
        entry["previous"] = slot.value("previous", Json::array());
        Json old = slot;
        old.erase("previous");
        entry["previous"].push_back(std::move(old));
      }
      slot = std::move(entry);
      AddTimeline(c, now, actor, known ? "field.corrected" : "field.collected",
                  {{"field", name}, {"value", value}});
    }
    return OkStatus();
  });
}

Result<Json> CaseService::AddNote(std::string_view id, std::string_view text, const Actor& actor,
                                  std::optional<int64_t> expected_revision) {
  if (text.empty()) return InvalidArgument("a note needs text", "text");
  return Mutate(id, actor, expected_revision, [&](Json& c, store::WriteBatch&, Time now) {
    AddTimeline(c, now, actor, "note", {{"text", text}});
    return OkStatus();
  });
}

Result<Json> CaseService::RecordVerification(std::string_view id, std::string_view method,
                                             Duration valid_for, const Actor& actor,
                                             std::optional<int64_t> expected_revision) {
  if (method.empty()) return InvalidArgument("say how the identity was checked", "method");
  if (valid_for <= Duration(0)) return InvalidArgument("valid_for must be positive", "valid_for");
  return Mutate(id, actor, expected_revision, [&](Json& c, store::WriteBatch&, Time now) {
    if (VerificationValid(c, now)) {
      c["repeats"] = c.value("repeats", 0) + 1;
      c["repeated"].push_back("verification");
      AddTimeline(c, now, actor, "verification.asked_again",
                  {{"first_verified_by", c["verification"]["by"]},
                   {"valid_until", c["verification"]["valid_until"]}});
    }
    c["verification"] = {{"method", method},
                         {"verified_at", FormatTime(now)},
                         {"valid_until", FormatTime(now + valid_for)},
                         {"by", ActorJson(actor)},
                         {"team", c.value("team", "")}};
    AddTimeline(c, now, actor, "verified",
                {{"method", method}, {"valid_until", FormatTime(now + valid_for)}});
    return OkStatus();
  });
}

Result<Json> CaseService::AddMessage(std::string_view id, std::string_view direction,
                                     std::string_view channel, std::string_view text,
                                     const Actor& actor, std::optional<int64_t> expected_revision) {
  if (direction != "in" && direction != "out") {
    return InvalidArgument("direction must be 'in' or 'out'", "direction");
  }
  if (text.empty()) return InvalidArgument("a message needs text", "text");
  return Mutate(id, actor, expected_revision, [&](Json& c, store::WriteBatch& batch, Time now) {
    c["messages"] = c.value("messages", 0) + 1;
    AddTimeline(c, now, actor, direction == "out" ? "message.sent" : "message.received",
                {{"channel", channel.empty() ? c.value("channel", "") : std::string(channel)},
                 {"text", text}});
    if (direction == "out") MeetSla(c, "first_contact", now, batch);
    if (c.value("state", "") == "open") c["state"] = "in_progress";
    return OkStatus();
  });
}

Result<Json> CaseService::Handover(std::string_view id, std::string_view team_id,
                                   std::string_view reason, const Actor& actor,
                                   std::optional<int64_t> expected_revision) {
  ConfigPtr cfg = config();
  const Team* team = cfg->FindTeam(team_id);
  if (!team) return NotFound("no team '" + std::string(team_id) + "'", "team");
  if (reason.empty()) return InvalidArgument("say why the case is handed over", "reason");
  return Mutate(id, actor, expected_revision, [&](Json& c, store::WriteBatch&, Time now) {
    std::string from = c.value("team", "");
    if (from == team->id) {
      return FailedPrecondition(
          "case '" + std::string(id) + "' is already with team '" + from + "'", "team");
    }
    if (c.value("state", "") == "closed") {
      return FailedPrecondition("case '" + std::string(id) + "' is closed", "state");
    }
    Json kept = Json::array();
    for (const auto& [name, f] : c["fields"].items()) kept.push_back(name);
    AddTimeline(c, now, actor, "handover",
                {{"from", from},
                 {"to", team->id},
                 {"reason", reason},
                 {"kept_fields", kept},
                 {"verification_valid", VerificationValid(c, now)}});
    c["team"] = team->id;
    c["org"] = team->org;
    return OkStatus();
  });
}

Result<Json> CaseService::ChangeState(std::string_view id, std::string_view state,
                                      std::string_view reason, const Actor& actor,
                                      std::optional<int64_t> expected_revision) {
  if (std::find(States().begin(), States().end(), state) == States().end()) {
    return InvalidArgument("unknown state '" + std::string(state) +
                               "' (open, in_progress, waiting_for_customer, resolved, closed)",
                           "state");
  }
  return Mutate(id, actor, expected_revision, [&](Json& c, store::WriteBatch& batch, Time now) {
    std::string from = c.value("state", "");
    if (!TransitionAllowed(from, std::string(state))) {
      return FailedPrecondition(
          "case '" + std::string(id) + "' cannot go from " + from + " to " + std::string(state),
          "state");
    }
    c["state"] = state;
    AddTimeline(c, now, actor, "state", {{"from", from}, {"to", state}, {"reason", reason}});
    if (state == "resolved" || state == "closed") {
      MeetSla(c, "first_contact", now, batch);
      MeetSla(c, "resolution", now, batch);
    }
    return OkStatus();
  });
}

Result<Json> CaseService::SetPreference(std::string_view person, std::string_view name,
                                        std::string_view value, const Actor& actor,
                                        std::string_view case_id) {
  if (case_id.empty() && resolver_) {
    // Outside a case nothing else vouches for the subject: a preference for nobody is refused
    // (a case's subject may still be waiting for its record and is kept as it came).
    auto resolved = resolver_->ResolveSubject(person);
    if (resolved.status().code() == StatusCode::kNotFound) {
      return NotFound("no person '" + std::string(person) + "'", "id");
    }
    RETURN_IF_ERROR(resolved.status());
  }
  // Kept under the person the subject names, so that every form of it finds them.
  const std::string resolved_person = PersonOf(person);
  person = resolved_person;
  ConfigPtr cfg = config();
  const PreferenceSpec* spec = cfg->FindPreference(name);
  if (!spec) return InvalidArgument("unknown preference '" + std::string(name) + "'", "name");
  if (value.empty()) return InvalidArgument("a preference needs a value", "value");
  if (!spec->values.empty() &&
      std::find(spec->values.begin(), spec->values.end(), value) == spec->values.end()) {
    std::string list;
    for (const auto& v : spec->values) list += (list.empty() ? "" : ", ") + v;
    return InvalidArgument(
        "'" + std::string(value) + "' is not a value of " + std::string(name) + " (" + list + ")",
        "value");
  }
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    Time now = clock_.Now();
    store::WriteBatch batch;
    std::optional<Json> updated_case;
    int64_t case_revision = 0;
    if (!case_id.empty()) {
      ASSIGN_OR_RETURN(auto loaded, Load(case_id, actor));
      if (PersonOf(loaded.first.value("person", "")) != person) {
        return InvalidArgument(
            "case '" + std::string(case_id) + "' is not about person '" + std::string(person) + "'",
            "case");
      }
      updated_case = std::move(loaded.first);
      case_revision = loaded.second;
      AddTimeline(*updated_case, now, actor, "preference.set", {{"name", name}, {"value", value}});
      MoveTimelineToLog(*updated_case, batch, now);
      batch.puts.push_back(
          {{kCaseKind, std::string(case_id), updated_case->dump()}, case_revision});
    }
    ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kPreferenceKind, person));
    Json prefs = Json{{"person", person}, {"preferences", Json::object()}};
    if (doc) {
      ASSIGN_OR_RETURN(prefs, ParseJson(doc->body));
    }
    Json entry = {{"value", value}, {"set_by", ActorJson(actor)}, {"set_at", FormatTime(now)}};
    entry["case"] = case_id.empty() ? Json(nullptr) : Json(case_id);
    Json& slot = prefs["preferences"][std::string(name)];
    if (slot.is_object()) {
      entry["previous"] = slot.value("previous", Json::array());
      Json old = slot;
      old.erase("previous");
      entry["previous"].push_back(std::move(old));
    }
    slot = entry;
    batch.puts.push_back(
        {{kPreferenceKind, std::string(person), prefs.dump()}, doc ? doc->revision : 0});
    Status s = store_.Write(batch);
    if (s.ok()) return prefs;
    if (s.code() != StatusCode::kAborted) return s;
  }
  return Status(StatusCode::kAborted, "preferences of '" + std::string(person) +
                                          "' are changed by too many writers at once; retry");
}

Result<Json> CaseService::Preferences(std::string_view subject) {
  return PreferencesOf(PersonOf(subject));
}

Result<Json> CaseService::Annotation(std::string_view event_id) {
  ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kAnnotationKind, event_id));
  if (!doc) {
    return NotFound("event '" + std::string(event_id) + "' has no annotations", "id");
  }
  return ParseJson(doc->body);
}

namespace {

constexpr const char* kErased = "[erased]";

// What of a case (or a timeline entry) is kept after its person's erasure: whether it existed,
// how it was handled and by whom (staff), never a value or a text that came from or is about
// the person. Any key not named here is blanked, so a key added later is erased by default.
const std::set<std::string>& KeptCaseKeys() {
  static const std::set<std::string> k = {
      "id",        "person",     "type",      "priority",  "state",     "team",
      "org",       "channel",    "source",    "opened_at", "opened_by", "routing",
      "escalated", "repeats",    "repeated",  "messages",  "sla",       "journey",
      "action",    "occurrence", "case_rule", "erased"};
  return k;
}
const std::set<std::string>& KeptTimelineKeys() {
  static const std::set<std::string> k = {"at",
                                          "kind",
                                          "by",
                                          "team",
                                          "field",
                                          "from",
                                          "to",
                                          "kept_fields",
                                          "verification_valid",
                                          "valid_until",
                                          "routing",
                                          "channel",
                                          "name",
                                          "sla",
                                          "first_collected_by",
                                          "first_team",
                                          "first_collected_at",
                                          "first_verified_by",
                                          "journey",
                                          "action",
                                          "occurrence",
                                          "case_rule",
                                          "rule",
                                          "erased"};
  return k;
}

// Blanks what `kept` does not name; returns whether anything changed. A feedback
// classification keeps its topic and sentiment (categories the case is counted by).
bool Redact(Json& j, const std::set<std::string>& kept) {
  bool changed = false;
  for (auto& [key, value] : j.items()) {
    // The routing rule and team stay; its reason quotes what the customer said.
    if (key == "routing" && value.is_object() && value.contains("reason") &&
        value["reason"] != kErased) {
      value["reason"] = kErased;
      changed = true;
      continue;
    }
    if (kept.count(key) || value.is_null() || value == kErased) continue;
    if (key == "feedback" && value.is_object()) {
      Json f = {{"topic", value.value("topic", "")}, {"sentiment", value.value("sentiment", "")}};
      if (f != value) {
        value = std::move(f);
        changed = true;
      }
      continue;
    }
    if (key == "title" && value.is_string() && value.get<std::string>().empty()) continue;
    value = kErased;
    changed = true;
  }
  return changed;
}

// The case document as its person's erasure leaves it (see CaseService::ErasePerson).
void RedactCase(Json& c, std::string_view erasure_id) {
  std::set<std::string> kept = KeptCaseKeys();
  kept.insert({"fields", "verification", "attributes"});  // redacted one by one below
  Redact(c, kept);
  if (c.contains("fields") && c["fields"].is_object()) {
    Json fields = Json::object();
    for (const auto& [name, f] : c["fields"].items()) {
      Json kept = {{"value", kErased}};
      for (const char* k : {"collected_at", "collected_by", "team", "source"}) {
        if (f.is_object() && f.contains(k)) kept[k] = f[k];
      }
      fields[name] = std::move(kept);
    }
    c["fields"] = std::move(fields);
  }
  if (c.contains("verification") && c["verification"].is_object()) {
    c["verification"]["method"] = kErased;
  }
  if (c.contains("attributes") && c["attributes"].is_object()) {
    for (auto& [k, v] : c["attributes"].items()) v = kErased;
  }
  if (!c.contains("erased")) c["erased"] = {{"erasure", erasure_id}};
}

}  // namespace

Result<Json> CaseService::ErasePerson(
    const std::vector<std::string>& person_ids, const std::vector<std::string>& event_ids,
    std::string_view erasure_id, std::vector<std::pair<int64_t, std::string>>* timeline_bodies) {
  const std::set<std::string> ids(person_ids.begin(), person_ids.end());
  int64_t cases = 0, lines = 0, preferences = 0, annotations = 0;
  std::vector<std::string> theirs;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(auto docs, store_.ListDocuments(kCaseKind, "", after, 500));
    if (docs.empty()) break;
    after = docs.back().id;
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json c, ParseJson(d.body));
      // By the form it came in when there is one: not a case whose record a split or undo
      // moved to someone else (its subject is then no form of this person's). Not resolved
      // here: an erasure holds the profiles' lock.
      if (ids.count(NamedIn(c))) theirs.push_back(d.id);
    }
  }
  for (const auto& id : theirs) {
    // Revision-checked like every change of a case: an agent's concurrent change is not
    // written over (and not left with the person's data), it is redacted on the next attempt.
    for (int attempt = 0;; ++attempt) {
      ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kCaseKind, id));
      if (!doc) break;
      ASSIGN_OR_RETURN(Json c, ParseJson(doc->body));
      const Json before = c;
      RedactCase(c, erasure_id);
      if (c == before) break;  // erased before
      store::WriteBatch batch;
      batch.puts.push_back({{kCaseKind, id, c.dump()}, doc->revision});
      Status s = Commit(std::move(batch));
      if (s.ok()) break;
      if (s.code() != StatusCode::kAborted || attempt + 1 >= kMaxAttempts) return s;
    }
    ++cases;
    int64_t seq = 0;
    while (true) {
      ASSIGN_OR_RETURN(auto log, store_.ReadLog(kTimelineStream, id, seq, 1000));
      for (const auto& l : log) {
        seq = l.seq;
        ASSIGN_OR_RETURN(Json entry, ParseJson(l.body));
        if (!entry.is_object() || !Redact(entry, KeptTimelineKeys())) continue;
        timeline_bodies->emplace_back(l.seq, entry.dump());
        ++lines;
      }
      if (log.size() < 1000) break;
    }
  }
  store::WriteBatch forget;
  for (const auto& person : person_ids) {
    ASSIGN_OR_RETURN(auto prefs, store_.GetDocument(kPreferenceKind, person));
    if (!prefs) continue;
    forget.deletes.emplace_back(kPreferenceKind, person);
    ++preferences;
  }
  for (const auto& event : event_ids) {
    ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kAnnotationKind, event));
    if (!doc) continue;
    ASSIGN_OR_RETURN(Json a, ParseJson(doc->body));
    if (!ids.count(a.value("subject", "")) && !ids.count(a.value("person", ""))) continue;
    forget.deletes.emplace_back(kAnnotationKind, event);
    ++annotations;
  }
  RETURN_IF_ERROR(store_.Write(forget));
  return Json{{"cases", cases},
              {"timeline_lines", lines},
              {"preferences", preferences},
              {"annotations", annotations}};
}

Status CaseService::HandleEvent(const ConfigPtr& cfg, const Event& e, store::WriteBatch& batch) {
  // Feedback: a rating and/or free text; negative feedback opens a case.
  bool feedback = std::any_of(cfg->feedback.event_types.begin(), cfg->feedback.event_types.end(),
                              [&](const std::string& p) { return EventTypeMatches(p, e.type); });
  if (feedback && !e.subject.empty()) {
    // The keys read are the configuration's; an event they cannot read is kept with the
    // reason (and counted once committed, see CatchUp) instead of silently opening nothing.
    FeedbackReading reading = ReadFeedback(cfg->feedback, e.payload);
    if (!reading.problem.empty()) {
      Json why = {{"event", e.id},
                  {"type", e.type},
                  {"problem", reading.problem},
                  {"error", reading.problem_detail}};
      batch.puts.push_back({{kEventErrorKind, e.id, why.dump()}, -1});
    }
    const std::string& text = reading.text;
    const std::optional<int>& rating = reading.rating;
    FeedbackClass cls = ClassifyFeedback(cfg->feedback, text, rating);
    if (cls.sentiment == "negative") {
      OpenCaseRequest r;
      r.person = e.subject;
      r.type = cfg->feedback.case_type;
      r.priority = "normal";
      if (rating) {
        auto it = cfg->feedback.priority_by_rating.find(*rating);
        if (it != cfg->feedback.priority_by_rating.end()) r.priority = it->second;
      }
      r.title = "Feedback" +
                (rating ? " " + std::to_string(*rating) + "/" + std::to_string(cfg->feedback.scale)
                        : std::string()) +
                ": " + cls.topic;
      r.text = text;
      r.channel = "feedback";
      r.in_contact = false;
      r.event_type = e.type;
      r.source_event = e.id;
      r.source = "event";
      r.attributes = {{"topic", cls.topic}, {"sentiment", cls.sentiment}};
      // The classification is part of what the receiving team sees first.
      r.extra = {{"feedback", cls.ToJson()}};
      for (const auto& [k, v] : e.keys) {
        if (cfg->FindField(k)) r.fields.emplace_back(k, v);
      }
      Json c;
      Actor system{"system", "system", "", "feedback rules"};
      Status s = OpenInto(cfg, r, system, clock_.Now(), batch, &c);
      if (!s.ok()) {
        // One bad event must not stop every later one: it is kept with its reason instead.
        Json why = {{"event", e.id}, {"type", e.type}, {"error", s.ToString()}};
        batch.puts.push_back({{kEventErrorKind, e.id, why.dump()}, -1});
      }
    }
  }
  // Case rules: an event that asks for a case (a journey's escalation, an overdue return).
  auto rule = std::find_if(cfg->case_rules.begin(), cfg->case_rules.end(), [&](const CaseRule& r) {
    return std::any_of(r.event_types.begin(), r.event_types.end(),
                       [&](const std::string& p) { return EventTypeMatches(p, e.type); });
  });
  if (rule != cfg->case_rules.end() && !e.subject.empty()) {
    const Json& p = e.payload;
    auto text_of = [&](const char* key) {
      return p.is_object() && p.contains(key) && p[key].is_string() ? p[key].get<std::string>()
                                                                    : std::string();
    };
    OpenCaseRequest r;
    r.person = e.subject;
    r.type = rule->type;
    r.priority = rule->priority;
    r.title = text_of("title").empty() ? e.type : text_of("title");
    r.text = text_of("text");
    r.channel = "event";
    r.in_contact = false;
    r.event_type = e.type;
    r.source_event = e.id;
    r.source = e.type.rfind("journey.", 0) == 0 || (p.is_object() && p.contains("journey"))
                   ? "journey"
                   : "event";
    for (const auto& [k, v] : e.keys) {
      if (cfg->FindField(k)) r.fields.emplace_back(k, v);
    }
    r.extra = {{"case_rule", rule->id}};
    Json c;
    Actor system{"system", "system", "", "case rule " + rule->id};
    Status s = OpenInto(cfg, r, system, clock_.Now(), batch, &c);
    if (!s.ok()) {
      Json why = {{"event", e.id}, {"type", e.type}, {"error", s.ToString()}};
      batch.puts.push_back({{kEventErrorKind, e.id, why.dump()}, -1});
    }
  }
  ASSIGN_OR_RETURN(auto annotation, AnnotationOf(cfg, e));
  if (annotation) batch.puts.push_back({{kAnnotationKind, e.id, annotation->dump()}, -1});
  return OkStatus();
}

// Orders (and whatever else a preference applies to) carry the preferences of their customer
// that were set before the event arrived.
Result<std::optional<Json>> CaseService::AnnotationOf(const ConfigPtr& cfg, const Event& e) {
  if (e.subject.empty()) return std::optional<Json>();
  bool applies = false;
  for (const auto& p : cfg->preferences) {
    for (const auto& pattern : p.applies_to) applies = applies || EventTypeMatches(pattern, e.type);
  }
  if (!applies) return std::optional<Json>();
  // The preferences of the person the order names, whichever of its keys the order uses.
  const std::string person = PersonOf(e.subject);
  ASSIGN_OR_RETURN(Json prefs, PreferencesOf(person));
  Json apply = Json::object();
  for (const auto& [name, entry] : prefs["preferences"].items()) {
    const PreferenceSpec* spec = cfg->FindPreference(name);
    if (!spec) continue;
    bool match = std::any_of(spec->applies_to.begin(), spec->applies_to.end(),
                             [&](const std::string& p) { return EventTypeMatches(p, e.type); });
    auto set_at = ParseTime(entry.value("set_at", ""));
    if (!match || !set_at.ok() || *set_at > e.received_at) continue;
    Json a = entry;
    a.erase("previous");
    apply[name] = std::move(a);
  }
  if (apply.empty()) return std::optional<Json>();
  return std::optional<Json>(Json{{"event", e.id},
                                  {"type", e.type},
                                  {"subject", e.subject},
                                  {"person", person},
                                  {"annotated_at", FormatTime(clock_.Now())},
                                  {"preferences", apply}});
}

Status CaseService::AnnotateOutboxAction(Json& action) {
  if (!action.is_object() || !action.contains("reasons") || !action["reasons"].is_array()) {
    return OkStatus();
  }
  ConfigPtr cfg = config();
  Json values = Json::object(), provenance = Json::object();
  for (const Json& reason : action["reasons"]) {
    if (!reason.is_object() || !reason.value("held", false)) continue;
    std::string event_id = reason.value("event_id", "");
    if (event_id.empty()) continue;
    ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kAnnotationKind, event_id));
    std::optional<Json> annotation;
    if (doc) {
      ASSIGN_OR_RETURN(annotation, ParseJson(doc->body));
    } else {
      // No annotation: either none applied when the case worker looked at the event, or the
      // worker has not looked yet. Only then is it annotated now, once (revision 0), so that
      // the annotation and every payload that carries it agree; a preference set after the
      // worker passed the event must not reach back to it.
      auto event = store_.GetEvent(event_id);
      if (event.status().code() == StatusCode::kNotFound) continue;
      ASSIGN_OR_RETURN(Event e, std::move(event));
      ASSIGN_OR_RETURN(auto cursor_doc, store_.GetDocument(kCursorKind, kCursorId));
      if (cursor_doc) {
        ASSIGN_OR_RETURN(Json cursor, ParseJson(cursor_doc->body));
        if (e.seq <= cursor.value("after", int64_t{0})) continue;
      }
      ASSIGN_OR_RETURN(annotation, AnnotationOf(cfg, e));
      if (!annotation) continue;
      store::WriteBatch batch;
      batch.puts.push_back({{kAnnotationKind, event_id, annotation->dump()}, 0});
      Status written = store_.Write(batch);
      if (written.code() == StatusCode::kAborted) {
        ASSIGN_OR_RETURN(auto now_doc, store_.GetDocument(kAnnotationKind, event_id));
        if (now_doc) {
          ASSIGN_OR_RETURN(annotation, ParseJson(now_doc->body));
        }
      } else {
        RETURN_IF_ERROR(written);
      }
    }
    if (!annotation) continue;
    for (const auto& [name, entry] : (*annotation)["preferences"].items()) {
      values[name] = entry.value("value", "");
      Json from = entry;
      from["event"] = event_id;
      provenance[name] = std::move(from);
    }
  }
  if (values.empty()) return OkStatus();
  action["preferences"] = std::move(values);
  action["preferences_provenance"] = std::move(provenance);
  return OkStatus();
}

Result<FeedbackFieldTally> CaseService::CheckFeedbackFields(const CasesConfig& cfg,
                                                            int64_t max_events) {
  FeedbackFieldTally tally(cfg.feedback);
  // An exact type is read through the log's type filter; a pattern ("rating.*") reads all.
  std::vector<std::string> queries;
  for (const auto& type : cfg.feedback.event_types) {
    if (type.find('*') != std::string::npos) {
      queries = {""};
      break;
    }
    queries.push_back(type);
  }
  for (const auto& type : queries) {
    int64_t after = 0;
    int64_t seen = 0;
    do {
      ASSIGN_OR_RETURN(auto page,
                       store_.ListEvents({.type = type, .after = after, .limit = kEventChunk}));
      for (const auto& e : page.events) tally.Add(e.type, e.id, e.payload);
      seen += static_cast<int64_t>(page.events.size());
      after = page.next_after;
    } while (after != 0 && seen < max_events);
  }
  return tally;
}

Result<size_t> CaseService::CatchUp() {
  std::lock_guard<std::mutex> lock(process_mu_);
  size_t seen = 0;
  ConfigPtr cfg = config();
  while (true) {
    ASSIGN_OR_RETURN(auto cursor_doc, store_.GetDocument(kCursorKind, kCursorId));
    int64_t after = 0;
    if (cursor_doc) {
      ASSIGN_OR_RETURN(Json j, ParseJson(cursor_doc->body));
      after = j.value("after", int64_t{0});
    }
    ASSIGN_OR_RETURN(auto page, store_.ListEvents({.after = after, .limit = kEventChunk}));
    if (page.events.empty()) return seen;
    store::WriteBatch batch;
    for (const auto& e : page.events) RETURN_IF_ERROR(HandleEvent(cfg, e, batch));
    // The cursor moves in the same write as the cases it opened: a crash repeats nothing.
    batch.puts.push_back({{kCursorKind, kCursorId, Json{{"after", page.events.back().seq}}.dump()},
                          cursor_doc ? cursor_doc->revision : 0});
    Status s = store_.Write(batch);
    if (s.code() == StatusCode::kAborted) continue;  // another server moved on; look again
    RETURN_IF_ERROR(s);
    for (const auto& put : batch.puts) {
      if (put.doc.kind == kEventErrorKind) CountEventError(put.doc.body);
      if (put.doc.kind != kCaseKind || put.expected_revision != 0) continue;
      if (auto opened = ParseJson(put.doc.body); opened.ok()) CountChange(nullptr, *opened);
    }
    seen += page.events.size();
    if (static_cast<int>(page.events.size()) < kEventChunk) return seen;
  }
}

Status CaseService::FireTimer(const store::QueueItem& item, Time now) {
  ASSIGN_OR_RETURN(Json t, ParseJson(item.body));
  std::string case_id = t.value("case", ""), sla = t.value("sla", ""), kind = t.value("kind", "");
  ConfigPtr cfg = config();
  Actor system{"system", "system", "", "sla"};
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    ASSIGN_OR_RETURN(auto doc, store_.GetDocument(kCaseKind, case_id));
    store::WriteBatch batch;
    batch.dequeue.emplace_back(kSlaQueue, item.id);
    if (!doc) return store_.Write(batch);
    ASSIGN_OR_RETURN(Json c, ParseJson(doc->body));
    c["timeline"] = Json::array();
    const Json before = c;
    bool changed = false;
    Json* s = nullptr;
    for (auto& x : c["sla"])
      if (x.value("name", "") == sla) s = &x;
    if (s && (*s)["met_at"].is_null() && (*s)["breached_at"].is_null()) {
      if (kind == "warn" && (*s)["warned_at"].is_null()) {
        (*s)["warned_at"] = FormatTime(now);
        AddTimeline(c, now, system, "sla.warning", {{"sla", sla}, {"due", (*s)["due"]}});
      } else if (kind == "breach") {
        (*s)["breached_at"] = FormatTime(now);
        AddTimeline(c, now, system, "sla.breached", {{"sla", sla}, {"due", (*s)["due"]}});
        // Escalation: a higher priority, the escalation team, and an event journeys can use.
        std::string from_team = c.value("team", "");
        std::string to_team = s->value("escalate_to", "");
        c["escalated"] = true;
        std::string old_priority = c.value("priority", "");
        c["priority"] = NextPriority(*cfg, old_priority);
        Json detail = {{"sla", sla},
                       {"from_team", from_team},
                       {"priority", {{"from", old_priority}, {"to", c["priority"]}}}};
        if (!to_team.empty() && to_team != from_team && cfg->FindTeam(to_team)) {
          c["team"] = to_team;
          c["org"] = cfg->FindTeam(to_team)->org;
          detail["to_team"] = to_team;
        }
        AddTimeline(c, now, system, "escalated", detail);
        Event ev;
        ev.id = "case-sla-breach/" + case_id + "/" + sla;
        ev.type = "case.sla_breached";
        ev.subject = c.value("person", "");
        ev.keys = {{"case_id", case_id}};
        ev.occurred_at = now;
        ev.received_at = now;
        ev.payload = {{"case", case_id},
                      {"sla", sla},
                      {"due", (*s)["due"]},
                      {"team", c["team"]},
                      {"priority", c["priority"]}};
        RETURN_IF_ERROR(store_.AppendEvents({ev}).status());  // idempotent by id
      }
      MoveTimelineToLog(c, batch, now);
      batch.puts.push_back({{kCaseKind, case_id, c.dump()}, doc->revision});
      changed = true;
    }
    Status w = store_.Write(batch);
    if (w.code() == StatusCode::kAborted) continue;
    if (w.ok() && changed) CountChange(&before, c);
    return w;
  }
  return Status(StatusCode::kAborted, "case '" + case_id + "' too busy to decide its SLA timer");
}

Result<size_t> CaseService::RunDue() {
  RETURN_IF_ERROR(CatchUp().status());
  if (metrics_) {
    bool stale = false;
    {
      std::lock_guard<std::mutex> lock(metrics_mu_);
      stale = !last_recount_ || clock_.Now() - *last_recount_ >= std::chrono::minutes(10);
    }
    if (stale) RETURN_IF_ERROR(RecountOpenCases());
  }
  std::lock_guard<std::mutex> lock(process_mu_);
  size_t fired = 0;
  while (true) {
    Time now = clock_.Now();
    // A lease, so that of several servers only one decides a timer; a crash returns it.
    ASSIGN_OR_RETURN(auto items,
                     store_.ClaimDue(kSlaQueue, now, now + std::chrono::minutes(1), 200, ""));
    if (items.empty()) return fired;
    for (const auto& item : items) {
      RETURN_IF_ERROR(FireTimer(item, now));
      ++fired;
    }
  }
}

Result<std::optional<Time>> CaseService::NextDue() { return store_.NextDue(kSlaQueue); }

}  // namespace rapport::cases
