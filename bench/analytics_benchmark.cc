// GET /v1/analytics/kpis over a large event log (issue 22: 1M events in under a second).
//   BM_Kpis/bucket:0   the whole report (every scenario's figures, 28 daily buckets, the
//                      customers at risk) over a SQLite file whose log holds
//                      RAPPORT_BENCH_EVENTS events (default 1,000,000) in those 28 days:
//                      orders, the trade-in's kit and device events, payments, feedback with
//                      ratings (1 in 40 a bad one); 10,000 customers named by person id.
//   bucket:1           the same per week.
// The log is written once per size into $TMPDIR/rapport-analytics-bench-<n>.db and reused.
// Only events: no journeys, cases or disclosures are stored, so the figure is the cost of
// reading the log (what grows without bound), not of the smaller domain documents.
// Run: analytics_benchmark [--benchmark_repetitions=3] (a Release build).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>

#include "analytics/kpi_service.h"
#include "cases/config.h"
#include "core/clock.h"
#include "core/ids.h"
#include "privacy/audit.h"
#include "profiles/profiles.h"
#include "service/service.h"
#include "store/sqlite/sqlite_store.h"

namespace rapport::analytics {
namespace {

const Time kStart = *ParseTime("2026-11-02T00:00:00Z");
constexpr int kDays = 28;

size_t BenchEvents() {
  const char* env = std::getenv("RAPPORT_BENCH_EVENTS");
  return env ? std::strtoull(env, nullptr, 10) : 1000000;
}

std::string DbPath() {
  return (std::filesystem::temp_directory_path() /
          ("rapport-analytics-bench-" + std::to_string(BenchEvents()) + ".db"))
      .string();
}

// Writes the log once: events spread evenly over the four weeks.
void Prepare(store::Store& store) {
  auto stats = store.Stats();
  if (stats.ok() && static_cast<size_t>(stats->events) >= BenchEvents()) return;
  static const char* kTypes[] = {"order.placed",     "kit.label_created", "kit.picked_up",
                                 "kit.delivered",    "device.shipped",    "device.received",
                                 "payment.received", "feedback.submitted"};
  const size_t n = BenchEvents();
  const Duration step = std::chrono::duration_cast<Duration>(std::chrono::hours(24 * kDays)) / n;
  std::vector<Event> batch;
  for (size_t i = 0; i < n; ++i) {
    Event e;
    e.id = "bench-" + std::to_string(i);
    e.type = kTypes[i % 8];
    e.subject = "per_" + std::to_string(i % 10000);
    e.keys = {{"order_id", "O-" + std::to_string(i / 8)}};
    e.occurred_at = kStart + step * static_cast<int64_t>(i);
    e.received_at = e.occurred_at;
    if (i % 8 == 7) {
      e.payload = {{"rating", i % 320 == 7 ? 1 : 4}, {"text", "Lieferung schnell, danke"}};
    } else {
      e.payload = {{"items", {"phone-x"}}, {"trade_in", true}};
    }
    batch.push_back(std::move(e));
    if (batch.size() == 10000 || i + 1 == n) {
      if (auto s = store.AppendEvents(batch); !s.ok()) std::abort();
      batch.clear();
    }
  }
}

void BM_Kpis(benchmark::State& state) {
  auto store = store::OpenSqliteStore({.path = DbPath(), .sync_every_commit = false});
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  Prepare(**store);
  ManualClock clock(kStart + std::chrono::hours(24 * kDays));
  UlidSource ids(clock, 1);
  privacy::AuditLog audit(**store, clock);
  profiles::ProfileService profiles(**store, clock, ids);
  service::ServiceNetwork service(**store, clock, ids, audit, &profiles, {});
  // The feedback rules a server runs with until a cases configuration is given.
  auto defaults = cases::LoadConfig(cases::DefaultConfigYaml(), "default.yaml");
  if (!defaults.ok()) {
    state.SkipWithError(defaults.status().ToString().c_str());
    return;
  }
  KpiService kpis(**store, profiles, service, audit, (*defaults)->feedback);
  KpiRequest request;
  request.from = kStart;
  request.to = kStart + std::chrono::hours(24 * kDays);
  request.bucket = state.range(0) ? Bucket::kWeek : Bucket::kDay;
  int64_t events = 0;
  for (auto _ : state) {
    auto report = kpis.Compute(request);
    if (!report.ok()) {
      state.SkipWithError(report.status().ToString().c_str());
      return;
    }
    events = 0;
    for (const auto& b : report->buckets) events += b[Series::kEvents];
    benchmark::DoNotOptimize(report->at_risk.size());
  }
  state.counters["events"] = static_cast<double>(events);
}
BENCHMARK(BM_Kpis)->ArgName("bucket")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace rapport::analytics

BENCHMARK_MAIN();
