// Cases: one customer concern, worked by teams, with everything collected kept on the case so
// that nobody asks twice. The service keeps cases as store documents, routes new cases, runs
// SLA timers on the injectable clock and business calendar, turns negative feedback events
// into cases, and keeps durable customer preferences that annotate later order events.
//
// Invariants (each has a test in case_service_test.cc or tests/cases_http_test.cc):
//  1. A handover changes the team and nothing that was collected: every field and the
//     verification stay on the case; both routing and handover are on the timeline with reason.
//  2. Asking the customer for a field already on the case (or to verify again while the
//     verification is valid) increments `repeats`; collecting new fields never does.
//  3. Every change is one revision-checked write: concurrent updates of one case are retried
//     on the new revision (or refused with kAborted when the caller named a revision), so no
//     update is lost.
//  4. An SLA is met, warned or breached exactly once: its timers are enqueued with the case
//     and dequeued in the same write that decides them.
//  5. An order event is annotated with the preferences set before it was received.
//
// Stored layout:
//   document case/<case_id>                the case (state, fields, verification, sla)
//   log      case-timeline key <case_id>   its timeline, one line per entry (append-only)
//   document case-preference/<person>      {"preferences":{name:{value,set_by,set_at,case}}}
//   document case-annotation/<event_id>    {"event","subject","preferences":{...}}
//   document case-cursor/events            {"after"}: last event seq looked at
//   document case-event-error/<event_id>   an event that could not open its case, and why
//   document case-origin/<idempotency_key> {"case"}: the case an idempotent open created
//   queue    case-sla  id <case>/<sla>/<warn|breach>   {"case","sla","kind"}
//   setting  cases.config                  {"file","text"}: the YAML in force
//
// Thread-safety: every public method is safe to call concurrently.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cases/config.h"
#include "cases/rules.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/metrics.h"
#include "profiles/subjects.h"
#include "store/store.h"

namespace rapport::cases {

inline constexpr const char* kConfigSetting = "cases.config";

// Who does something. Partners (role "partner") see only cases of their own organisation.
struct Actor {
  std::string id;    // token id, or "system"
  std::string role;  // admin, agent, analyst, partner, system
  std::string org;   // partner organisation; "" for staff
  std::string name;
  // Called once before a change of a case is written, with the case as the change leaves it,
  // after the change's own checks (revision, fields, state): an error refuses the change. The
  // API puts a partner's change through the privacy ledger's disclosure gate here, so that a
  // refused change is not made and a change its own checks refuse is not recorded as a
  // hand-over.
  std::function<Status(const Json& c)> before_write;
  bool is_partner() const { return role == "partner"; }
};

struct OpenCaseRequest {
  std::string person;  // required
  std::string type = "inquiry";
  std::string priority = "normal";
  std::string title;
  std::string text;  // what the customer said; routes the case
  std::string team;  // explicit team: no routing
  std::string channel = "phone";
  // True when the case is opened while talking to the customer (a call): first contact is made.
  bool in_contact = true;
  std::string event_type;
  std::string source_event;
  std::string source = "agent";  // agent, event, journey
  std::map<std::string, std::string> attributes;
  std::vector<std::pair<std::string, std::string>> fields;
  // More facts kept on the case and its first timeline entry (e.g. the feedback classification).
  Json extra = Json::object();
  // Opening twice with the same key opens one case: the second call returns the first case
  // (a journey's outbox retries after a crash). Empty: every call opens a new case.
  std::string idempotency_key;
};

struct CaseFilter {
  std::string team, state, person, type;
  int limit = 100;
};

class CaseService {
 public:
  // `metrics` (optional) gets the case counters and the open-cases gauge (see CountChange).
  CaseService(store::Store& store, const Clock& clock, IdSource& ids,
              MetricsRegistry* metrics = nullptr);

  // Loads the configuration kept in the store (or the default one).
  Status Start();
  // Validates `yaml`, keeps it in the store and uses it from now on. Errors name file:line.
  Result<ConfigPtr> SetConfig(std::string_view yaml, std::string_view file);
  ConfigPtr config() const;
  // Which payload keys the log's feedback events carry, read with `cfg`'s feedback rules
  // (FeedbackFieldTally): at most `max_events` events per configured event type, the first.
  Result<FeedbackFieldTally> CheckFeedbackFields(const CasesConfig& cfg,
                                                 int64_t max_events = 100000);

