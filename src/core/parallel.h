// ParallelFor: a loop over [0, n) split round-robin over a few threads, for work that is
// parallel by item (normalizing or matching a batch of records).
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace rapport {

// Calls f(i, thread) for every i in [0, n), on at most `threads` threads (the calling thread
// alone when that is 1 or n is 1, so a batch of one costs no thread start). Returns when all
// calls are done. An exception thrown by f stops that thread's share and is rethrown here
// once every thread has finished, as the plain loop would throw it.
template <typename F>
void ParallelFor(size_t n, unsigned threads, F&& f) {
  threads = std::max(1u, std::min<unsigned>(threads, n == 0 ? 1 : static_cast<unsigned>(n)));
  if (threads == 1) {
    for (size_t i = 0; i < n; ++i) f(i, 0u);
    return;
  }
  std::exception_ptr failure;
  std::mutex failure_mu;
  auto share = [&](unsigned t) {
    try {
      for (size_t i = t; i < n; i += threads) f(i, t);
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mu);
      if (!failure) failure = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(share, t);
  share(0);
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace rapport
