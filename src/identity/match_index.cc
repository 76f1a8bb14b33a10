// MatchIndex: postings per blocking key; a query scores the union of its keys' postings.

#include "identity/match_index.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "core/parallel.h"
#include "identity/pipeline.h"

namespace rapport::identity {

Result<std::unique_ptr<MatchIndex>> MatchIndex::Create(MatchModel model) {
  ASSIGN_OR_RETURN(Blocker blocker, Blocker::Create(model.config()));
  return std::unique_ptr<MatchIndex>(new MatchIndex(std::move(model), std::move(blocker)));
}

Result<MatchModel> MatchIndex::Fit(const std::vector<NormalizedRecord>& batch, unsigned threads) {
  std::unique_lock lock(mu_);
  std::vector<NormalizedRecord> all;
  all.reserve(by_id_.size() + batch.size());
  std::vector<uint32_t> from;
  from.reserve(by_id_.size());
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    if (slots_[slot].id.empty()) continue;  // removed
    all.push_back(std::move(slots_[slot]));
    from.push_back(slot);
  }
  all.insert(all.end(), batch.begin(), batch.end());
  auto put_back = [&] {
    for (size_t i = 0; i < from.size(); ++i) slots_[from[i]] = std::move(all[i]);
  };
  try {
    Result<MatchModel> model = TrainModel(all, model_.config(), threads);
    put_back();
    return model;
  } catch (...) {  // e.g. out of memory: the index must keep its records
    put_back();
    throw;
  }
}

Status MatchIndex::UseModel(MatchModel model) {
  std::unique_lock lock(mu_);
  if (model.config().blocking != model_.config().blocking ||
      model.config().comparisons.size() != width_) {
    return InvalidArgument("the model's blocking rules or comparisons are not this index's");
  }
  model_ = std::move(model);
  return OkStatus();
}

Status MatchIndex::Add(std::string id, NormalizedRecord record) {
  if (id.empty()) return InvalidArgument("empty id");
  if (record.values.size() != width_) {
    return InvalidArgument("record was normalized with another configuration");
  }
  record.id = id;
  std::vector<uint64_t> keys = blocker_.Keys(record);
  std::unique_lock lock(mu_);
  if (by_id_.count(id)) return AlreadyExists("record " + id + " is already indexed");
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
    slots_[slot] = std::move(record);
    slot_keys_[slot] = keys;
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::move(record));
    slot_keys_.push_back(keys);
  }
  for (uint64_t k : keys) postings_[k].push_back(slot);
  by_id_.emplace(std::move(id), slot);
  return OkStatus();
}

Status MatchIndex::Remove(std::string_view id) {
  std::unique_lock lock(mu_);
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return NotFound("record " + std::string(id) + " is not indexed");
  uint32_t slot = it->second;
  for (uint64_t k : slot_keys_[slot]) {
    auto p = postings_.find(k);
    if (p == postings_.end()) continue;
    auto& v = p->second;
    v.erase(std::remove(v.begin(), v.end(), slot), v.end());
    if (v.empty()) postings_.erase(p);
  }
  slots_[slot] = NormalizedRecord{};
  slot_keys_[slot].clear();
  free_.push_back(slot);
  by_id_.erase(it);
  return OkStatus();
}

bool MatchIndex::Contains(std::string_view id) const {
  std::shared_lock lock(mu_);
  return by_id_.count(std::string(id)) > 0;
}

size_t MatchIndex::size() const {
  std::shared_lock lock(mu_);
  return by_id_.size();
}

std::vector<MatchCandidate> MatchIndex::Match(const NormalizedRecord& record,
                                              const MatchOptions& options) const {
  if (record.values.size() != width_) return {};
  std::vector<uint64_t> keys = blocker_.Keys(record);
  std::shared_lock lock(mu_);
  std::vector<uint32_t> slots;
  for (uint64_t k : keys) {
    auto it = postings_.find(k);
    // The batch pipeline skips oversized blocks too; the same rule keeps both consistent.
    if (it == postings_.end() || it->second.size() > blocker_.max_block_size()) continue;
    slots.insert(slots.end(), it->second.begin(), it->second.end());
  }
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  // The record itself is skipped by its slot: comparing ids per candidate (time-ordered, so
  // with long equal prefixes) was 8% of a 1M import.
  auto self = by_id_.find(record.id);
  const uint32_t self_slot = self == by_id_.end() ? UINT32_MAX : self->second;
  std::vector<const NormalizedRecord*> others;
  others.reserve(slots.size());
  for (uint32_t s : slots) {
    if (s != self_slot && !slots_[s].id.empty()) others.push_back(&slots_[s]);
  }
  return Score(record, others, options);
}