  // With request.idempotency_key, a repeated open returns the case of the first one.
  // The case's `person` is the person its subject resolves to (SetSubjectResolver), `subject`
  // the form it came in when that differs; a subject that resolves to nobody is kept as it
  // came (journey and event opens), except in an agent's open (source "agent": the API, agents
  // and partners), which is refused (kInvalidArgument naming "person"), nothing stored.
  Result<Json> Open(const OpenCaseRequest& request, const Actor& actor);
  // The checks Open makes before it writes anything (person, fields, team, priority, a
  // partner's own organisation), without writing: so that a caller decides something else in
  // between (the disclosure check of a partner's open) only for a request that would be opened.
  Status CheckOpen(const OpenCaseRequest& request, const Actor& actor) const;
  // Who a subject names (App: the ProfileService; not owned). Cases, preferences, the list's
  // person filter and annotations key by the person it resolves to. Unset (unit tests): a
  // subject is its own person. Called while wiring, before the service is used from several
  // threads.
  void SetSubjectResolver(profiles::SubjectResolver* resolver);
  // Opens the case of a journey's open_case outbox action (journey/instance.h,
  // OutboxActionToJson): {"idempotency_key","journey","instance_key","action","subject",
  // "case":{"type","team"?,"priority"?,"title"?,"keys":{...}},"params":{...}}. The subject is
  // the person; the params become fields (an unknown one is kInvalidArgument), and so do the
  // keys that are configured fields (order_id). Idempotent by the action's idempotency_key.
  Result<Json> OpenFromJourney(const Json& action);
  // kNotFound for an unknown case, and for a partner's request for another org's case.
  Result<Json> Get(std::string_view id, const Actor& actor);
  // The receiving agent's view: what is known (do not ask), what the team still needs,
  // whether the verification is still valid.
  Result<Json> View(std::string_view id, const Actor& actor);
  Result<Json> List(const CaseFilter& filter, const Actor& actor);
  // True when a case of organisation `org` (open or not) is about one of `person_ids` (a
  // person's id and the ids merged into it): the relationship through which a partner reads
  // the person itself (privacy::Ledger::PartnerReadPerson). A scan of the cases.
  Result<bool> OrgHasCaseAbout(const std::vector<std::string>& person_ids, std::string_view org);

  // Mutations. `expected_revision`: the revision the caller saw; kAborted if the case has
  // moved on. Without it the change is applied to the newest revision (retried on conflict).
  // `from_customer`: the agent asked the customer for these fields (a known one is a repeat).
  Result<Json> CollectFields(std::string_view id,
                             const std::vector<std::pair<std::string, std::string>>& fields,
                             bool from_customer, const Actor& actor,
                             std::optional<int64_t> expected_revision);
  Result<Json> AddNote(std::string_view id, std::string_view text, const Actor& actor,
                       std::optional<int64_t> expected_revision);
  Result<Json> RecordVerification(std::string_view id, std::string_view method, Duration valid_for,
                                  const Actor& actor, std::optional<int64_t> expected_revision);
  // direction "in" (from the customer) or "out" (to the customer: the first is first contact).
  Result<Json> AddMessage(std::string_view id, std::string_view direction, std::string_view channel,
                          std::string_view text, const Actor& actor,
                          std::optional<int64_t> expected_revision);
  Result<Json> Handover(std::string_view id, std::string_view team, std::string_view reason,
                        const Actor& actor, std::optional<int64_t> expected_revision);
  Result<Json> ChangeState(std::string_view id, std::string_view state, std::string_view reason,
                           const Actor& actor, std::optional<int64_t> expected_revision);

  // Durable preferences with provenance; `case_id` may be empty (set outside a case).
  Result<Json> SetPreference(std::string_view person, std::string_view name, std::string_view value,
                             const Actor& actor, std::string_view case_id);
  Result<Json> Preferences(std::string_view person);
  // The preferences an event was annotated with; kNotFound if it has none.
  Result<Json> Annotation(std::string_view event_id);

  // Puts the preferences annotated on the events an outbox action was decided on (its held
  // reasons' event ids, e.g. the order) into the action: "preferences" {name: value}, the
  // template context of a message or the body of a webhook, and "preferences_provenance"
  // {name: {value, set_by, set_at, case, event}}. An event the case worker has not annotated
  // yet is annotated now, so a fast journey does not outrun its preferences.
  Status AnnotateOutboxAction(Json& action);

