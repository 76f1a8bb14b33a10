// Incremental matching: an in-memory index of normalized records and their blocking keys,
// so that one incoming record is matched against everything stored without a batch run.
// It uses the same MatchModel (default or trained, e.g. restored with
// MatchModel::FromJson) as the batch pipeline, so both give the same probability for a pair.
//
// Thread-safety: all methods may be called concurrently; Add/Remove take an exclusive
// lock, Match a shared one.
// Memory: one NormalizedRecord plus one posting per blocking rule per stored record.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "identity/blocking.h"
#include "identity/model.h"

namespace rapport::identity {

struct MatchCandidate {
  std::string id;
  double probability = 0;
  bool conflict = false;    // strong evidence against one person (see MatchModel::Score)
  Explanation explanation;  // filled when asked for (MatchOptions::explain)
};

struct MatchOptions {
  double min_probability = 0.5;
  size_t limit = 10;
  bool explain = true;
};

class MatchIndex {
 public:
  // Fails with kInvalidArgument when the model's blocking rules are invalid.
  static Result<std::unique_ptr<MatchIndex>> Create(MatchModel model);

  // Stores `record` under `id` (record.id is overwritten). kAlreadyExists if `id` is stored.
  Status Add(std::string id, NormalizedRecord record);
  // kNotFound if `id` is not stored.
  Status Remove(std::string_view id);
  bool Contains(std::string_view id) const;
  size_t size() const;

  // Stored records sharing a blocking key with `record` whose probability reaches
  // options.min_probability, best first, at most options.limit. A record stored under the
  // same id as `record.id` is skipped (a record does not match itself).
  std::vector<MatchCandidate> Match(const NormalizedRecord& record,
                                    const MatchOptions& options = {}) const;

  // What Match would give each record of `batch` had the records before it been added first,
  // in order: its candidates among the stored records and the earlier records of the batch,
  // a block skipped once it holds more than max_block_size records at that record's turn.
  // The records' ids must be distinct; the caller adds them afterwards (one batch, one lock,
  // up to `threads` threads instead of one Match and Add after another).
  std::vector<std::vector<MatchCandidate>> MatchInOrder(const std::vector<NormalizedRecord>& batch,
                                                        const MatchOptions& options,
                                                        unsigned threads) const;

  // `record` scored against each stored record of `ids`, in that order; ids not stored are
  // skipped. For checking that a record fits every record of a person, not only its best match.
  std::vector<PairScore> ScoreAgainst(const NormalizedRecord& record,
                                      const std::vector<std::string_view>& ids) const;

  // Two stored records scored against each other; kNotFound names an id that is not stored.
  Result<PairScore> ScoreStored(std::string_view a, std::string_view b) const;

  // The model scoring now. UseModel replaces it: hold the reference only while no other
  // thread can call UseModel (the profiles service does both under its own lock).
  const MatchModel& model() const { return model_; }

  // A model fitted (as TrainModel fits one) to the stored records and `batch`. The stored
  // records are moved out of the index and back, not copied: a copy doubled a refit's memory.
  // Takes the exclusive lock for the fit.
  Result<MatchModel> Fit(const std::vector<NormalizedRecord>& batch, unsigned threads);
  // Scores with `model` from now on. Its blocking rules must be this index's (kInvalidArgument
  // otherwise): the records stay where they are.
  Status UseModel(MatchModel model);

 private:
  // Scores `record` against `others` (each at most once) and keeps what Match keeps.
  std::vector<MatchCandidate> Score(const NormalizedRecord& record,
                                    const std::vector<const NormalizedRecord*>& others,
                                    const MatchOptions& options) const;

  MatchIndex(MatchModel model, Blocker blocker)
      : model_(std::move(model)),
        blocker_(std::move(blocker)),
        width_(model_.config().comparisons.size()) {}

  MatchModel model_;  // replaced under the exclusive lock (UseModel)
  const Blocker blocker_;
  const size_t width_;  // comparisons per record, the same for every model UseModel takes
  mutable std::shared_mutex mu_;
  std::vector<NormalizedRecord> slots_;  // a removed slot has an empty id
  std::vector<std::vector<uint64_t>> slot_keys_;
  std::vector<uint32_t> free_;
  std::unordered_map<std::string, uint32_t> by_id_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> postings_;
};

}  // namespace rapport::identity
