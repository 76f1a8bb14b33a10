// What the privacy ledger costs record ingest (issue 7: at most 20 % of the throughput).
//   BM_Ingest/ledger:0/secure_delete:0   records stored and resolved to persons, as
//                 `POST /v1/records` and `rapport import` do, on a SQLite file store: the
//                 baseline without anything the ledger needs;
//   ledger:1      with the ledger's ingest hook and the sources registered, every tenth
//                 record carrying its own provenance fields;
//   secure_delete:1  with deleted content zeroed (so erasure leaves nothing in free pages);
//                 ledger:1/secure_delete:1 is what `rapport serve` runs.
// Records are generated German customers (identity/generator.h), in batches of 1000.
// Run: privacy_benchmark [--benchmark_repetitions=3]; RAPPORT_BENCH_RECORDS (default 20000).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "core/csv.h"
#include "core/metrics.h"
#include "identity/generator.h"
#include "ingest/ingest.h"
#include "privacy/ledger.h"
#include "profiles/profiles.h"
#include "store/sqlite/sqlite_store.h"

namespace rapport::privacy {
namespace {

size_t BenchRecords() {
  const char* env = std::getenv("RAPPORT_BENCH_RECORDS");
  return env ? std::strtoull(env, nullptr, 10) : 20000;
}

const std::vector<SourceRecord>& Records() {
  static const std::vector<SourceRecord> records = [] {
    std::ostringstream out;
    identity::GenerateCustomers({BenchRecords(), 4}, out);
    auto reader = CsvReader::Open(out.str());
    std::vector<SourceRecord> records;
    CsvRow row;
    const auto& header = reader->header();
    while (true) {
      auto more = reader->Next(&row);
      if (!more.ok() || !*more) break;
      SourceRecord r;
      r.source = records.size() % 3 == 0 ? "shop" : "portal-vergleich";
      r.source_key = row.fields[0];
      for (size_t i = 1; i < row.fields.size() && i < header.size(); ++i) {
        if (header[i] == "person_id" || header[i] == "household_id") continue;
        r.fields.emplace_back(header[i], row.fields[i]);
      }
      if (records.size() % 10 == 0) {
        r.fields.emplace_back("provenance.purpose", "offers");
        r.fields.emplace_back("provenance.consent_ref", "portal-optin-v3");
      }
      records.push_back(std::move(r));
    }
    return records;
  }();
  return records;
}

void BM_Ingest(benchmark::State& state) {
  const bool with_ledger = state.range(0) == 1;
  const bool secure_delete = state.range(1) == 1;
  const auto& records = Records();
  for (auto _ : state) {
    state.PauseTiming();
    std::string path =
        (std::filesystem::temp_directory_path() / "rapport_privacy_bench.db").string();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    ManualClock clock{*ParseTime("2026-03-01T09:00:00Z")};
    UlidSource ids{clock, 7};
    MetricsRegistry metrics;
    auto store =
        std::move(store::OpenSqliteStore(
                      {.path = path, .sync_every_commit = false, .secure_delete = secure_delete})
                      .value());
    AuditLog audit(*store, clock);
    profiles::ProfileService profiles(*store, clock, ids);
    Ledger ledger(*store, clock, ids, audit, profiles);
    ingest::Ingestor ingestor(*store, clock, ids, metrics);
    if (with_ledger) {
      auth::Principal admin = SystemActor();
      (void)ledger.PutSource("portal-vergleich",
                             {{"channel", "web form"},
                              {"purposes", {"offers"}},
                              {"legal_basis", "consent"},
                              {"consent_ref", "portal-optin-v3"}},
                             admin);
      (void)ledger.PutSource("shop", {{"purposes", {"invoicing"}}, {"legal_basis", "contract"}},
                             admin);
    }
    ingestor.SetRecordsListener(
        [&](const std::vector<SourceRecord>& batch,
            const std::vector<store::RecordPut>& puts) -> Result<std::vector<std::string>> {
          ASSIGN_OR_RETURN(profiles::ResolveSummary summary, profiles.Resolve(batch, puts));
          if (with_ledger) RETURN_IF_ERROR(ledger.OnRecordsStored(batch));
          return std::move(summary.persons);
        });
    std::vector<std::vector<SourceRecord>> batches;
    for (size_t i = 0; i < records.size(); i += 1000) {
      auto& b = batches.emplace_back(records.begin() + i,
                                     records.begin() + std::min(records.size(), i + 1000));
      for (auto& r : b) {
        r.id = ids.Next("rec");
        r.received_at = clock.Now();
      }
    }
    state.ResumeTiming();
    for (const auto& b : batches) {
      auto accepted = ingestor.AcceptRecords(b);
      if (!accepted.ok()) state.SkipWithError(accepted.status().ToString().c_str());
    }
    state.PauseTiming();
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    state.ResumeTiming();
  }
  state.counters["records_per_s"] = benchmark::Counter(
      static_cast<double>(records.size() * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Ingest)
    ->ArgNames({"ledger", "secure_delete"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace rapport::privacy

BENCHMARK_MAIN();
