// Parts forecast: which spare parts a repair will likely need, learned from past repairs.
//
// A repair's context is (model, family, symptom category, age band). Counts of repairs and of
// the parts they used are kept for five nested levels, from the broadest to the narrowest:
//   0 global · 1 symptom · 2 family x symptom · 3 model x symptom · 4 model x symptom x age band
// The probability that a part is needed is estimated level by level with a Beta prior centred
// on the estimate one level up (hierarchical additive smoothing):
//   p_k(part) = (c_k(part) + s * p_{k-1}(part)) / (n_k + s),   p_{-1}(part) = 1 / #candidates
// so a model with few repairs borrows from its family, a family from the symptom, and a
// context with much history speaks for itself. Each prediction carries its counts per level.
//
// Pure computation: no store, no clock. Thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/status.h"

namespace rapport::service {

inline constexpr int kLevels = 5;

// The age band of an appliance bought at `purchased`, at time `at`: "0-2y", "2-4y", "4-6y",
// "6-8y", "8-10y", "10y+" (negative ages count as "0-2y").
std::string AgeBand(Time purchased, Time at);

// Lower-case, trimmed category ("Drain " -> "drain"); "unspecified" when empty.
std::string SymptomKey(std::string_view category);

// The symptom category a customer's own words point at ("does not drain", "Gerät pumpt nicht
// ab" -> "drain"), by keywords in English and German; "" when none matches. Used when an
// online report comes without a category.
std::string SymptomFromText(std::string_view text);

struct RepairContext {
  std::string model;
  std::string family;
  std::string symptom;   // a SymptomKey
  std::string age_band;  // an AgeBand
};

// The count keys of the five levels, e.g. "ms|DW-500|drain" for level 3.
std::array<std::string, kLevels> LevelKeys(const RepairContext& context);
// "global", "symptom", "family x symptom", "model x symptom", "model x symptom x age band".
const char* LevelName(int level);

// Repairs seen in one context and how many of them used each part.
struct LevelCounts {
  int64_t repairs = 0;
  std::map<std::string, int64_t> parts;

  void Add(const std::vector<std::string>& parts_used);
  Json ToJson() const;  // {"repairs":n,"parts":{part:count}}
  static Result<LevelCounts> FromJson(const Json& j);
};

struct ForecastOptions {
  double strength = 4.0;  // s: how many pseudo-repairs the level above is worth
  size_t top = 10;        // predictions returned
};

struct LevelEvidence {
  int level = 0;
  std::string key;
  int64_t repairs = 0;    // repairs in this context
  int64_t with_part = 0;  // of which used the part
  double estimate = 0;    // p_k after smoothing
};

struct PartPrediction {
  std::string part;
  double probability = 0;               // that this repair needs the part
  std::vector<LevelEvidence> evidence;  // level 0 .. 4
  Json ToJson() const;
};

// Ranks `candidates` (the model's part list; when empty: every part seen at any level) by
// smoothed probability, highest first (ties by part id), at most options.top.
std::vector<PartPrediction> PredictParts(const std::array<std::string, kLevels>& keys,
                                         const std::array<LevelCounts, kLevels>& levels,
                                         const std::vector<std::string>& candidates,
                                         const ForecastOptions& options = {});

// Counts of all levels held in memory: training for `parts evaluate` and the generator.
class CountsTable {
 public:
  void Add(const RepairContext& context, const std::vector<std::string>& parts_used);
  std::array<LevelCounts, kLevels> Lookup(const std::array<std::string, kLevels>& keys) const;
  const std::unordered_map<std::string, LevelCounts>& all() const { return counts_; }

 private:
  std::unordered_map<std::string, LevelCounts> counts_;
};

// One past repair, as the evaluation sees it.
struct Repair {
  Time at{};
  RepairContext context;
  std::vector<std::string> parts;
};

struct Recall {
  double top1 = 0;  // share of the parts really used that were ranked first
  double top3 = 0;  // ... among the first three
};

struct Evaluation {
  size_t train_repairs = 0;
  size_t test_repairs = 0;
  size_t test_parts = 0;
  Recall forecast;
  Recall baseline;  // always the parts most frequent in training, whatever the repair
  // A stronger yardstick, for honesty: the parts most often used on the same model in
  // training (no symptom, no age, no smoothing).
  Recall model_baseline;
  Json ToJson() const;
};

// Trains on repairs before `before` and measures recall on the parts used in the repairs at
// or after it. `catalog` maps a model to its part list (the candidates). kFailedPrecondition
// when either side is empty.
Result<Evaluation> Evaluate(
    const std::vector<Repair>& repairs, Time before,
    const std::unordered_map<std::string, std::vector<std::string>>& catalog,
    const ForecastOptions& options = {});

}  // namespace rapport::service
