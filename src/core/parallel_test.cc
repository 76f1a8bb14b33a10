#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace rapport {
namespace {

TEST(ParallelFor, CallsEveryIndexOnceOnTheThreadsItWasGiven) {
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{1000}}) {
      std::vector<std::atomic<int>> calls(n);
      std::atomic<unsigned> highest_thread{0};
      ParallelFor(n, threads, [&](size_t i, unsigned t) {
        calls[i]++;
        unsigned seen = highest_thread.load();
        while (t > seen && !highest_thread.compare_exchange_weak(seen, t)) {
        }
      });
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(calls[i].load(), 1) << "index " << i;
      EXPECT_LT(highest_thread.load(), std::max<unsigned>(1, threads));
    }
  }
}

TEST(ParallelFor, RethrowsWhatAWorkerThrewAfterAllFinished) {
  std::atomic<int> done{0};
  EXPECT_THROW(ParallelFor(100, 4,
                           [&](size_t i, unsigned) {
                             if (i == 41) throw std::runtime_error("item 41");
                             done++;
                           }),
               std::runtime_error);
  EXPECT_GT(done.load(), 0);
  EXPECT_LT(done.load(), 100);
}

}  // namespace
}  // namespace rapport
