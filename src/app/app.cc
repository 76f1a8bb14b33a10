#include "app/app.h"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace rapport::app {

namespace {
constexpr const char* kManualClockSetting = "clock.manual_now";

Result<std::unique_ptr<store::Store>> OpenStore(const Config& config) {
  if (config.db.rfind("postgres://", 0) == 0 || config.db.rfind("postgresql://", 0) == 0) {
    return store::OpenPostgresStore({.url = config.db});
  }
  return store::OpenSqliteStore({.path = config.db, .sync_every_commit = config.sync_every_commit});
}
}  // namespace

App::~App() {
  StopWorker();
  // The audit log's destructor commits queued reads too, but cannot say why it failed.
  if (audit_) {
    if (Status s = audit_->Flush(); !s.ok()) {
      spdlog::error("audit log: queued read entries could not be committed at shutdown: {}",
                    s.ToString());
    }
  }
}

Status App::ProcessNow() {
  auto once = [&]() -> Status {
    RETURN_IF_ERROR(journeys_->RunDue().status());            // catches up on events first
    RETURN_IF_ERROR(privacy_->ScanInboundMail().status());    // leak findings from new mail
    RETURN_IF_ERROR(privacy_->RunRetentionIfDue().status());  // once a day by the clock
    RETURN_IF_ERROR(cases_->RunDue().status());               // feedback, annotations, SLA timers
    return outbox_->DeliverDue().status();
  };
  // kAborted: another server (or this one's worker) wrote the same documents first; what it did
  // is done, and looking again does the rest (a clock move answered 409 under load otherwise).
  for (int attempt = 0;; ++attempt) {
    Status s = once();
    if (s.code() != StatusCode::kAborted || attempt == 4) return s;
  }
}

void App::RunWorkerLoop(Worker worker, const char* name, std::function<Status()> work,
                        std::function<Result<std::optional<Time>>()> next_due) {
  std::unique_lock<std::mutex> lock(worker_mu_);
  while (!worker_stop_) {
    uint64_t seen = pokes_[worker];
    lock.unlock();
    Status s;
    try {
      s = work();
    } catch (const std::exception& e) {
      // A bug must not take the server down; the work is retried on the next round.
      s = Internal(std::string("unexpected exception: ") + e.what(), name);
    }
    if (!s.ok()) spdlog::warn("{}: {}", name, s.ToString());
    std::chrono::microseconds wait = std::chrono::seconds(1);
    if (auto next = next_due(); s.ok() && next.ok() && next->has_value()) {
      auto until = std::chrono::duration_cast<std::chrono::microseconds>(**next - clock_->Now());
      wait = std::clamp(until, std::chrono::microseconds(0), wait);
    }
    lock.lock();
    worker_cv_.wait_for(lock, wait, [&] { return worker_stop_ || pokes_[worker] != seen; });
  }
}

void App::StartWorker() {
  // What this server claimed before a crash is due again now, not after the lease; a failure
  // here only delays those actions to the end of their lease.
  if (auto reclaimed = outbox_->ReclaimOwn(); !reclaimed.ok()) {
    spdlog::warn("outbox: own claims of an earlier run not taken back: {}",
                 reclaimed.status().ToString());
  } else if (*reclaimed > 0) {
    spdlog::info("outbox: took back {} actions claimed before a restart", *reclaimed);
  }
  workers_.emplace_back([this] {
    // The heartbeat runs on the system clock's pace whatever the business clock does: the
    // lease it extends is counted from the business clock's now.
    const auto period = std::chrono::duration_cast<std::chrono::milliseconds>(outbox_->lease()) / 4;
    std::unique_lock<std::mutex> lock(worker_mu_);
    while (!worker_stop_) {
      lock.unlock();
      if (auto renewed = outbox_->RenewClaims(); !renewed.ok()) {
        spdlog::warn("outbox heartbeat: {}", renewed.status().ToString());
      }
      lock.lock();
      worker_cv_.wait_for(lock, period, [&] { return worker_stop_; });
    }
  });
  workers_.emplace_back([this] {
    RunWorkerLoop(
        kJourneyWorker, "journeys",
        [this]() -> Status {
          Status s = journeys_->RunDue().status();
          if (Status p = privacy_->ScanInboundMail().status(); !p.ok() && s.ok()) s = p;
          if (Status r = privacy_->RunRetentionIfDue().status(); !r.ok() && s.ok()) s = r;
          // Cases read the same event log and keep their SLA timers beside the journeys'.
          if (Status c = cases_->RunDue().status(); !c.ok() && s.ok()) s = c;
          // New actions are due at once: wake the delivery thread.
          auto next = outbox_->NextDue();
          if (next.ok() && next->has_value() && **next <= clock_->Now()) {
            std::lock_guard<std::mutex> lock(worker_mu_);
            ++pokes_[kOutboxWorker];
            worker_cv_.notify_all();
          }
          return s;
        },
        [this]() -> Result<std::optional<Time>> {
          ASSIGN_OR_RETURN(auto journeys, journeys_->NextDue());
          ASSIGN_OR_RETURN(auto cases, cases_->NextDue());
          if (!journeys || (cases && *cases < *journeys)) return cases;
          return journeys;
        });
  });
  workers_.emplace_back([this] {
    RunWorkerLoop(
        kOutboxWorker, "outbox", [this] { return outbox_->DeliverDue().status(); },
        [this] { return outbox_->NextDue(); });
  });
}

