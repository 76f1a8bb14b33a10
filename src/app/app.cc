#include "app/app.h"

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

App::~App() = default;

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
  app->ingestor_ =
      std::make_unique<ingest::Ingestor>(*app->store_, *app->clock_, *app->ids_, app->metrics_);
  return app;
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

}  // namespace rapport::app
