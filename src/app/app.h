// The one place that wires Rapport together: it opens the configured store backend, picks the
// clock, and builds the services that the API and CLI use. Nothing else names a backend.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "auth/tokens.h"
#include "cases/case_service.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/metrics.h"
#include "ingest/ingest.h"
#include "journey/service/journey_service.h"
#include "journey/service/outbox.h"
#include "journey/verify/check.h"
#include "privacy/audit.h"
#include "privacy/ledger.h"
#include "profiles/profiles.h"
#include "service/service.h"
#include "store/store.h"

namespace rapport::app {

// A journey deployment that `journey check` went before (POST /v1/journeys, `rapport journey
// deploy`): the definition, the check's report, and what was deployed.
struct CheckedDeploy {
  journey::DefinitionPtr definition;
  journey::CheckReport report;
  // Empty: not deployed, because the check found a violation and nobody forced it.
  std::optional<journey::DeployOutcome> outcome;
  bool forced = false;  // deployed in spite of a violation (audited as journey.deploy_forced)
};

struct Config {
  // A SQLite file path (default), ":memory:", or a postgres:// URL.
  std::string db = "rapport.db";
  // "system" (default) or "manual": time moves only through AdvanceClock.
  std::string clock = "system";
  // Where a manual clock starts the first time (later starts continue where it stopped).
  std::optional<Time> clock_start;
  // false trades power-loss durability of the last commits for write speed.
  bool sync_every_commit = true;
  // Where messages and agent tasks are delivered (NDJSON). Default: "<db>.outbox.ndjson".
  std::string outbox_file;
  // POST webhooks for real (http:// only); otherwise they are written to the outbox file.
  bool send_webhooks = false;
  // Identity resolution of incoming records: thresholds and golden-record rules.
  profiles::Options profiles;
  // Partner access window, parts forecast smoothing.
  service::Options service;
  // This server's name on the outbox actions it claims (OutboxOptions::server_id); "" for a
  // command-line tool. Unique among the servers sharing the database.
  std::string server_id;
  // The file holding the audit log's key (kept off the database; src/privacy/README.md).
  // Default for a SQLite file: "<db>.audit-key", created with a random key when missing;
  // ":memory:" gets a fresh random key; a PostgreSQL URL requires it.
  std::string audit_key_file;
};

class App {
 public:
  // Errors: kInvalidArgument for a bad config value, or the store's open error.
  static Result<std::unique_ptr<App>> Open(const Config& config);
  ~App();

  store::Store& store() { return *store_; }
  const Clock& clock() const { return *clock_; }
  IdSource& ids() { return *ids_; }
  MetricsRegistry& metrics() { return metrics_; }
  auth::TokenService& tokens() { return *tokens_; }
  ingest::Ingestor& ingestor() { return *ingestor_; }
  journey::JourneyService& journeys() { return *journeys_; }
  journey::OutboxDeliverer& outbox() { return *outbox_; }
  // Persons and households; every record stored through ingestor() is resolved by it.
  profiles::ProfileService& profiles() { return *profiles_; }
  // Cases, teams, routing, SLAs, feedback and customer preferences.
  cases::CaseService& cases() { return *cases_; }
  // Who read, disclosed, merged, consented or erased whose personal data (hash-chained).
  privacy::AuditLog& audit() { return *audit_; }
  // Provenance, consents, the disclosure register and its check, aliases and leaks, access
  // reports, erasure and retention.
  privacy::Ledger& privacy() { return *privacy_; }
  // Assets, partners, work orders, service records and briefings (partner access audited).
  service::ServiceNetwork& service() { return *service_; }

  // Applies new events to journeys, decides due timers and delivers due actions, now.
  Status ProcessNow();
  // Background threads: one applies events and fires timers, one delivers the outbox (so a
  // slow webhook never delays a timer). Each wakes on Poke and when its next item is due
  // (and at least once a second, to notice a moved manual clock or another server's work).
  // A third renews this server's outbox claims every lease / 4 (OutboxDeliverer::
  // RenewClaims). Before they start, the claims a crash of this server left are taken back
  // (OutboxDeliverer::ReclaimOwn). StopWorker joins them; the destructor calls StopWorker.
  void StartWorker();
  void StopWorker();
  void Poke();
  const Config& config() const { return config_; }

  // Moves a manual clock forward (by `by`, or to `to`) and persists the new time.
  // kFailedPrecondition with the system clock or for a time in the past.
  Result<Time> AdvanceClock(std::optional<Duration> by, std::optional<Time> to);
  // `journey check` as a request runs it: the quick built-in model, or `deviations` (a deviation
  // model's YAML); undecided rather than slow beyond 5M states.
  Result<journey::CheckReport> CheckForRequest(const journey::JourneyDefinition& def,
                                               const std::optional<std::string>& deviations);
  // Checks a journey definition with the quick built-in model (or `deviations`, a deviation
  // model's YAML) and deploys it when nothing is violated, or when `force` (then the forcing
  // and the violations go to the audit log as `by`'s). Errors: the definition's or the
  // deviation model's problems (kInvalidArgument, naming the line), the store's.
  Result<CheckedDeploy> DeployChecked(std::string_view yaml, std::string_view file,
                                      const std::optional<std::string>& deviations, bool force,
                                      const auth::Principal& by);
  // The journey instances about a person, under any of the forms its events name it by
  // (JourneyService::InstancesOf with profiles' SubjectsOf); kNotFound for an unknown person.
  Result<Json> JourneysOf(const std::string& person);

 private:
  App() = default;
  Config config_;
  MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Clock> clock_;
  ManualClock* manual_clock_ = nullptr;  // points into clock_ when manual
  std::unique_ptr<IdSource> ids_;
  std::unique_ptr<auth::TokenService> tokens_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::unique_ptr<journey::JourneyService> journeys_;
  std::unique_ptr<journey::OutboxDeliverer> outbox_;
  std::unique_ptr<profiles::ProfileService> profiles_;
  std::unique_ptr<cases::CaseService> cases_;
  std::unique_ptr<privacy::AuditLog> audit_;
  std::unique_ptr<privacy::Ledger> privacy_;
  std::unique_ptr<service::ServiceNetwork> service_;
  std::mutex clock_mu_;
  std::mutex worker_mu_;
  std::condition_variable worker_cv_;
  bool worker_stop_ = false;
  enum Worker { kJourneyWorker, kOutboxWorker };
  uint64_t pokes_[2] = {0, 0};
  std::vector<std::thread> workers_;

  void RunWorkerLoop(Worker worker, const char* name, std::function<Status()> work,
                     std::function<Result<std::optional<Time>>()> next_due);
};

}  // namespace rapport::app