void App::StopWorker() {
  {
    std::lock_guard<std::mutex> lock(worker_mu_);
    worker_stop_ = true;
  }
  worker_cv_.notify_all();
  for (auto& w : workers_) w.join();
  workers_.clear();
}

void App::Poke() {
  {
    std::lock_guard<std::mutex> lock(worker_mu_);
    ++pokes_[kJourneyWorker];
    ++pokes_[kOutboxWorker];
  }
  worker_cv_.notify_all();
}

// The key must not live in the database it protects. Next to a SQLite file is the default
// that needs no setup; a PostgreSQL server is usually reached from several hosts, so there is
// no "next to it", and the operator has to say where the key lives.
static Result<privacy::AuditKey> AuditKeyFor(const Config& config, std::string* created) {
  if (!config.audit_key_file.empty()) {
    return privacy::AuditKey::ReadOrCreate(config.audit_key_file, created);
  }
  if (config.db == ":memory:") {
    std::string bytes(32, '\0');
    randombytes_buf(bytes.data(), bytes.size());
    return privacy::AuditKey::FromBytes(std::move(bytes));
  }
  if (config.db.find("://") != std::string::npos) {
    return InvalidArgument(
        "a PostgreSQL database needs --audit-key-file (or RAPPORT_AUDIT_KEY_FILE): the audit "
        "log's key is kept outside the database",
        "audit_key_file");
  }
  return privacy::AuditKey::ReadOrCreate(config.db + ".audit-key", created);
}

