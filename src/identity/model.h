// The Fellegi–Sunter match model: records normalized per comparison, comparison levels,
// m/u probabilities per level (built-in defaults, or u from random pairs and m by EM),
// term-frequency adjustment for exact name and city agreement, deterministic rules, and
// explanations of a pair's score field by field.
//
// Thread-safety: a MatchModel and a RecordNormalizer are immutable after construction or
// training, so Compare/Score/Explain may run concurrently from any number of threads.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/json.h"
#include "core/model.h"
#include "core/status.h"
#include "identity/config.h"

namespace rapport::identity {

// One comparison's normalized value. What a, b and c hold depends on the kind (see
// model.cc); a value with empty `a` and zero `num` is missing.
struct FieldValue {
  std::string a, b, c;
  int32_t num = 0;
  bool missing() const { return a.empty() && num == 0; }
};

// A record reduced to what matching needs: its id and one FieldValue per comparison of the
// config it was normalized with. Cheap to copy; holds no reference to the source row.
struct NormalizedRecord {
  std::string id;
  std::vector<FieldValue> values;
};

// Turns rows of one header into NormalizedRecords for a resolved config.
class RecordNormalizer {
 public:
  // `config` must be resolved (ResolveConfig) against `header`; fails with
  // kInvalidArgument if a column is missing.
  static Result<RecordNormalizer> Create(const MatchConfig& config,
                                         const std::vector<std::string>& header);
  // Missing trailing fields of a short (ragged) row read as blank.
  NormalizedRecord Normalize(const std::vector<std::string>& row) const;
  // Name/value form; names are matched to the header case-insensitively, unknown names are
  // ignored, so callers of the incremental API need not know column order.
  NormalizedRecord Normalize(const Fields& fields) const;
  const std::vector<std::string>& header() const { return header_; }
  int id_column() const { return id_column_; }

 private:
  MatchConfig config_;
  std::vector<std::string> header_;
  std::vector<std::string> header_lower_;  // for Normalize(Fields), which runs per record
  int id_column_ = 0;
  std::vector<std::vector<int>> columns_;  // per comparison
};

// Levels of one pair, one per comparison; -1 where either side is missing.
struct ComparisonVector {
  std::vector<int8_t> levels;
  bool names_swapped = false;
};

struct FieldExplanation {
  std::string comparison;
  std::string level;        // level name, or "missing"
  int level_index = -1;     // -1 missing
  double weight = 0;        // log2 Bayes factor that was counted
  std::string left, right;  // the normalized values compared
  std::string note;         // term-frequency adjustment, household or neighbour discount
};

struct Explanation {
  std::string left_id, right_id;
  std::vector<FieldExplanation> fields;
  double prior_weight = 0;  // log2(λ / (1 - λ))
  double total_weight = 0;  // prior + Σ field weights
  double probability = 0;   // 2^w / (1 + 2^w), or 1 when a deterministic rule fired
  std::string rule;         // the deterministic rule that fired, e.g. "email+birth_date"
  bool names_swapped = false;

  // A table, one line per field, then the total, e.g. "surname  exact  +8.81 ...".
  std::string ToText() const;
  Json ToJson() const;
};

struct ComparisonParams {
  std::vector<double> m, u;  // per level, each summing to 1
  // Term frequencies of exact values (kGivenName, kSurname, kCity): value → count among
  // `tf_total` non-missing values. Empty: no adjustment.
  std::unordered_map<std::string, uint32_t> tf;
  uint64_t tf_total = 0;
};

struct TrainingReport {
  bool trained = false;  // false: built-in defaults kept (too few records)
  size_t random_pairs = 0;
  size_t candidate_pairs = 0;
  int em_iterations = 0;
  double lambda = 0;
};

class MatchModel {
 public:
  // Built-in default parameters for the config's comparisons: they work without training
  // for person and customer records, and are where training starts.
  static MatchModel Default(const MatchConfig& config);

  // u from `random_pairs` random record pairs, m and λ by EM over `candidates` (index pairs
  // into `records`), term frequencies from `records`. With fewer than
  // config.min_records_to_train records the defaults are kept. Deterministic for a seed.
  TrainingReport Train(const std::vector<NormalizedRecord>& records,
                       const std::vector<std::pair<uint32_t, uint32_t>>& candidates,
                       size_t random_pairs = 200000, uint64_t seed = 1);

  ComparisonVector Compare(const NormalizedRecord& a, const NormalizedRecord& b) const;
  // Compare into a caller's buffer: no allocation per pair when `v` is reused.
  void CompareInto(const NormalizedRecord& a, const NormalizedRecord& b, ComparisonVector& v) const;
  // Match probability of a compared pair (deterministic rules included).
  double Probability(const NormalizedRecord& a, const NormalizedRecord& b,
                     const ComparisonVector& v) const;
  double Probability(const NormalizedRecord& a, const NormalizedRecord& b) const;
  Explanation Explain(const NormalizedRecord& a, const NormalizedRecord& b) const;

  const MatchConfig& config() const { return config_; }
  const std::vector<ComparisonParams>& params() const { return params_; }
  double lambda() const { return lambda_; }
  bool trained() const { return trained_; }

  // {"version":1,"config":{...},"lambda":..,"comparisons":[{"name","m":[],"u":[],
  //  "tf_total":N,"tf":{value:count}}]}; term frequencies with count 1 are not stored.
  Json ToJson() const;
  // Fails with kInvalidArgument naming the field when the document is not a model.
  static Result<MatchModel> FromJson(const Json& j);

 private:
  // log2(m / u) per comparison and level, from params_: set wherever params_ change.
  void CacheWeights();
  void Discounts(const int8_t* levels, bool names_swapped, bool* household, bool* neighbour) const;
  Explanation Evaluate(const NormalizedRecord& a, const NormalizedRecord& b,
                       const ComparisonVector& v, bool with_text) const;

  MatchConfig config_;
  std::vector<ComparisonParams> params_;
  std::vector<std::vector<double>> level_weights_;
  std::vector<std::vector<int>> rules_;  // comparison indices per deterministic rule
  double lambda_ = 1e-6;
  bool trained_ = false;
  int given_ = -1, surname_ = -1, address_ = -1, postcode_ = -1;  // indices of special comparisons
};

}  // namespace rapport::identity
