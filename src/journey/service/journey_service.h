// The journey runtime of the server: the pure step functions of journey/instance.h applied to
// instances kept in the store. Events are taken from the event log in log order, from a
// persisted cursor, so that an event acknowledged by POST /v1/events is applied even if the
// server crashes right after; every step is idempotent (event ids, timer and outbox ids), so
// processing after a crash never does anything twice.
//
// Stored layout (store documents, queues and logs):
//   document journey-definition/<name>@<version>   {"text","file","deployed_at"}
//   document journey-instance/<journey>/<key>      {"version","state"}   (revision = row version)
//   document journey-alias/<journey>/<k>=<v>       {"key"}: an alias key learnt by an instance
//   document journey-parked/<journey>/<k>=<v>/<id> an event waiting for its instance
//   queue    journey-timers  id = occurrence key   {"journey","key","action","occurrence"}
//   queue    outbox          id = idempotency key  the action (see OutboxAction)
//   log      journey-timeline key <journey>/<key>  timeline entries
//   setting  journey.cursor                         seq of the last event applied
//
// Thread-safety: all public methods are safe to call concurrently; processing is serialised.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "journey/definition.h"
#include "journey/instance.h"
#include "store/store.h"

namespace rapport::journey {

struct DeployOutcome {
  DefinitionPtr definition;
  bool created = false;  // false: this exact text was deployed before
  // Webhook actions and the secret each signs its deliveries with (HMAC-SHA256).
  std::vector<std::pair<std::string, std::string>> webhook_secrets;
};

class JourneyService {
 public:
  JourneyService(store::Store& store, const Clock& clock, MetricsRegistry& metrics);

  // Loads the deployed definitions from the store. Call once before anything else.
  Status Start();

  // Validates and stores a definition. kInvalidArgument with file:line:column for a bad text;
  // kAlreadyExists if this name and version was deployed with another text (deploy a new
  // version instead: running instances stay on theirs).
  Result<DeployOutcome> Deploy(std::string_view yaml, std::string_view file);
  // The latest version of every journey, and all versions of each.
  Json ListJourneys() const;

  // Applies every event of the log after the cursor. Returns how many were read.
  Result<size_t> CatchUp();
  // Decides every timer due at clock.Now() (after CatchUp, so facts known now decide).
  Result<size_t> RunDue();
  // When the earliest pending timer is due, if any.
  Result<std::optional<Time>> NextDue();
  // State, facts, pending timers and timeline of one instance; kNotFound if none.
  Result<Json> Instance(std::string_view journey, std::string_view key);
  // Ends an instance through its journey's cancellation: a synthetic event of the type that
  // leads to a non-success end state. kFailedPrecondition if the journey has no such event.
  Result<Json> Cancel(std::string_view journey, std::string_view key, std::string_view reason);

  // The instances about any of `subjects` (a person's ids and the forms its events name it
  // by: profiles::SubjectResolver::SubjectsOf), by their subject, read through an index kept
  // with every instance: [{"journey","key","version","status","end_state","subject",
  // "started_at"}], journey and key order.
  Result<Json> InstancesOf(const std::vector<std::string>& subjects);

  // The secret of a webhook action, created at deploy; kNotFound if unknown.
  Result<std::string> WebhookSecret(std::string_view journey, std::string_view action);

 private:
  struct Loaded {
    DefinitionPtr def;
    InstanceState state;
    int64_t revision = 0;  // 0: new
    bool dirty = false;
    std::string indexed_subject;  // the subject the stored instance is indexed under
  };
  class Chunk;
  struct LogCursor {
    int64_t after = 0;        // last event seq applied
    int64_t definitions = 0;  // deployment generation
    int64_t revision = 0;     // of the cursor document; 0: none yet
  };
  Result<LogCursor> ReadCursor();
  // Replaces the definitions in memory with the stored ones (compiling only new versions).
  Status ReloadDefinitions(int64_t generation);

  DefinitionPtr Latest(std::string_view journey) const;
  DefinitionPtr Version(std::string_view journey, int version) const;
  Status Deliver(Chunk& c, const DefinitionPtr& latest, const Event& e, std::vector<Event>* more);
  Status Absorb(Chunk& c, const std::string& journey, Loaded& inst, Effects& fx,
                std::vector<Event>* more);
  Result<size_t> CatchUpLocked();
  // Once per database: indexes the instances stored before the subject index existed.
  Status IndexSubjectsOnce();

  store::Store& store_;
  const Clock& clock_;
  Counter& events_applied_;
  Counter& actions_created_;
  Counter& timers_fired_;
  mutable std::mutex defs_mu_;
  std::map<std::string, std::vector<DefinitionPtr>, std::less<>> journeys_;  // versions ascending
  std::mutex process_mu_;
  // Instances as this server last wrote them (guarded by process_mu_), so that a busy
  // instance is not read and parsed again for every event. Safe with several servers: a
  // write from a stale copy fails its revision check, and a failed write empties the cache.
  std::unordered_map<std::string, Loaded> written_;
  int64_t loaded_generation_ = -1;                 // guarded by process_mu_
  static constexpr size_t kWrittenLimit = 200000;  // then emptied: a bound, not an LRU
};

}  // namespace rapport::journey