Result<std::unique_ptr<App>> App::Open(const Config& config) {
  std::unique_ptr<App> app(new App());
  app->config_ = config;
  ASSIGN_OR_RETURN(app->store_, OpenStore(config));
  if (config.clock == "system") {
    app->clock_ = std::make_unique<SystemClock>();
  } else if (config.clock == "manual") {
    ASSIGN_OR_RETURN(auto saved, app->store_->GetSetting(kManualClockSetting));
    Time start = config.clock_start.value_or(SystemClock().Now());
    if (saved) {
      ASSIGN_OR_RETURN(Time persisted, ParseTime(*saved));
      // A restart continues where the clock stopped; it never goes back.
      if (persisted > start || !config.clock_start) start = persisted;
    }
    auto manual = std::make_unique<ManualClock>(start);
    app->manual_clock_ = manual.get();
    app->clock_ = std::move(manual);
    RETURN_IF_ERROR(app->store_->PutSetting(kManualClockSetting, FormatTime(start)));
  } else {
    return InvalidArgument("unknown clock '" + config.clock + "' (expected system or manual)",
                           "clock");
  }
  app->ids_ = std::make_unique<UlidSource>(*app->clock_);
  app->tokens_ = std::make_unique<auth::TokenService>(*app->store_, *app->clock_, *app->ids_);
  std::string created_key_file;
  ASSIGN_OR_RETURN(auto audit_key, AuditKeyFor(config, &created_key_file));
  app->audit_ =
      std::make_unique<privacy::AuditLog>(*app->store_, *app->clock_, std::move(audit_key));
  // A lost key file must not be replaced by a new key in silence: every later entry would
  // then be refused, and the new file would look like the right one.
  if (Status s = app->audit_->CheckKey(); !s.ok()) {
    if (!created_key_file.empty()) {
      ::unlink(created_key_file.c_str());
      return FailedPrecondition("the audit key file '" + created_key_file +
                                "' is missing but the audit log is keyed: restore it (" +
                                s.message() + ")");
    }
    return s;
  }
  app->ingestor_ =
      std::make_unique<ingest::Ingestor>(*app->store_, *app->clock_, *app->ids_, app->metrics_);
  app->profiles_ = std::make_unique<profiles::ProfileService>(*app->store_, *app->clock_,
                                                              *app->ids_, config.profiles);
  app->privacy_ = std::make_unique<privacy::Ledger>(*app->store_, *app->clock_, *app->ids_,
                                                    *app->audit_, *app->profiles_);
  app->ingestor_->SetRecordsListener(
      [profiles = app->profiles_.get(), ledger = app->privacy_.get()](
          const std::vector<SourceRecord>& records,
          const std::vector<store::RecordPut>& puts) -> Result<std::vector<std::string>> {
        ASSIGN_OR_RETURN(profiles::ResolveSummary summary, profiles->Resolve(records, puts));
        RETURN_IF_ERROR(ledger->OnRecordsStored(records));
        return std::move(summary.persons);
      });
  app->cases_ =
      std::make_unique<cases::CaseService>(*app->store_, *app->clock_, *app->ids_, &app->metrics_);
  service::Options service_options = config.service;
  // No partner reads an owner's data without the ledger's disclosure check.
  service_options.partner_gate = [ledger = app->privacy_.get()](privacy::DisclosureRequest request,
                                                                const auth::Principal& partner) {
    return ledger->PartnerRead(std::move(request), partner);
  };
  app->service_ = std::make_unique<service::ServiceNetwork>(
      *app->store_, *app->clock_, *app->ids_, *app->audit_, app->profiles_.get(), service_options);
  RETURN_IF_ERROR(app->cases_->Start());
  app->journeys_ =
      std::make_unique<journey::JourneyService>(*app->store_, *app->clock_, app->metrics_);
  RETURN_IF_ERROR(app->journeys_->Start());
  journey::OutboxOptions outbox;
  outbox.sink_file = config.outbox_file;
  if (outbox.sink_file.empty()) {
    outbox.sink_file = config.db == ":memory:" || config.db.find("://") != std::string::npos
                           ? "rapport-outbox.ndjson"
                           : config.db + ".outbox.ndjson";
  }
  outbox.send_webhooks = config.send_webhooks;
  outbox.server_id = config.server_id;
  // No webhook leaves without the ledger's disclosure check.
  outbox.webhook_gate = [ledger = app->privacy_.get()](const Json& action) {
    return ledger->CheckWebhook(action);
  };
  // A journey's escalation opens its case in-process (idempotent by the action's key).
  outbox.open_case = [cases = app->cases_.get()](const Json& action) {
    return cases->OpenFromJourney(action).status();
  };
  // Messages and webhooks about an order carry the customer's preferences (invoice format).
  outbox.annotate = [cases = app->cases_.get(), profiles = app->profiles_.get(),
                     ledger = app->privacy_.get()](Json& action) {
    RETURN_IF_ERROR(cases->AnnotateOutboxAction(action));
    // A message names whom it goes to (issue 20): the golden record's contact point for its
    // channel, of the person its subject (else its instance key) names, through the consent
    // check of its purpose. Without either it is held with the reason (kFailedPrecondition),
    // not sent to nobody; the outbox looks again later, so it leaves once the record or the
    // consent arrives.
    if (action.value("kind", "") != "message") return OkStatus();
    std::string subject = action.value("subject", "");
    if (subject.empty()) subject = action.value("instance_key", "");
    if (subject.empty()) return FailedPrecondition("the message names no subject");
    auto contact = profiles->ContactPointFor(subject, action.value("channel", "email"));
    if (contact.status().code() == StatusCode::kNotFound ||
        contact.status().code() == StatusCode::kInvalidArgument) {
      return FailedPrecondition(contact.status().message());
    }
    RETURN_IF_ERROR(contact.status());
    std::string purpose;
    if (auto params = action.find("params"); params != action.end() && params->is_object()) {
      if (auto p = params->find("purpose"); p != params->end() && p->is_string()) purpose = *p;
    }
    RETURN_IF_ERROR(ledger->CheckOwnMessage(contact->person, purpose));
    action["recipient"] = {{"person", contact->person},
                           {"channel", contact->channel},
                           {"name", contact->name},
                           {"address", contact->address},
                           {"record", contact->record}};
    return OkStatus();
  };
  app->outbox_ = std::make_unique<journey::OutboxDeliverer>(*app->store_, *app->clock_,
                                                            app->metrics_, *app->journeys_, outbox);
  RETURN_IF_ERROR(app->outbox_->Open());
  // Cases name their person as profiles resolves the subject (issue 20): an API open of a
  // person profiles does not know is refused, as an asset's owner is.
  app->cases_->SetSubjectResolver(app->profiles_.get());
  // A partner reads a person it names itself only through what it holds of that person
  // (ledger.h invariant 7): its work order for the person's appliance, its case about them.
  app->privacy_->AddPartnerRelationship(
      "work_order", [service = app->service_.get()](const std::vector<std::string>& ids,
                                                    const auth::Principal& partner) {
        return service->ServesOwner(ids, partner);
      });
  app->privacy_->AddPartnerRelationship(
      "case", [cases = app->cases_.get()](const std::vector<std::string>& ids,
                                          const auth::Principal& partner) {
        return cases->OrgHasCaseAbout(ids, partner.org);
      });
  // An access report shows what the cases keep about the person too.
  app->privacy_->AddAccessReportPart(
      "cases", [cases = app->cases_.get()](const std::string& person) -> Result<Json> {
        cases::Actor system{"system", "system", "", "access report"};
        ASSIGN_OR_RETURN(Json list, cases->List({.person = person, .limit = 1000}, system));
        return list["cases"];
      });
  app->privacy_->AddAccessReportPart(
      "preferences", [cases = app->cases_.get()](const std::string& person) -> Result<Json> {
        ASSIGN_OR_RETURN(Json prefs, cases->Preferences(person));
        return prefs["preferences"];
      });
  app->privacy_->AddAccessReportPart(
      "journeys", [app_ptr = app.get()](const std::string& person) -> Result<Json> {
        return app_ptr->JourneysOf(person);
      });
  // An erasure reaches every copy of the person's data outside profiles and the ledger.
  app->privacy_->AddErasureStep(
      "cases", [cases = app->cases_.get()](const privacy::ErasureScope& s, store::Erasure& e) {
        return cases->ErasePerson(s.subjects, s.events, s.erasure, &e.log_bodies);
      });
  app->privacy_->AddErasureStep(
      "service", [service = app->service_.get()](const privacy::ErasureScope& s, store::Erasure&) {
        return service->ErasePerson(s.ids, s.erasure);
      });
  app->privacy_->AddErasureStep(
      "outbox_file",
      [outbox = app->outbox_.get()](const privacy::ErasureScope& s,
                                    store::Erasure&) -> Result<Json> {
        ASSIGN_OR_RETURN(Json sink, outbox->EraseFromSink(s.subjects, s.needles, s.erasure));
        ASSIGN_OR_RETURN(sink["held"], outbox->EraseHeld(s.subjects, s.needles));
        return sink;
      });
  return app;
}

