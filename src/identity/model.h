// The Fellegi–Sunter match model: records normalized per comparison, comparison levels,
// m/u probabilities per level (built-in defaults, or u from random pairs and m by EM with
// guards), term-frequency adjustment for exact name and city agreement, values so frequent
// that they are placeholders, deterministic rules, conflicts (strong evidence against: a
// different birth date, a different first name), and explanations of a pair's score.
//
// Why guards: on large files most blocked pairs are namesakes, and EM happily learns "same
// name" as the match class, after which a different birth date costs almost nothing. u comes
// from random pairs and stays fixed; an m that EM moves to where the comparison no longer
// separates matches from random pairs is replaced by its built-in prior, and the report says so.
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

// A value as explanations show it: "1980-05-17", "hauptstr 5a", "anna@web.de (tag shop)".
std::string DescribeValue(ComparisonKind kind, const FieldValue& f);

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
  int given_ = -1, surname_ = -1;          // comparisons of the name fields, if any
};

// "Müller, Johann" in the given-name field (with the surname field empty or "Müller"), or in
// the surname field with the given-name field empty: the given name and surname it means.
// False, leaving the outputs alone, for anything else.
bool SplitCommaName(std::string_view given, std::string_view surname, std::string* given_out,
                    std::string* surname_out);
// A whole name in one column: "Müller, Johann" as above; otherwise the last word with the
// particles before it ("von der Heide") is the surname and the words before it the given
// names, leading salutations and titles ("Herr Dr.") dropped. False for an empty name.
bool SplitWholeName(std::string_view whole, std::string* given_out, std::string* surname_out);

// Levels of one pair, one per comparison; -1 where either side is missing.
struct ComparisonVector {
  std::vector<int8_t> levels;
  bool names_swapped = false;
};

// What decided a pair: its probability, and whether it carries strong evidence against being
// one person (a conflict), which no amount of agreement elsewhere may outvote automatically.
struct PairScore {
  double probability = 0;
  bool conflict = false;
  int16_t conflict_comparison = -1;  // the comparison of the conflict
  // A national id agrees (exactly or one typo apart): one person whatever else differs.
  bool id_agrees = false;
  // Bit i: comparison i (of the first 32) differs at its last level / agrees at another level.
  // For telling a record's wrong value from another person's (see JoinsCoherently).
  uint32_t differs = 0, agrees = 0;
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
  std::string conflict;     // the comparison that speaks strongly against ("" if none)
  std::string overruled;    // a conflict's comparison that an agreeing national id overruled
  bool names_swapped = false;

  // A table, one line per field, then the total, e.g. "surname  exact  +8.81 ...".
  std::string ToText() const;
  Json ToJson() const;
};

// Lets a map keyed by std::string be searched with a string_view, without a copy per lookup
// (term frequencies are looked up for every agreeing candidate pair).
struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct ComparisonParams {
  std::vector<double> m, u;  // per level, each summing to 1
  // Term frequencies of exact values (kGivenName, kSurname, kCity): value → count among
  // `tf_total` non-missing values. Empty: no adjustment.
  std::unordered_map<std::string, uint32_t, TransparentStringHash, std::equal_to<>> tf;
  uint64_t tf_total = 0;
  // Values so frequent that they stand for "unknown" (kBirthDate: 01.01.1970 on thousands of
  // records; kEmail, kPhone: a shop's "keine@mail.de"): compared as missing. Sorted.
  std::vector<std::string> placeholders;
};

// What training did for one comparison.
struct ComparisonTraining {
  std::string name;
  std::vector<double> m_em;  // as EM estimated it
  std::vector<double> m, u;  // as used
  bool fallback = false;     // m_em failed a guard: the built-in prior m is used
  std::string guard;         // why, when it failed
  size_t placeholders = 0;   // frequent values treated as missing
};

struct TrainingReport {
  bool trained = false;  // false: built-in defaults kept (too few records)
  size_t records = 0;
  size_t random_pairs = 0;
  size_t candidate_pairs = 0;
  int em_iterations = 0;
  double lambda = 0;
  std::vector<ComparisonTraining> comparisons;

  // One line per comparison and level: m, u, weight, and the guard's verdict.
  std::string ToText(const MatchConfig& config) const;
  Json ToJson() const;
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
  // Match probability of a compared pair (deterministic rules included) and its conflict.
  PairScore Score(const NormalizedRecord& a, const NormalizedRecord& b,
                  const ComparisonVector& v) const;
  PairScore Score(const NormalizedRecord& a, const NormalizedRecord& b) const;
  double Probability(const NormalizedRecord& a, const NormalizedRecord& b) const {
    return Score(a, b).probability;
  }
  Explanation Explain(const NormalizedRecord& a, const NormalizedRecord& b) const;

  const MatchConfig& config() const { return config_; }
  const std::vector<ComparisonParams>& params() const { return params_; }
  double lambda() const { return lambda_; }
  bool trained() const { return trained_; }
  const TrainingReport& training() const { return training_; }

  // {"version":1,"config":{...},"lambda":..,"comparisons":[{"name","m":[],"u":[],
  //  "tf_total":N,"tf":{value:count}}]}; term frequencies with count 1 are not stored.
  Json ToJson() const;
  // Fails with kInvalidArgument naming the field when the document is not a model.
  static Result<MatchModel> FromJson(const Json& j);

 private:
  // log2(m / u) per comparison and level, from params_: set wherever params_ change.
  void CacheWeights();
  void Discounts(const int8_t* levels, bool names_swapped, bool* household, bool* neighbour) const;
  // Term frequencies and placeholders (values so frequent they mean "unknown") of `records`.
  void CountValues(const std::vector<NormalizedRecord>& records);
  // P(match) of a comparison pattern under m, u and λ, with the discounts of scoring.
  double MatchPosterior(const int8_t* levels, const std::vector<std::vector<double>>& m,
                        const std::vector<std::vector<double>>& u, double lambda) const;
  // Index of the comparison that speaks strongly against the pair, or -1. `*overruled` is set
  // when a national id agrees: the index is then that of the conflict it overrules.
  int Conflict(const NormalizedRecord& a, const NormalizedRecord& b, const ComparisonVector& v,
               bool* overruled) const;
  bool IsPlaceholder(size_t comparison, const FieldValue& f) const;
  // `conflict_comparison` (optional): the index of e.conflict, -1 when there is none.
  Explanation Evaluate(const NormalizedRecord& a, const NormalizedRecord& b,
                       const ComparisonVector& v, bool with_text,
                       int* conflict_comparison = nullptr) const;

  MatchConfig config_;
  std::vector<ComparisonParams> params_;
  std::vector<std::vector<double>> level_weights_;
  std::vector<int> with_placeholders_;                   // comparisons that have any
  std::vector<std::vector<int32_t>> placeholder_dates_;  // per comparison, sorted (dates)
  std::vector<std::vector<int>> rules_;  // comparison indices per deterministic rule
  double lambda_ = 1e-6;
  bool trained_ = false;
  TrainingReport training_;
  int given_ = -1, surname_ = -1, address_ = -1, postcode_ = -1;  // indices of special comparisons
  int address_extra_ = -1;          // the second address line (kText named "address_extra")
  std::vector<int8_t> last_level_;  // per comparison: its "different" level
};

}  // namespace rapport::identity
