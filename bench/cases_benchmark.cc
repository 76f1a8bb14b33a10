// 1,000 concurrent agents updating cases through CaseService on a durable SQLite file: the
// latency of one update (read the case, apply the change, one revision-checked write) as each
// agent sees it, p50/p95/p99/max, and updates per second.
//
// Two load shapes:
//   paced   (default) each agent works like a person: an update, then a pause drawn from an
//           exponential distribution with mean RAPPORT_BENCH_THINK_MS (1000 ms), so 1,000
//           agents offer about 1,000 updates/s;
//   flood   RAPPORT_BENCH_THINK_MS=0: every agent updates back to back (saturation; latency is
//           then queueing behind the single SQLite writer).
// Every fifth update of an agent goes to a case it shares with one other agent (the contended
// path: revision conflicts and retries); the rest to the agent's own case.
//
// Run: build-rel/bench/cases_benchmark
//   env RAPPORT_BENCH_AGENTS (1000), RAPPORT_BENCH_UPDATES per agent (20),
//       RAPPORT_BENCH_THINK_MS (1000), RAPPORT_BENCH_SYNC (full|normal, default full),
//       RAPPORT_BENCH_METRICS (1; 0 runs the service without a metrics registry).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "cases/case_service.h"
#include "store/sqlite/sqlite_store.h"

namespace rapport::cases {
namespace {

long Env(const char* name, long def) {
  const char* v = std::getenv(name);
  return v ? std::strtol(v, nullptr, 10) : def;
}

constexpr const char* kConfig = R"(
fields: [customer_number, order_id, device, problem_category, serial]
teams:
  - {id: billing}
  - {id: tech}
routing:
  default_team: billing
  rules:
    - {id: technical, team: tech, keywords: [startet nicht, display]}
sla:
  - {case_type: inquiry, resolution: 3d, warn_before: 4h}
)";

int Run() {
  const int agents = static_cast<int>(Env("RAPPORT_BENCH_AGENTS", 1000));
  const int updates = static_cast<int>(Env("RAPPORT_BENCH_UPDATES", 20));
  const long think_ms = Env("RAPPORT_BENCH_THINK_MS", 1000);
  const char* sync_env = std::getenv("RAPPORT_BENCH_SYNC");
  const bool sync_full = !sync_env || std::string(sync_env) != "normal";

  std::string path = (std::filesystem::temp_directory_path() /
                      ("rapport-cases-bench-" + std::to_string(::getpid()) + ".db"))
                         .string();
  SystemClock clock;
  UlidSource ids(clock);
  auto store = store::OpenSqliteStore({.path = path, .sync_every_commit = sync_full});
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  // As in the server, every update also counts its metrics (RAPPORT_BENCH_METRICS=0: without).
  const char* metrics_env = std::getenv("RAPPORT_BENCH_METRICS");
  const bool with_metrics = !metrics_env || std::string(metrics_env) != "0";
  MetricsRegistry metrics;
  CaseService service(**store, clock, ids, with_metrics ? &metrics : nullptr);
  if (!service.Start().ok() || !service.SetConfig(kConfig, "bench.yaml").ok()) return 1;

  Actor opener{"bench", "agent", "", "bench"};
  std::vector<std::string> own(agents), shared;
  for (int i = 0; i < (agents + 1) / 2; ++i) {
    OpenCaseRequest r;
    r.person = "per_shared_" + std::to_string(i);
    r.text = "Das Display ist kaputt";
    shared.push_back((*service.Open(r, opener))["id"]);
  }
  for (int a = 0; a < agents; ++a) {
    OpenCaseRequest r;
    r.person = "per_" + std::to_string(a);
    r.text = a % 2 ? "Frage zur Rechnung" : "Handy startet nicht";
    auto c = service.Open(r, opener);
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      return 1;
    }
    own[a] = (*c)["id"];
  }

  std::vector<std::vector<double>> latencies(agents);
  std::atomic<int> errors{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  threads.reserve(agents);
  for (int a = 0; a < agents; ++a) {
    threads.emplace_back([&, a] {
      std::mt19937_64 rng(a + 1);
      std::exponential_distribution<double> pause(think_ms > 0 ? 1.0 / think_ms : 1.0);
      Actor agent{"tok_" + std::to_string(a), "agent", "", ""};
      latencies[a].reserve(updates);
      for (int u = 0; u < updates; ++u) {
        if (think_ms > 0) {
          std::this_thread::sleep_for(
              std::chrono::microseconds(static_cast<int64_t>(pause(rng) * 1000.0)));
        }
        const std::string& id = u % 5 == 4 ? shared[a / 2] : own[a];
        auto t0 = std::chrono::steady_clock::now();
        Result<Json> r = Status();
        switch (u % 4) {
          case 0:
            r = service.CollectFields(id, {{"device", "Phone " + std::to_string(u)}}, false, agent,
                                      {});
            break;
          case 1:
            r = service.AddNote(id, "called the customer back", agent, {});
            break;
          case 2:
            r = service.RecordVerification(id, "pin", std::chrono::minutes(30), agent, {});
            break;
          default:
            r = service.AddMessage(id, "out", "phone", "We are on it", agent, {});
            break;
        }
        auto t1 = std::chrono::steady_clock::now();
        if (!r.ok()) ++errors;
        latencies[a].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all[std::min(all.size() - 1, size_t(p * all.size()))]; };
  std::printf(
      "cases_benchmark: %d agents x %d updates, think %ld ms, sqlite synchronous=%s\n"
      "  updates %zu in %.1f s = %.0f/s, errors %d\n"
      "  latency ms: p50 %.2f  p95 %.2f  p99 %.2f  max %.2f\n",
      agents, updates, think_ms, sync_full ? "FULL" : "NORMAL", all.size(), seconds,
      all.size() / seconds, errors.load(), pct(0.50), pct(0.95), pct(0.99), all.back());
  store->reset();
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace rapport::cases

int main() { return rapport::cases::Run(); }