std::vector<PairScore> MatchIndex::ScoreAgainst(const NormalizedRecord& record,
                                                const std::vector<std::string_view>& ids) const {
  std::shared_lock lock(mu_);
  std::vector<PairScore> out;
  out.reserve(ids.size());
  ComparisonVector v;
  for (std::string_view id : ids) {
    auto it = by_id_.find(std::string(id));
    if (it == by_id_.end()) continue;
    const NormalizedRecord& other = slots_[it->second];
    model_.CompareInto(record, other, v);
    out.push_back(model_.Score(record, other, v));
  }
  return out;
}

Result<PairScore> MatchIndex::ScoreStored(std::string_view a, std::string_view b) const {
  std::shared_lock lock(mu_);
  auto x = by_id_.find(std::string(a));
  auto y = by_id_.find(std::string(b));
  if (x == by_id_.end() || y == by_id_.end()) {
    return NotFound("record " + std::string(x == by_id_.end() ? a : b) + " is not in the index");
  }
  return model_.Score(slots_[x->second], slots_[y->second]);
}

std::vector<MatchCandidate> MatchIndex::Score(const NormalizedRecord& record,
                                              const std::vector<const NormalizedRecord*>& others,
                                              const MatchOptions& options) const {
  std::vector<std::pair<PairScore, const NormalizedRecord*>> kept;
  ComparisonVector v;
  for (const NormalizedRecord* other : others) {
    model_.CompareInto(record, *other, v);
    PairScore p = model_.Score(record, *other, v);
    if (p.probability >= options.min_probability) kept.emplace_back(p, other);
  }
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.first.probability != b.first.probability ? a.first.probability > b.first.probability
                                                      : a.second->id < b.second->id;
  });
  if (kept.size() > options.limit) kept.resize(options.limit);
  // Only what is returned is explained.
  std::vector<MatchCandidate> out;
  out.reserve(kept.size());
  for (const auto& [p, other] : kept) {
    MatchCandidate c;
    c.id = other->id;
    c.probability = p.probability;
    c.conflict = p.conflict;
    if (options.explain) c.explanation = model_.Explain(record, *other);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::vector<MatchCandidate>> MatchIndex::MatchInOrder(
    const std::vector<NormalizedRecord>& batch, const MatchOptions& options,
    unsigned threads) const {
  const size_t n = batch.size();
  const size_t width = width_;
  std::vector<std::vector<uint64_t>> keys(n);
  ParallelFor(n, threads, [&](size_t i, unsigned) {
    if (batch[i].values.size() == width) keys[i] = blocker_.Keys(batch[i]);
  });
  // Per key, the batch records that will have been added before each record's turn: pushed in
  // order, so the entries below i are the first lower_bound(i) (a key a record has twice
  // counts twice, as Add posts it twice).
  std::unordered_map<uint64_t, std::vector<uint32_t>> batch_postings;
  for (size_t i = 0; i < n; ++i) {
    for (uint64_t k : keys[i]) batch_postings[k].push_back(static_cast<uint32_t>(i));
  }
  std::vector<std::vector<MatchCandidate>> out(n);
  std::shared_lock lock(mu_);
  ParallelFor(n, threads, [&](size_t i, unsigned) {
    std::vector<uint32_t> slots, earlier;
    for (uint64_t k : keys[i]) {
      const std::vector<uint32_t>& members = batch_postings.find(k)->second;
      size_t before = static_cast<size_t>(
          std::lower_bound(members.begin(), members.end(), static_cast<uint32_t>(i)) -
          members.begin());
      auto it = postings_.find(k);
      size_t stored = it == postings_.end() ? 0 : it->second.size();
      if (stored + before > blocker_.max_block_size()) continue;
      if (it != postings_.end()) slots.insert(slots.end(), it->second.begin(), it->second.end());
      earlier.insert(earlier.end(), members.begin(), members.begin() + before);
    }
    std::sort(slots.begin(), slots.end());
    slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
    std::sort(earlier.begin(), earlier.end());
    earlier.erase(std::unique(earlier.begin(), earlier.end()), earlier.end());
    // As in Match, a stored record under the same id is not a candidate.
    auto self = by_id_.find(batch[i].id);
    const uint32_t self_slot = self == by_id_.end() ? UINT32_MAX : self->second;
    std::vector<const NormalizedRecord*> others;
    others.reserve(slots.size() + earlier.size());
    for (uint32_t s : slots) {
      if (s != self_slot && !slots_[s].id.empty()) others.push_back(&slots_[s]);
    }
    for (uint32_t j : earlier) others.push_back(&batch[j]);
    out[i] = Score(batch[i], others, options);
  });
  return out;
}

}  // namespace rapport::identity
