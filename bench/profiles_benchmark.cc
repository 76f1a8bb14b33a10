// Profiles benchmarks against the SQLite store (slow suite, run on purpose):
//   BM_ResolveImport   generated German customers (identity/generator.h) stored and resolved
//                      in batches of 1000, as `rapport import` does; records/s with the
//                      pairwise precision, recall and F1 of the persons of the same run.
//   BM_ResolveOne      with RAPPORT_BENCH_RECORDS records resolved, one new record stored and
//                      resolved at a time, as `POST /v1/records` does; p50/p99 latency.
//   BM_GetPerson, BM_Search: customer 360 and fuzzy search on the same store; p50/p99.
// Run: profiles_benchmark [--benchmark_filter=...]; RAPPORT_BENCH_RECORDS (default 100000).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <unordered_map>

#include "core/csv.h"
#include "identity/generator.h"
#include "identity/pipeline.h"
#include "profiles/profiles.h"
#include "store/sqlite/sqlite_store.h"

namespace rapport::profiles {
namespace {

size_t BenchRecords() {
  const char* env = std::getenv("RAPPORT_BENCH_RECORDS");
  return env ? std::strtoull(env, nullptr, 10) : 100000;
}

// `truth`, when given, receives each record's true person (the generator's person_id).
std::vector<SourceRecord> Generated(size_t n, uint64_t seed, const std::string& source,
                                    std::vector<std::string>* truth = nullptr) {
  std::ostringstream out;
  identity::GenerateCustomers({n, seed}, out);
  auto reader = CsvReader::Open(out.str());
  std::vector<SourceRecord> records;
  CsvRow csv_row;
  const auto& header = reader->header();
  while (true) {
    auto more = reader->Next(&csv_row);
    if (!more.ok() || !*more) break;
    const auto& row = csv_row.fields;
    SourceRecord r;
    r.source = source;
    r.source_key = row[0];
    for (size_t i = 1; i < row.size() && i < header.size(); ++i) {
      if (header[i] == "person_id" && truth != nullptr) truth->push_back(row[i]);
      if (header[i] == "person_id" || header[i] == "household_id") continue;
      r.fields.emplace_back(header[i], row[i]);
    }
    records.push_back(std::move(r));
  }
  return records;
}

struct Fixture {
  ManualClock clock{*ParseTime("2026-01-01T00:00:00Z")};
  UlidSource ids{clock, 7};
  std::string path;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<ProfileService> service;
  std::vector<std::string> person_ids;
  std::vector<std::string> record_ids;  // in load order

  explicit Fixture(const std::string& name) {
    path = (std::filesystem::temp_directory_path() / ("rapport_profiles_bench_" + name + ".db"))
               .string();
    std::filesystem::remove(path);
    store = std::move(store::OpenSqliteStore({.path = path, .sync_every_commit = false}).value());
    service = std::make_unique<ProfileService>(*store, clock, ids);
  }
  ~Fixture() {
    service.reset();
    store.reset();
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
  }

