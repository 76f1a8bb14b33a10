// Event append into the SQLite store in batches of 1,000 (issue target: >= 200,000 events/s
// on one core), and the cost of parsing an NDJSON batch the way POST /v1/events does.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "core/ids.h"
#include "ingest/ingest.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace rapport {
namespace {

std::vector<Event> MakeBatch(int64_t start, int n) {
  std::vector<Event> batch;
  batch.reserve(n);
  for (int i = 0; i < n; ++i) {
    Event e;
    e.id = "bench-" + std::to_string(start + i);
    e.type = "kit.delivered";
    e.subject = "cust-" + std::to_string((start + i) % 100000);
    e.keys = {{"order_id", "O-" + std::to_string(start + i)}};
    e.occurred_at = FromMicros(1795428000000000 + (start + i) * 1000);
    e.received_at = e.occurred_at;
    e.payload = {{"carrier", "DHL"}, {"parcel", start + i}};
    batch.push_back(std::move(e));
  }
  return batch;
}

// Arg 0: 1 = fsync every commit (the default), 0 = synchronous=NORMAL.
void BM_SqliteAppendEvents(benchmark::State& state) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("rapport-bench-" + std::to_string(getpid()) + ".db"))
                         .string();
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
  auto store = store::OpenSqliteStore({.path = path, .sync_every_commit = state.range(0) == 1});
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  constexpr int kBatch = 1000;
  int64_t next = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = MakeBatch(next, kBatch);
    next += kBatch;
    state.ResumeTiming();
    auto r = (*store)->AppendEvents(batch);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  store->reset();
  for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path + s);
}
BENCHMARK(BM_SqliteAppendEvents)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();

// Batches of 1,000 into PostgreSQL (issue 10 target: >= 50,000 events/s on loopback). Needs
// RAPPORT_BENCH_PG, a libpq connection string of an empty database; bench/pg_bench.sh sets it.
void BM_PostgresAppendEvents(benchmark::State& state) {
  const char* url = std::getenv("RAPPORT_BENCH_PG");
  if (!url) {
    state.SkipWithError("set RAPPORT_BENCH_PG (bench/pg_bench.sh does)");
    return;
  }
  auto store = store::OpenPostgresStore({.url = url, .pool_size = 2});
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  constexpr int kBatch = 1000;
  // Distinct ids per run so that every event is really inserted.
  int64_t next = (*store)->Stats()->events + 1000000000LL * (getpid() % 1000);
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = MakeBatch(next, kBatch);
    next += kBatch;
    state.ResumeTiming();
    auto r = (*store)->AppendEvents(batch);
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_PostgresAppendEvents)->Unit(benchmark::kMillisecond)->MinTime(3)->UseRealTime();

void BM_ParseNdjsonBatch(benchmark::State& state) {
  std::string body;
  for (int i = 0; i < 1000; ++i) {
    body += R"({"id":"e)" + std::to_string(i) +
            R"(","type":"kit.delivered","subject":"cust-1","keys":{"order_id":"O-1"},)"
            R"("occurred_at":"2026-11-01T10:00:00Z","payload":{"carrier":"DHL"}})"
            "\n";
  }
  Time now = FromMicros(1795428000000000);
  for (auto _ : state) {
    auto events = ingest::ParseEvents(body, ingest::BodyFormat::kNdjson, now);
    benchmark::DoNotOptimize(events);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_ParseNdjsonBatch)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rapport

BENCHMARK_MAIN();
