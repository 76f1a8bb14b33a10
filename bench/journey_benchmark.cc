// Journey runtime throughput and footprint, in memory on one core: events per second through
// the trade-in journey (with duplicates, timers and late customers), and bytes per instance
// that waits for its kit with a pending timer. Targets: >= 100,000 events/s; 1,000,000 waiting
// instances in < 2 GiB.
#include <benchmark/benchmark.h>
#ifdef RAPPORT_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#else
#include <malloc.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/model.h"
#include "journey/definition.h"
#include "journey/runtime.h"
#include "trade_in_stream.h"

namespace rapport::journey {
namespace {

using bench::Ev;
using bench::kStart;
using bench::TradeInStream;
using std::chrono::days;
using std::chrono::hours;
using std::chrono::seconds;

DefinitionPtr TradeIn() {
  const char* dir = std::getenv("RAPPORT_SOURCE_DIR");
  auto def = LoadDefinitionFile(std::string(dir ? dir : ".") + "/examples/journeys/trade-in.yaml");
  if (!def.ok()) {
    std::fprintf(stderr, "%s\n", def.status().ToString().c_str());
    std::abort();
  }
  return *def;
}

void BM_TradeInEvents(benchmark::State& state) {
  DefinitionPtr def = TradeIn();
  const std::vector<Event> events = TradeInStream(static_cast<int>(state.range(0)));
  size_t fired = 0;
  for (auto _ : state) {
    ManualClock clock(kStart);
    RuntimeOptions options;
    options.record_timeline = state.range(1) != 0;
    options.keep_outbox = false;
    Runtime rt(clock, options);
    (void)rt.Deploy(def);
    for (const Event& e : events) {
      if (e.received_at > clock.Now()) {
        (void)clock.AdvanceTo(e.received_at);
        fired += rt.RunDue();
      }
      if (!rt.Ingest(e).ok()) state.SkipWithError("ingest failed");
    }
    (void)clock.Advance(days(60));
    fired += rt.RunDue();
    benchmark::DoNotOptimize(rt.instance_count());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(events.size()));
  state.counters["events/s"] = benchmark::Counter(static_cast<double>(events.size()),
                                                  benchmark::Counter::kIsIterationInvariantRate);
  state.counters["timers_decided"] =
      static_cast<double>(fired) / static_cast<double>(state.iterations());
}
// Args: customers, record timeline (1) or not (0).
BENCHMARK(BM_TradeInEvents)->Args({20000, 0})->Args({20000, 1})->Unit(benchmark::kMillisecond);

// Bytes the program holds on the heap, as the allocator it is linked with counts them
// (glibc's mallinfo2 knows nothing of jemalloc's arenas and reads 0 there).
size_t HeapInUse() {
#ifdef RAPPORT_WITH_JEMALLOC
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  mallctl("epoch", &epoch, &size, &epoch, size);  // refreshes the statistics
  size_t allocated = 0;
  size = sizeof(allocated);
  if (mallctl("stats.allocated", &allocated, &size, nullptr, 0) != 0) std::abort();
  return allocated;
#else
  struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

// Instances waiting for their kit: order placed and kit shipped, the lost-kit timer pending.
void BM_WaitingInstances(benchmark::State& state) {
  DefinitionPtr def = TradeIn();
  const int n = static_cast<int>(state.range(0));
  double per_instance = 0;
  for (auto _ : state) {
    ManualClock clock(kStart + days(1));
    RuntimeOptions options;
    options.record_timeline = false;
    options.keep_outbox = false;
    size_t before = HeapInUse();
    {
      Runtime rt(clock, options);
      (void)rt.Deploy(def);
      for (int i = 0; i < n; ++i) {
        std::string o = "O-" + std::to_string(1000000 + i);
        Event placed = Ev("evt_01JD" + std::to_string(1000000 + i) + "A", "order.placed",
                          {{"order_id", o}}, kStart);
        placed.payload = {{"trade_in", true}};
        (void)rt.Ingest(placed);
        (void)rt.Ingest(Ev("evt_01JD" + std::to_string(1000000 + i) + "B", "kit.label_created",
                           {{"order_id", o}, {"shipment_id", "S-" + std::to_string(i)}},
                           kStart + hours(6)));
      }
      if (rt.pending_timers() != static_cast<size_t>(n)) state.SkipWithError("timers missing");
      size_t after = HeapInUse();
      per_instance = static_cast<double>(after - before) / n;
      state.counters["instances"] = static_cast<double>(rt.instance_count());
    }
  }
  state.counters["bytes_per_instance"] = per_instance;
  state.counters["GiB_per_1M"] = per_instance * 1e6 / (1024.0 * 1024 * 1024);
}
BENCHMARK(BM_WaitingInstances)
    ->Arg(100000)
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rapport::journey

BENCHMARK_MAIN();