  // Erasure (GDPR Art. 17) of the person known by `person_ids` (every subject naming it:
  // SubjectResolver::SubjectsOf, so cases and preferences kept before it resolved go too). Each of
  // its cases keeps what shows that it existed and how it was handled: id, person id (a reference
  // only, the person is gone), type, priority, state, team, channel, source, dates, routing, SLAs,
  // counts, field names and who collected them, and of its timeline the kinds, times, actors, teams
  // and states. Every value and free text becomes
  // "[erased]": field values (and earlier ones), title, attributes, the verification method,
  // the feedback's words and rating, and in the timeline what the customer said, notes,
  // messages, reasons. The person's preferences and the annotations of `event_ids` are
  // deleted. Case documents are written here; the changed timeline lines, which only
  // Store::Erase may rewrite, are appended to `timeline_bodies` as (seq, new body). Running it
  // again changes nothing more. Returns {"cases","timeline_lines","preferences","annotations"}.
  Result<Json> ErasePerson(const std::vector<std::string>& person_ids,
                           const std::vector<std::string>& event_ids, std::string_view erasure_id,
                           std::vector<std::pair<int64_t, std::string>>* timeline_bodies);

  // Looks at new events of the log: feedback → cases, orders → annotations. Returns how many.
  Result<size_t> CatchUp();
  // CatchUp, then decides every SLA timer due now (warning, breach with escalation).
  Result<size_t> RunDue();
  Result<std::optional<Time>> NextDue();

 private:
  using Mutation = std::function<Status(Json& c, store::WriteBatch& batch, Time now)>;
  Result<Json> Mutate(std::string_view id, const Actor& actor,
                      std::optional<int64_t> expected_revision, const Mutation& fn);
  // The case document (without its timeline) and revision; kNotFound as for Get.
  Result<std::pair<Json, int64_t>> Load(std::string_view id, const Actor& actor);
  Result<Json> ReadTimeline(std::string_view id);
  Status OpenInto(const ConfigPtr& cfg, const OpenCaseRequest& request, const Actor& actor,
                  Time now, store::WriteBatch& batch, Json* out);
  Status HandleEvent(const ConfigPtr& cfg, const Event& e, store::WriteBatch& batch);
  // The annotation of an order-like event: the preferences of its subject set before it was
  // received; nullopt if none apply.
  Result<std::optional<Json>> AnnotationOf(const ConfigPtr& cfg, const Event& e);
  Status FireTimer(const store::QueueItem& item, Time now);
  // Metrics of a committed change of one case (`before` null: opened): cases opened by source,
  // handovers, repeats, SLA warnings and breaches, and the open cases per team.
  void CountChange(const Json* before, const Json& after);
  // Counts the open cases per team from the store (at Start and every 10 minutes in RunDue, so
  // that changes by other servers are absorbed) and publishes the gauge.
  Status RecountOpenCases();
  void PublishOpenCases();  // metrics_mu_ held
  // rapport_cases_event_errors_total{problem} for a committed case-event-error body.
  void CountEventError(const std::string& body);
  // Group commit: concurrent writes of different cases share one transaction (one fsync);
  // if the shared write fails (a revision conflict), each is written alone for its own answer.
  struct PendingWrite;
  Status Commit(store::WriteBatch batch);
  void CommitGroup(std::vector<PendingWrite*>& group);

  store::Store& store_;
  const Clock& clock_;
  IdSource& ids_;
  MetricsRegistry* metrics_;
  profiles::SubjectResolver* resolver_ = nullptr;
  Status CheckPerson(const OpenCaseRequest& request) const;
  // The person id `subject` resolves to; the subject itself when it resolves to nobody (kept
  // as it came, so that it resolves when read again after its record arrived).
  std::string PersonOf(std::string_view subject) const;
  // Whom a stored case is about now: the subject it came with resolved again (a split or an
  // undone merge moves the record it names, and the case with it), else its person.
  std::string PersonNow(const Json& stored_case) const;
  // Every subject `person` is named by (SubjectResolver::SubjectsOf), the person first; just
  // `person` without a resolver or when it names nobody.
  std::vector<std::string> SubjectsOf(const std::string& person) const;
  // The preferences kept under any of `person`'s subjects — set before a merge under the id
  // merged away, or before its record arrived under the subject as it came — the latest
  // setting of each winning. {"person": person, "preferences": {…}}.
  Result<Json> PreferencesOf(const std::string& person);
  std::mutex metrics_mu_;
  std::map<std::string, int64_t> open_by_team_;  // guarded by metrics_mu_
  std::optional<Time> last_recount_;             // guarded by metrics_mu_
  mutable std::mutex config_mu_;
  ConfigPtr config_;
  std::mutex process_mu_;  // one CatchUp/RunDue at a time
  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  std::deque<PendingWrite*> commit_queue_;  // guarded by commit_mu_
  bool committing_ = false;                 // guarded by commit_mu_
};

}  // namespace rapport::cases
