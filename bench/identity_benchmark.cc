// Identity benchmarks (slow suite, run on purpose):
//   BM_DedupeEndToEnd     generate → read CSV → normalize → block → train → score →
//                         cluster → households, on RAPPORT_BENCH_RECORDS records
//                         (default 1,000,000); target <= 60 s wall on 2 cores, < 4 GiB;
//                         prints the pairwise precision, recall and F1 of the same run.
//   BM_IncrementalMatch   one new record against a MatchIndex of RAPPORT_BENCH_RECORDS
//                         records; reports p50/p99 latency (target p99 < 2 ms) and how
//                         often the best match is the same person.
//   BM_JaroWinkler, BM_NormalizeRecord: the hot inner functions.
// Run: identity_benchmark --benchmark_filter=Incremental (peak memory: /usr/bin/time -v).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "identity/comparators.h"
#include "identity/generator.h"
#include "identity/match_index.h"
#include "identity/pipeline.h"

namespace rapport::identity {
namespace {

size_t BenchRecords() {
  const char* env = std::getenv("RAPPORT_BENCH_RECORDS");
  return env ? std::strtoull(env, nullptr, 10) : 1000000;
}

std::string GeneratedCsv(size_t records, uint64_t seed) {
  std::ostringstream out;
  GenerateCustomers({records, seed}, out);
  return out.str();
}

void BM_DedupeEndToEnd(benchmark::State& state) {
  const size_t n = BenchRecords();
  for (auto _ : state) {
    std::string csv = GeneratedCsv(n, 11);
    auto t0 = std::chrono::steady_clock::now();
    // The truth column is read beside the records: a timing is printed with its F1.
    auto loaded = LoadCsvText(std::move(csv), MatchConfig{}, {.truth_column = "person_id"});
    if (!loaded.ok()) {
      state.SkipWithError(loaded.status().ToString().c_str());
      return;
    }
    auto result = Dedupe(loaded->records, loaded->config);
    if (!result.ok()) {
      state.SkipWithError(result.status().ToString().c_str());
      return;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.SetIterationTime(seconds);
    state.counters["records"] = static_cast<double>(n);
    state.counters["candidate_pairs"] = static_cast<double>(result->blocking.candidate_pairs);
    state.counters["persons"] = static_cast<double>(result->clustering.clusters);
    state.counters["s_block"] = result->seconds_blocking;
    state.counters["s_train"] = result->seconds_training;
    state.counters["s_score"] = result->seconds_scoring;
    state.counters["s_cluster"] = result->seconds_clustering;
    const PairMetrics quality = ClusterPairMetrics(result->cluster, loaded->truth);
    state.counters["precision"] = quality.precision;
    state.counters["recall"] = quality.recall;
    state.counters["F1"] = quality.f1;
  }
}
BENCHMARK(BM_DedupeEndToEnd)->Unit(benchmark::kSecond)->Iterations(1)->UseManualTime();

void BM_IncrementalMatch(benchmark::State& state) {
  const size_t n = BenchRecords();
  const size_t queries = 2000;
  auto loaded =
      LoadCsvText(GeneratedCsv(n + queries, 12), MatchConfig{}, {.truth_column = "person_id"});
  if (!loaded.ok()) {
    state.SkipWithError(loaded.status().ToString().c_str());
    return;
  }
  auto index = MatchIndex::Create(MatchModel::Default(loaded->config));
  if (!index.ok()) {
    state.SkipWithError(index.status().ToString().c_str());
    return;
  }
  // Index every record but every (n/queries)-th one, which become the queries.
  std::vector<const NormalizedRecord*> held_out;
  std::unordered_map<std::string_view, std::string_view> person_of;  // record id -> truth
  const size_t step = (n + queries) / queries;
  for (size_t i = 0; i < loaded->records.size(); ++i) {
    const auto& r = loaded->records[i];
    person_of[r.id] = loaded->truth[i];
    if (i % step == 0 && held_out.size() < queries) {
      held_out.push_back(&r);
    } else {
      (void)(*index)->Add(r.id, r);
    }
  }
  std::vector<double> micros;
  size_t q = 0, found = 0, right = 0;
  for (auto _ : state) {
    const NormalizedRecord& r = *held_out[q++ % held_out.size()];
    auto t0 = std::chrono::steady_clock::now();
    auto matches = (*index)->Match(r);
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    found += !matches.empty();
    // Quality of the same run: is the best match the same person?
    right += !matches.empty() && person_of[matches.front().id] == person_of[r.id];
    benchmark::DoNotOptimize(matches);
  }
  std::sort(micros.begin(), micros.end());
  auto pct = [&](double p) {
    return micros[std::min(micros.size() - 1, static_cast<size_t>(p * micros.size()))];
  };
  state.counters["index_size"] = static_cast<double>((*index)->size());
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.counters["with_match"] = static_cast<double>(found) / static_cast<double>(micros.size());
  state.counters["best_match_precision"] =
      found == 0 ? 0.0 : static_cast<double>(right) / static_cast<double>(found);
}
BENCHMARK(BM_IncrementalMatch)->Unit(benchmark::kMicrosecond)->Iterations(20000);

void BM_JaroWinkler(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(JaroWinkler("katharina", "kathrina"));
}
BENCHMARK(BM_JaroWinkler);

void BM_NormalizeRecord(benchmark::State& state) {
  auto loaded = LoadCsvText(GeneratedCsv(10, 1), MatchConfig{});
  auto normalizer = RecordNormalizer::Create(loaded->config, loaded->header);
  std::vector<std::string> row = {
      "c1",      "Jürgen",     "Müller-Lüdenscheidt",   "Hauptstr.",   "5a", "80331",
      "München", "17.05.1980", "J.Mueller+shop@Web.de", "089 1234567", "p1", "h1"};
  for (auto _ : state) benchmark::DoNotOptimize(normalizer->Normalize(row));
}
BENCHMARK(BM_NormalizeRecord);

}  // namespace
}  // namespace rapport::identity

BENCHMARK_MAIN();
