// Hierarchical smoothing of part frequencies and its evaluation against a frequency baseline.
// The estimate of each level is the prior of the next, so the math is one loop over levels.
#include "service/forecast.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace rapport::service {

namespace {
constexpr const char* kLevelNames[kLevels] = {"global", "symptom", "family x symptom",
                                              "model x symptom", "model x symptom x age band"};
constexpr int64_t kMicrosPerYear = int64_t{36525} * 24 * 3600 * 10000;  // 365.25 days
}  // namespace

std::string AgeBand(Time purchased, Time at) {
  int64_t years = (ToMicros(at) - ToMicros(purchased)) / kMicrosPerYear;
  if (years < 2) return "0-2y";
  if (years < 4) return "2-4y";
  if (years < 6) return "4-6y";
  if (years < 8) return "6-8y";
  if (years < 10) return "8-10y";
  return "10y+";
}

std::string SymptomKey(std::string_view category) {
  size_t b = 0, e = category.size();
  while (b < e && std::isspace(static_cast<unsigned char>(category[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(category[e - 1]))) --e;
  std::string out;
  for (size_t i = b; i < e; ++i) {
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(category[i])));
  }
  return out.empty() ? "unspecified" : out;
}

std::string SymptomFromText(std::string_view text) {
  // Lower-case ASCII only: the German keywords below are matched in their umlaut-free parts.
  std::string t;
  for (char c : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // Ordered: the first category with a matching keyword wins ("water does not drain" is a
  // drain problem, not a water-supply one).
  static const std::vector<std::pair<const char*, std::vector<const char*>>> kKeywords = {
      {"drain",
       {"drain", "pump out", "pumps out", "abpump", "pumpt nicht", "wasser steht", "abfluss"}},
      {"leak", {"leak", "undicht", "tropft", "ausgelaufen", "läuft aus"}},
      {"error-code", {"error", "fehler", "code e", "blinkt"}},
      {"no-power", {"no power", "dead", "strom", "geht nicht an", "keine anzeige"}},
      {"no-start", {"does not start", "won't start", "startet nicht", "door lock", "tür"}},
      {"no-spin", {"spin", "schleuder", "drum does not turn", "trommel dreht"}},
      {"not-heating", {"heat", "cold", "kalt", "heizt", "warm"}},
      {"not-drying", {"dry", "trocknet", "feucht", "nass"}},
      {"not-cleaning", {"clean", "sauber", "dirty", "schmutz", "spült nicht"}},
      {"no-water", {"no water", "kein wasser", "zulauf", "water supply"}},
      {"noise", {"noise", "noisy", "loud", "laut", "geräusch", "quietsch", "brumm"}},
  };
  for (const auto& [category, words] : kKeywords) {
    for (const char* w : words) {
      if (t.find(w) != std::string::npos) return category;
    }
  }
  return "";
}

std::array<std::string, kLevels> LevelKeys(const RepairContext& c) {
  return {"g", "s|" + c.symptom, "fs|" + c.family + "|" + c.symptom,
          "ms|" + c.model + "|" + c.symptom, "msa|" + c.model + "|" + c.symptom + "|" + c.age_band};
}

const char* LevelName(int level) {
  return level >= 0 && level < kLevels ? kLevelNames[level] : "?";
}

void LevelCounts::Add(const std::vector<std::string>& parts_used) {
  ++repairs;
  // A part listed twice in one repair is still one repair that needed it.
  std::set<std::string> distinct(parts_used.begin(), parts_used.end());
  for (const auto& p : distinct) ++parts[p];
}

Json LevelCounts::ToJson() const { return Json{{"repairs", repairs}, {"parts", parts}}; }

Result<LevelCounts> LevelCounts::FromJson(const Json& j) {
  LevelCounts c;
  if (!j.is_object() || !j.contains("repairs") || !j["repairs"].is_number_integer()) {
    return DataLoss("parts counts lack an integer \"repairs\"");
  }
  c.repairs = j["repairs"].get<int64_t>();
  if (j.contains("parts")) {
    if (!j["parts"].is_object()) return DataLoss("parts counts: \"parts\" is not an object");
    for (const auto& [part, n] : j["parts"].items()) {
      if (!n.is_number_integer()) return DataLoss("parts counts: count of " + part);
      c.parts[part] = n.get<int64_t>();
    }
  }
  return c;
}

Json PartPrediction::ToJson() const {
  Json ev = Json::array();
  for (const auto& e : evidence) {
    ev.push_back({{"level", LevelName(e.level)},
                  {"key", e.key},
                  {"repairs", e.repairs},
                  {"with_part", e.with_part},
                  {"estimate", e.estimate}});
  }
  // The most specific level with any history is what the prediction mostly rests on.
  std::string rests_on = "no past repairs (uniform prior)";
  for (auto it = evidence.rbegin(); it != evidence.rend(); ++it) {
    if (it->repairs > 0) {
      rests_on = std::to_string(it->with_part) + " of " + std::to_string(it->repairs) +
                 " repairs at level " + LevelName(it->level) + " (" + it->key + ")";
      break;
    }
  }
  return Json{
      {"part", part}, {"probability", probability}, {"rests_on", rests_on}, {"evidence", ev}};
}

std::vector<PartPrediction> PredictParts(const std::array<std::string, kLevels>& keys,
                                         const std::array<LevelCounts, kLevels>& levels,
                                         const std::vector<std::string>& candidates,
                                         const ForecastOptions& options) {
  std::vector<std::string> parts = candidates;
  if (parts.empty()) {
    std::set<std::string> seen;
    for (const auto& l : levels) {
      for (const auto& [p, n] : l.parts) seen.insert(p);
    }
    parts.assign(seen.begin(), seen.end());
  }
  std::sort(parts.begin(), parts.end());
  parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
  std::vector<PartPrediction> out;
  if (parts.empty()) return out;
  const double prior = 1.0 / static_cast<double>(parts.size());
  const double s = options.strength;
  out.reserve(parts.size());
  for (const auto& part : parts) {
    PartPrediction pred;
    pred.part = part;
    double p = prior;
    for (int k = 0; k < kLevels; ++k) {
      const LevelCounts& l = levels[k];
      auto it = l.parts.find(part);
      int64_t c = it == l.parts.end() ? 0 : it->second;
      p = (static_cast<double>(c) + s * p) / (static_cast<double>(l.repairs) + s);
      pred.evidence.push_back({k, keys[k], l.repairs, c, p});
    }
    pred.probability = p;
    out.push_back(std::move(pred));
  }
  std::stable_sort(out.begin(), out.end(), [](const PartPrediction& a, const PartPrediction& b) {
    return a.probability > b.probability;
  });
  if (out.size() > options.top) out.resize(options.top);
  return out;
}

void CountsTable::Add(const RepairContext& context, const std::vector<std::string>& parts_used) {
  for (const auto& key : LevelKeys(context)) counts_[key].Add(parts_used);
}

std::array<LevelCounts, kLevels> CountsTable::Lookup(
    const std::array<std::string, kLevels>& keys) const {
  std::array<LevelCounts, kLevels> out;
  for (int k = 0; k < kLevels; ++k) {
    auto it = counts_.find(keys[k]);
    if (it != counts_.end()) out[k] = it->second;
  }
  return out;
}

Json Evaluation::ToJson() const {
  auto recall = [](const Recall& r) { return Json{{"top1", r.top1}, {"top3", r.top3}}; };
  return Json{{"train_repairs", train_repairs}, {"test_repairs", test_repairs},
              {"test_parts", test_parts},       {"forecast", recall(forecast)},
              {"baseline", recall(baseline)},   {"model_baseline", recall(model_baseline)}};
}

Result<Evaluation> Evaluate(
    const std::vector<Repair>& repairs, Time before,
    const std::unordered_map<std::string, std::vector<std::string>>& catalog,
    const ForecastOptions& options) {
  Evaluation ev;
  CountsTable table;
  for (const auto& r : repairs) {
    if (r.at < before) {
      table.Add(r.context, r.parts);
      ++ev.train_repairs;
    }
  }
  if (ev.train_repairs == 0) return FailedPrecondition("no repairs before the cut-off date");
  // Baseline: the globally most frequent parts, ties by id.
  std::vector<std::pair<int64_t, std::string>> global;
  const auto overall = table.Lookup(LevelKeys({}));
  for (const auto& [p, n] : overall[0].parts) global.emplace_back(-n, p);
  std::sort(global.begin(), global.end());

  ForecastOptions top3 = options;
  top3.top = 3;
  // Per model: parts by training frequency, ties by id.
  std::unordered_map<std::string, std::map<std::string, int64_t>> by_model;
  for (const auto& r : repairs) {
    if (r.at >= before) continue;
    for (const auto& p : std::set<std::string>(r.parts.begin(), r.parts.end())) {
      ++by_model[r.context.model][p];
    }
  }
  std::unordered_map<std::string, std::vector<std::string>> model_top;
  for (const auto& [model, parts] : by_model) {
    std::vector<std::pair<int64_t, std::string>> v;
    for (const auto& [p, n] : parts) v.emplace_back(-n, p);
    std::sort(v.begin(), v.end());
    for (size_t i = 0; i < v.size() && i < 3; ++i) model_top[model].push_back(v[i].second);
  }
  int64_t hit1 = 0, hit3 = 0, base1 = 0, base3 = 0, model1 = 0, model3 = 0, total = 0;
  static const std::vector<std::string> kNoParts;
  for (const auto& r : repairs) {
    if (r.at < before || r.parts.empty()) continue;
    ++ev.test_repairs;
    auto keys = LevelKeys(r.context);
    auto it = catalog.find(r.context.model);
    auto ranked =
        PredictParts(keys, table.Lookup(keys), it == catalog.end() ? kNoParts : it->second, top3);
    std::set<std::string> used(r.parts.begin(), r.parts.end());
    total += static_cast<int64_t>(used.size());
    for (size_t i = 0; i < ranked.size(); ++i) {
      if (used.count(ranked[i].part)) {
        hit3 += 1;
        if (i == 0) hit1 += 1;
      }
    }
    for (size_t i = 0; i < global.size() && i < 3; ++i) {
      if (used.count(global[i].second)) {
        base3 += 1;
        if (i == 0) base1 += 1;
      }
    }
    if (auto m = model_top.find(r.context.model); m != model_top.end()) {
      for (size_t i = 0; i < m->second.size(); ++i) {
        if (used.count(m->second[i])) {
          model3 += 1;
          if (i == 0) model1 += 1;
        }
      }
    }
  }
  if (total == 0) return FailedPrecondition("no repairs with parts at or after the cut-off date");
  ev.test_parts = static_cast<size_t>(total);
  double t = static_cast<double>(total);
  ev.forecast = {hit1 / t, hit3 / t};
  ev.baseline = {base1 / t, base3 / t};
  ev.model_baseline = {model1 / t, model3 / t};
  return ev;
}

}  // namespace rapport::service
