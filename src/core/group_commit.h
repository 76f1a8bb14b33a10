// Group commit: the inputs of callers that arrive while a batch is being written are written
// together in the next batch, so that one transaction and one fsync serve all of them. The
// caller that finds no batch running writes its own input at once (no timer, no added latency
// when alone); under load the batches grow by themselves, as in PostgreSQL's WAL writer or
// LevelDB's write queue.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace rapport {

// T: one input item (a record); R: the outcome of one item. `write` gets a batch and returns
// one R per item in the same order, or an error that every caller of the batch receives.
template <class T, class R>
class GroupCommit {
 public:
  using Write = std::function<Result<std::vector<R>>(const std::vector<T>&)>;

  // A batch takes whole inputs up to `max_items` (a larger input is a batch of its own).
  GroupCommit(Write write, size_t max_items) : write_(std::move(write)), max_items_(max_items) {}

  // Inputs waiting for the next batch (not the one being written).
  size_t queued() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
  }

  // Writes `items` (alone or with other callers' inputs) and returns their outcomes in order.
  // Thread-safe; batches are written one after another, in the order their callers arrived.
  Result<std::vector<R>> Submit(const std::vector<T>& items) {
    Waiter me{&items};
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&me);
    // Each waiter has its own condition: after a batch only its callers and the next leader
    // wake, not every waiter to find out that it must wait on.
    me.wake.wait(lock, [&] { return me.done || (!writing_ && queue_.front() == &me); });
    if (me.done) return std::move(me.outcome);
    writing_ = true;
    std::vector<Waiter*> batch = TakeBatch();
    lock.unlock();
    WriteBatch(batch);
    lock.lock();
    writing_ = false;
    for (Waiter* w : batch) {
      w->done = true;
      if (w != &me) w->wake.notify_one();
    }
    if (!queue_.empty()) queue_.front()->wake.notify_one();
    return std::move(me.outcome);
  }

 private:
  struct Waiter {
    const std::vector<T>* items;
    Result<std::vector<R>> outcome = std::vector<R>{};
    bool done = false;
    std::condition_variable wake;
  };

  // Called with mu_ held: the waiters at the front of the queue, as many as fit.
  std::vector<Waiter*> TakeBatch() {
    std::vector<Waiter*> batch;
    size_t items = 0;
    while (!queue_.empty()) {
      size_t next = queue_.front()->items->size();
      if (!batch.empty() && items + next > max_items_) break;
      items += next;
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    return batch;
  }

  // An exception would leave the waiters waiting for ever: it becomes their error.
  Result<std::vector<R>> GuardedWrite(const std::vector<T>& items) {
    try {
      return write_(items);
    } catch (const std::exception& e) {
      return Internal(std::string("group commit: the batch writer threw: ") + e.what());
    }
  }

  void WriteBatch(const std::vector<Waiter*>& batch) {
    // One caller alone: its own vector, without a copy.
    if (batch.size() == 1) {
      batch[0]->outcome = GuardedWrite(*batch[0]->items);
      return;
    }
    std::vector<T> all;
    for (const Waiter* w : batch) all.insert(all.end(), w->items->begin(), w->items->end());
    Result<std::vector<R>> outcomes = GuardedWrite(all);
    if (outcomes.ok() && outcomes->size() != all.size()) {
      outcomes =
          Internal("group commit: the batch writer returned " + std::to_string(outcomes->size()) +
                   " outcomes for " + std::to_string(all.size()) + " items");
    }
    size_t at = 0;
    for (Waiter* w : batch) {
      if (!outcomes.ok()) {
        w->outcome = outcomes.status();
        continue;
      }
      auto first = outcomes->begin() + static_cast<std::ptrdiff_t>(at);
      at += w->items->size();
      auto last = outcomes->begin() + static_cast<std::ptrdiff_t>(at);
      w->outcome = std::vector<R>(std::make_move_iterator(first), std::make_move_iterator(last));
    }
  }

  const Write write_;
  const size_t max_items_;
  mutable std::mutex mu_;
  std::deque<Waiter*> queue_;
  bool writing_ = false;
};

}  // namespace rapport
