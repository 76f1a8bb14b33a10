// The journey service on a durable SQLite store, as `rapport serve` runs it:
//   BM_DurableEvents   events applied to instances (read from the event log, instances,
//                      timers, outbox and timeline written back, fsync on every commit).
//                      Target >= 20,000 events/s.
//   BM_TimerLateness   RAPPORT_BENCH_TIMERS waiting instances (default 100,000), each with a
//                      pending timer; 10,000 of them come due over ten seconds of real time
//                      and the service's own worker threads fire them. Reports how late each
//                      fired (fired - due) as p50/p99/max. Target p99 <= 100 ms.
// Run: build-rel/bench/journey_service_benchmark (RAPPORT_SOURCE_DIR=. for the trade-in file)
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "app/app.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/model.h"
#include "trade_in_stream.h"

namespace rapport {
namespace {

using bench::Ev;
using bench::TradeInStream;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string ReadSource(const std::string& rel) {
  const char* dir = std::getenv("RAPPORT_SOURCE_DIR");
  std::string path = std::string(dir ? dir : ".") + "/" + rel;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "cannot read %s (set RAPPORT_SOURCE_DIR)\n", path.c_str());
    std::abort();
  }
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  std::fclose(f);
  return text;
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

std::string ScratchDb(const char* name) {
  std::string dir =
      std::filesystem::temp_directory_path() / ("rapport-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string db = dir + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm", ".outbox.ndjson"})
    std::filesystem::remove(db + suffix);
  return db;
}

void Append(app::App& app, const std::vector<Event>& events) {
  for (size_t i = 0; i < events.size(); i += 1000) {
    std::vector<Event> batch(
        events.begin() + static_cast<std::ptrdiff_t>(i),
        events.begin() + static_cast<std::ptrdiff_t>(std::min(i + 1000, events.size())));
    Check(app.store().AppendEvents(batch).status(), "append");
  }
}

void BM_DurableEvents(benchmark::State& state) {
  const std::vector<Event> events = TradeInStream(static_cast<int>(state.range(0)));
  std::set<std::string> ids;  // the log keeps one of each duplicate delivery scan
  for (const Event& e : events) ids.insert(e.id);
  const size_t stored = ids.size();
  const std::string yaml = ReadSource("examples/journeys/trade-in.yaml");
  for (auto _ : state) {
    state.PauseTiming();
    app::Config config;
    config.db = ScratchDb("durable.db");
    config.clock = "manual";
    config.clock_start = events.back().occurred_at;
    config.sync_every_commit = true;
    auto app = app::App::Open(config);
    Check(app.status(), "open");
    Check((*app)->journeys().Deploy(yaml, "trade-in.yaml").status(), "deploy");
    Append(**app, events);
    state.ResumeTiming();
    auto applied = (*app)->journeys().CatchUp();
    Check(applied.status(), "catch up");
    if (*applied != stored) std::abort();
    state.PauseTiming();  // closing the store (its last checkpoint) is not applying events
    app->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(stored));
}
BENCHMARK(BM_DurableEvents)->Arg(5000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

constexpr const char* kPing = R"(journey: ping
version: 1
correlation: id
start:
  on: ping.started
events:
  ping.started: {keys: [id]}
  ping.answered: {keys: [id]}
steps:
  - name: started
    completed_by: ping.started
  - name: answered
    completed_by: ping.answered
actions:
  - name: follow_up
    kind: task
    queue: agents
    after: 30s from ping.started
    unless: [answered]
end_states:
  - name: done
    when: answered
)";

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}

void BM_TimerLateness(benchmark::State& state) {
  const char* env = std::getenv("RAPPORT_BENCH_TIMERS");
  const int n = env ? std::atoi(env) : 100000;
  for (auto _ : state) {
    app::Config config;
    config.db = ScratchDb("timers.db");
    config.sync_every_commit = true;
    auto opened = app::App::Open(config);
    Check(opened.status(), "open");
    app::App& app = **opened;
    Check(app.journeys().Deploy(kPing, "ping.yaml").status(), "deploy");
    // Every instance waits with a pending timer; `firing` of them come due over ten seconds
    // from `first_due` on (1,000 a second), the others in a month. The lead leaves time to
    // take in all start events first.
    const int firing = std::min(n, 10000);
    const Time now = app.clock().Now();
    const Time first_due = now + seconds(10) + milliseconds(n / 10);
    std::vector<Event> events;
    events.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      Time due = i < firing ? first_due + milliseconds(10000LL * i / firing) : now + days(30);
      events.push_back(Ev("p" + std::to_string(i), "ping.started", {{"id", std::to_string(i)}},
                          due - seconds(30)));
    }
    Append(app, events);
    auto caught_up = app.journeys().CatchUp();
    Check(caught_up.status(), "catch up");
    const Time intake_done = app.clock().Now();
    if (intake_done >= first_due) {
      state.SkipWithError(
          "taking in the events took longer than the lead; lower RAPPORT_BENCH_TIMERS");
      return;
    }
    app.StartWorker();
    std::this_thread::sleep_until(std::chrono::system_clock::now() +
                                  (first_due + seconds(12) - app.clock().Now()));
    app.StopWorker();

    std::vector<double> late_ms;
    int64_t after = 0;
    while (true) {
      auto lines = app.store().ReadLog("outbox", "", after, 1000);
      Check(lines.status(), "read outbox");
      for (const auto& l : *lines) {
        Json a = *ParseJson(l.body);
        Time fired = *ParseTime(a.value("created_at", ""));
        Time due = *ParseTime(a.value("due", a.value("created_at", "")));
        late_ms.push_back(static_cast<double>((fired - due).count()) / 1000.0);
      }
      if (lines->size() < 1000) break;
      after = lines->back().seq;
    }
    if (static_cast<int>(late_ms.size()) != firing) {
      state.SkipWithError(("only " + std::to_string(late_ms.size()) + " timers fired").c_str());
      return;
    }
    state.counters["waiting"] = static_cast<double>(n);
    state.counters["fired"] = static_cast<double>(firing);
    state.counters["late_p50_ms"] = Percentile(late_ms, 0.50);
    state.counters["late_p99_ms"] = Percentile(late_ms, 0.99);
    state.counters["late_max_ms"] = *std::max_element(late_ms.begin(), late_ms.end());
    state.counters["intake_s"] = static_cast<double>((intake_done - now).count()) / 1e6;
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    state.counters["peak_rss_mib"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
  }
}
BENCHMARK(BM_TimerLateness)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

}  // namespace
}  // namespace rapport
BENCHMARK_MAIN();
