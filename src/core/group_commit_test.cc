#include "core/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace rapport {
namespace {

using Batches = std::vector<std::vector<int>>;

// A batch writer whose first batch waits for `release`, so that callers can queue behind it.
// Outcome of item i: i * 10.
struct HeldWriter {
  std::atomic<bool> release{false};
  std::atomic<int> calls{0};
  std::mutex mu;
  Batches seen;

  Result<std::vector<int>> operator()(const std::vector<int>& items) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(items);
    }
    if (++calls == 1) {
      while (!release) std::this_thread::yield();
    }
    std::vector<int> out;
    for (int i : items) out.push_back(i * 10);
    return out;
  }
  void AwaitFirstCall() const {
    while (calls == 0) std::this_thread::yield();
  }
};

// Waits until `n` callers are queued behind the batch being written.
void AwaitQueued(const GroupCommit<int, int>& commit, size_t n) {
  while (commit.queued() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(GroupCommitTest, ACallerAloneIsWrittenAtOnceWithItsOwnItems) {
  Batches seen;
  GroupCommit<int, int> commit(
      [&](const std::vector<int>& items) -> Result<std::vector<int>> {
        seen.push_back(items);
        std::vector<int> out;
        for (int i : items) out.push_back(i * 10);
        return out;
      },
      100);
  auto r = commit.Submit({1, 2, 3});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(seen, (Batches{{1, 2, 3}}));
}

// While one batch is written, the callers that arrive are written together in the next one,
// each getting back the outcomes of its own items in order.
TEST(GroupCommitTest, CallersArrivingDuringAWriteShareTheNextBatch) {
  HeldWriter writer;
  GroupCommit<int, int> commit(std::ref(writer), 100);
  std::thread first([&] { EXPECT_TRUE(commit.Submit({0}).ok()); });
  writer.AwaitFirstCall();
  constexpr int kCallers = 5;
  std::vector<Result<std::vector<int>>> outcomes(kCallers, std::vector<int>{});
  std::vector<std::thread> callers;
  for (int c = 1; c <= kCallers; ++c) {
    callers.emplace_back([&, c] { outcomes[c - 1] = commit.Submit({c * 100 + 1, c * 100 + 2}); });
    AwaitQueued(commit, static_cast<size_t>(c));  // in a known order
  }
  writer.release = true;
  first.join();
  for (auto& t : callers) t.join();
  ASSERT_EQ(writer.seen.size(), 2u);
  EXPECT_EQ(writer.seen[1], (std::vector<int>{101, 102, 201, 202, 301, 302, 401, 402, 501, 502}));
  for (int c = 1; c <= kCallers; ++c) {
    ASSERT_TRUE(outcomes[c - 1].ok());
    EXPECT_EQ(*outcomes[c - 1], (std::vector<int>{c * 1000 + 10, c * 1000 + 20}));
  }
}

TEST(GroupCommitTest, ABatchTakesWholeInputsUpToItsSize) {
  HeldWriter writer;
  GroupCommit<int, int> commit(std::ref(writer), 3);
  std::thread first([&] { EXPECT_TRUE(commit.Submit({0}).ok()); });
  writer.AwaitFirstCall();
  std::thread a([&] { EXPECT_TRUE(commit.Submit({1, 2}).ok()); });
  AwaitQueued(commit, 1);
  std::thread b([&] { EXPECT_TRUE(commit.Submit({3, 4}).ok()); });
  AwaitQueued(commit, 2);
  std::thread big([&] { EXPECT_TRUE(commit.Submit({5, 6, 7, 8}).ok()); });
  AwaitQueued(commit, 3);
  writer.release = true;
  for (auto* t : {&first, &a, &b, &big}) t->join();
  EXPECT_EQ(writer.seen, (Batches{{0}, {1, 2}, {3, 4}, {5, 6, 7, 8}}));
}

TEST(GroupCommitTest, AFailedBatchFailsEachOfItsCallersAndTheNextBatchIsWritten) {
  HeldWriter writer;
  GroupCommit<int, int> commit(
      [&](const std::vector<int>& items) -> Result<std::vector<int>> {
        auto out = writer(items);
        if (writer.calls == 2) return Unavailable("disk full");
        if (writer.calls == 3) throw std::runtime_error("out of luck");
        return out;
      },
      100);
  std::thread first([&] { EXPECT_TRUE(commit.Submit({0}).ok()); });
  writer.AwaitFirstCall();
  Status a_status, b_status;
  std::thread a([&] { a_status = commit.Submit({1}).status(); });
  AwaitQueued(commit, 1);
  std::thread b([&] { b_status = commit.Submit({2}).status(); });
  AwaitQueued(commit, 2);
  writer.release = true;
  for (auto* t : {&first, &a, &b}) t->join();
  EXPECT_EQ(a_status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(b_status.code(), StatusCode::kUnavailable);
  auto thrown = commit.Submit({3});
  EXPECT_EQ(thrown.status().code(), StatusCode::kInternal);
  EXPECT_NE(thrown.status().message().find("out of luck"), std::string::npos);
  auto after = commit.Submit({4});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, std::vector<int>{40});
}

}  // namespace
}  // namespace rapport