  Status Load(std::vector<SourceRecord> records, size_t batch) {
    for (size_t i = 0; i < records.size(); i += batch) {
      std::vector<SourceRecord> part(records.begin() + i,
                                     records.begin() + std::min(records.size(), i + batch));
      for (auto& r : part) {
        r.id = ids.Next("rec");
        r.received_at = clock.Now();
        record_ids.push_back(r.id);
      }
      ASSIGN_OR_RETURN(auto puts, store->PutRecords(part));
      RETURN_IF_ERROR(service->Resolve(part, puts).status());
      if (i % 10000 == 0) {
        ASSIGN_OR_RETURN(std::string p, service->PersonOfRecord(puts[0].id));
        person_ids.push_back(p);
      }
    }
    return OkStatus();
  }
};

Fixture& Loaded() {
  static Fixture* f = [] {
    auto* fx = new Fixture("loaded");
    Status s = fx->Load(Generated(BenchRecords(), 21, "gen"), 1000);
    if (!s.ok()) std::abort();
    return fx;
  }();
  return *f;
}

void Percentiles(benchmark::State& state, std::vector<double>& micros) {
  if (micros.empty()) return;
  std::sort(micros.begin(), micros.end());
  state.counters["p50_us"] = micros[micros.size() / 2];
  state.counters["p99_us"] = micros[std::min(micros.size() - 1, micros.size() * 99 / 100)];
}

// Pairwise quality of the persons a fixture resolved, against the generator's truth.
Result<identity::PairMetrics> Quality(Fixture& fx, const std::vector<std::string>& truth) {
  std::unordered_map<std::string, uint32_t> index_of_person;
  std::vector<uint32_t> cluster;
  for (const auto& record : fx.record_ids) {
    ASSIGN_OR_RETURN(std::string person, fx.service->PersonOfRecord(record));
    auto [it, added] =
        index_of_person.emplace(person, static_cast<uint32_t>(index_of_person.size()));
    cluster.push_back(it->second);
  }
  return identity::ClusterPairMetrics(cluster, truth);
}

void BM_ResolveImport(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<std::string> truth;
  auto records = Generated(n, 11, "import", &truth);
  for (auto _ : state) {
    Fixture fx("import");
    auto t0 = std::chrono::steady_clock::now();
    Status s = fx.Load(records, 1000);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    state.SetIterationTime(seconds);
    state.counters["records_per_s"] = static_cast<double>(n) / seconds;
    state.counters["persons"] = static_cast<double>(*fx.service->PersonCount());
    auto quality = Quality(fx, truth);
    if (!quality.ok()) {
      state.SkipWithError(quality.status().ToString().c_str());
      return;
    }
    state.counters["precision"] = quality->precision;
    state.counters["recall"] = quality->recall;
    state.counters["F1"] = quality->f1;
  }
}
BENCHMARK(BM_ResolveImport)
    ->Arg(10000)
    ->Arg(50000)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

void BM_ResolveOne(benchmark::State& state) {
  Fixture& fx = Loaded();
  auto fresh = Generated(2000, 99, "post");
  size_t next = 0;
  std::vector<double> micros;
  for (auto _ : state) {
    SourceRecord r = fresh[next++ % fresh.size()];
    r.source_key += "-" + std::to_string(next);
    r.id = fx.ids.Next("rec");
    r.received_at = fx.clock.Now();
    auto t0 = std::chrono::steady_clock::now();
    auto puts = fx.store->PutRecords({r});
    auto resolved = fx.service->Resolve({r}, *puts);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (!resolved.ok()) state.SkipWithError(resolved.status().ToString().c_str());
  }
  state.counters["stored_records"] = static_cast<double>(BenchRecords());
  Percentiles(state, micros);
}
BENCHMARK(BM_ResolveOne)->Iterations(2000)->Unit(benchmark::kMicrosecond);

void BM_GetPerson(benchmark::State& state) {
  Fixture& fx = Loaded();
  std::vector<double> micros;
  size_t i = 0;
  for (auto _ : state) {
    const std::string& id = fx.person_ids[i++ % fx.person_ids.size()];
    auto t0 = std::chrono::steady_clock::now();
    auto p = fx.service->GetPerson(id);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (!p.ok()) state.SkipWithError(p.status().ToString().c_str());
  }
  Percentiles(state, micros);
}
BENCHMARK(BM_GetPerson)->Iterations(500)->Unit(benchmark::kMicrosecond);

void BM_Search(benchmark::State& state) {
  Fixture& fx = Loaded();
  const std::vector<std::string> queries = {"Johann Müller", "Anna Schmidt Berlin", "Hauptstr 5",
                                            "Meier", "Katharina Hofmann"};
  std::vector<double> micros;
  size_t i = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = fx.service->Search(queries[i++ % queries.size()]);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  Percentiles(state, micros);
}
BENCHMARK(BM_Search)->Iterations(200)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace rapport::profiles

BENCHMARK_MAIN();
