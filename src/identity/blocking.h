// Blocking: which record pairs are compared at all. Several rules are combined (union);
// each rule builds a key from normalized fields ("surname.phonetic" + "given_name.initial"),
// and records sharing a key form a block. A rule of exactly a given-name and a surname key
// with one transform reads them in either order, so records with swapped name fields meet. A record
// without a value for a key part is in no block of that rule. Blocks larger than
// config.max_block_size are skipped and counted, so one common value cannot make the run quadratic.
//
// Thread-safety: a Blocker is immutable; Keys() and CandidatePairs() may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "identity/config.h"
#include "identity/model.h"

namespace rapport::identity {

using RecordPair = std::pair<uint32_t, uint32_t>;  // indices, first < second

struct BlockingStats {
  size_t records = 0;
  size_t comparable_pairs = 0;         // all pairs (dedupe) or |A|·|B| (link)
  size_t candidate_pairs = 0;          // distinct pairs after the union of rules
  double reduction_ratio = 0;          // 1 - candidate / comparable
  std::vector<size_t> pairs_per_rule;  // before the union
  size_t skipped_blocks = 0;           // blocks larger than max_block_size
  size_t skipped_records = 0;          // records in skipped blocks (counted once per block)
};

class Blocker {
 public:
  // Fails with kInvalidArgument for a rule that names an unknown comparison or transform.
  static Result<Blocker> Create(const MatchConfig& config);

  // One 64-bit key per rule that yields a key for `r` (rule index mixed into the hash).
  std::vector<uint64_t> Keys(const NormalizedRecord& r) const;

  // Distinct candidate pairs (i < j) over `records`. With `side` (link mode), only pairs
  // whose sides differ. Uses up to `threads` threads. Deterministic order (sorted).
  std::vector<RecordPair> CandidatePairs(const std::vector<NormalizedRecord>& records,
                                         const std::vector<uint8_t>* side, BlockingStats* stats,
                                         unsigned threads = 2) const;

  size_t max_block_size() const { return max_block_size_; }

 private:
  enum class Transform {
    kDefault,
    kFirst,
    kCanonical,
    kInitial,
    kPhonetic,
    kYear,
    kMonthDay,
    kStreet,
    kNumber,
    kPrefix3,
    kSorted
  };
  struct Part {
    int comparison;
    ComparisonKind kind;
    Transform transform;
  };
  bool KeyPart(const NormalizedRecord& r, const Part& p, std::string* out) const;
  // The key of `rule` for `r` into *key; false when a part has no value. `buf` is scratch.
  bool RuleKey(const NormalizedRecord& r, size_t rule, std::string* buf, uint64_t* key) const;

  std::vector<std::vector<Part>> rules_;
  std::vector<bool> unordered_;  // per rule: a given-name and a surname key, either order
  size_t max_block_size_ = 1000;
};

}  // namespace rapport::identity