Result<Json> App::JourneysOf(const std::string& person) {
  ASSIGN_OR_RETURN(auto subjects, profiles_->SubjectsOf(person));
  return journeys_->InstancesOf(subjects);
}

Result<Time> App::AdvanceClock(std::optional<Duration> by, std::optional<Time> to) {
  if (!manual_clock_) {
    return FailedPrecondition(
        "the server runs on the system clock; start it with --clock manual to move time");
  }
  std::lock_guard<std::mutex> lock(clock_mu_);
  if (by) RETURN_IF_ERROR(manual_clock_->Advance(*by));
  if (to) RETURN_IF_ERROR(manual_clock_->AdvanceTo(*to));
  Time now = manual_clock_->Now();
  RETURN_IF_ERROR(store_->PutSetting(kManualClockSetting, FormatTime(now)));
  return now;
}

Result<journey::CheckReport> App::CheckForRequest(const journey::JourneyDefinition& def,
                                                  const std::optional<std::string>& deviations) {
  journey::DeviationModel model = journey::DefaultDeviations(def);
  if (deviations) {
    ASSIGN_OR_RETURN(model, journey::LoadDeviations(def, *deviations, "deviations"));
  }
  journey::CheckOptions options;
  options.max_states = 5'000'000;  // beyond it the check is undecided, not a refusal
  return journey::CheckJourney(def, model, options);
}

Result<CheckedDeploy> App::DeployChecked(std::string_view yaml, std::string_view file,
                                         const std::optional<std::string>& deviations, bool force,
                                         const auth::Principal& by) {
  // What is proved must be what runs: a journey that tells a customer something wrong in some
  // run of its world is not deployed without a person saying so.
  CheckedDeploy out;
  ASSIGN_OR_RETURN(out.definition, journey::LoadDefinition(yaml, file));
  const journey::JourneyDefinition& def = *out.definition;
  ASSIGN_OR_RETURN(out.report, CheckForRequest(def, deviations));
  if (!out.report.violations.empty()) {
    if (!force) return out;
    Json violations = Json::array();
    for (const journey::Violation& v : out.report.violations) {
      violations.push_back({{"property", v.property}, {"message", v.message}});
    }
    Json detail = {{"journey", def.name()},
                   {"version", def.version()},
                   {"model", out.report.model},
                   {"violations", std::move(violations)}};
    RETURN_IF_ERROR(audit().Append(privacy::AuditLog::By(
        by, "journey.deploy_forced", def.name() + "@" + std::to_string(def.version()), detail)));
    out.forced = true;
  }
  ASSIGN_OR_RETURN(out.outcome, journeys().Deploy(yaml, file));
  Poke();  // parked events may now have a journey
  return out;
}

}  // namespace rapport::app
