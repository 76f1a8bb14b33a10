// Service histories with the structure a forecast can learn and a frequency count cannot:
// the symptom points at a few parts, the family fixes the part numbers, the model has weak
// parts and age shifts failures to wear parts. Reports sometimes name a misleading symptom.
#include "service/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

namespace rapport::service {

namespace {

constexpr int64_t kYear = int64_t{36525} * 24 * 3600 * 10000;  // microseconds in 365.25 days

struct PartKind {
  const char* name;
  std::vector<const char*> symptoms;
  double base;            // relative failure weight of a new appliance
  double wear;            // extra weight per year of age
  bool model_specific;    // part number differs per model (electronics), else per family
  const char* companion;  // often replaced together ("" for none)
};

struct Line {
  const char* name;
  const char* prefix;
  std::vector<PartKind> parts;
};

const std::vector<Line>& Lines() {
  static const std::vector<Line> kLines = {
      {"dishwasher",
       "DW",
       {{"drain-pump", {"drain", "noise"}, 3.0, 0.15, false, "filter"},
        {"filter", {"drain"}, 1.5, 0.05, false, ""},
        {"heating-element", {"not-heating"}, 2.0, 0.10, false, ""},
        {"door-seal", {"leak"}, 1.5, 0.12, false, ""},
        {"aquastop-hose", {"leak"}, 1.0, 0.10, false, ""},
        {"inlet-valve", {"no-water"}, 1.5, 0.05, false, ""},
        {"circulation-pump", {"not-cleaning", "noise"}, 1.5, 0.10, false, "filter"},
        {"control-board", {"error-code", "no-power"}, 1.5, 0.0, true, ""},
        {"door-lock", {"no-start"}, 1.0, 0.05, false, ""}}},
      {"washer",
       "WM",
       {{"drain-pump", {"drain", "noise"}, 3.0, 0.15, false, ""},
        {"carbon-brushes", {"no-spin", "noise"}, 1.5, 0.25, false, ""},
        {"drum-bearing", {"noise"}, 1.0, 0.20, false, "shock-absorber"},
        {"shock-absorber", {"noise"}, 1.0, 0.10, false, ""},
        {"door-seal", {"leak"}, 1.5, 0.12, false, ""},
        {"heating-element", {"not-heating"}, 2.0, 0.10, false, ""},
        {"control-board", {"error-code", "no-power"}, 1.5, 0.0, true, ""},
        {"door-lock", {"no-start"}, 1.0, 0.05, false, ""}}},
      {"dryer",
       "TD",
       {{"heat-pump", {"not-heating"}, 2.0, 0.10, false, "condenser-filter"},
        {"drive-belt", {"no-spin"}, 1.5, 0.20, false, ""},
        {"fan-motor", {"noise", "not-drying"}, 1.5, 0.10, false, ""},
        {"humidity-sensor", {"not-drying"}, 1.5, 0.05, false, ""},
        {"condenser-filter", {"not-drying"}, 1.0, 0.05, false, ""},
        {"control-board", {"error-code", "no-power"}, 1.5, 0.0, true, ""},
        {"door-switch", {"no-start"}, 1.0, 0.05, false, ""}}},
  };
  return kLines;
}

constexpr const char* kFamilies[] = {"A", "B"};
constexpr int kModelsPerFamily = 4;
// Sales of the models of a family: the fourth is rare, so it must borrow from its family.
constexpr double kModelPopularity[kModelsPerFamily] = {8, 4, 2, 0.5};

struct ModelSpec {
  CatalogModel catalog;
  const Line* line;
  std::vector<double> weakness;  // per part kind of the line
};

const std::vector<ModelSpec>& Models() {
  static const std::vector<ModelSpec> kModels = [] {
    std::vector<ModelSpec> out;
    int index = 0;
    for (const auto& line : Lines()) {
      for (const char* fam : kFamilies) {
        std::string family = std::string(line.prefix) + "-" + fam;
        for (int m = 0; m < kModelsPerFamily; ++m, ++index) {
          ModelSpec spec;
          spec.line = &line;
          spec.catalog.model = family + std::to_string((m + 1) * 100);
          spec.catalog.family = family;
          spec.catalog.product_line = line.name;
          size_t n = line.parts.size();
          spec.weakness.assign(n, 1.0);
          // One or two weak parts per model, chosen by position so every model differs.
          spec.weakness[(index * 3 + 1) % n] = 5.0;
          if (index % 2 == 0) spec.weakness[(index * 5 + 2) % n] = 4.0;
          for (const auto& kind : line.parts) {
            spec.catalog.parts.push_back((kind.model_specific ? spec.catalog.model : family) + "-" +
                                         kind.name);
          }
          out.push_back(std::move(spec));
        }
      }
    }
    return out;
  }();
  return kModels;
}

struct Place {
  const char* region;
  const char* postcode;
  const char* city;
};
constexpr Place kPlaces[] = {{"BY", "80331", "München"},
                             {"HH", "20095", "Hamburg"},
                             {"BE", "10115", "Berlin"},
                             {"NW", "50667", "Köln"}};

// Share of reports whose symptom points at another part than the one that failed.
constexpr double kMisleadingShare = 0.15;

}  // namespace

std::vector<CatalogModel> GeneratedCatalog() {
  std::vector<CatalogModel> out;
  for (const auto& m : Models()) out.push_back(m.catalog);
  return out;
}

void GenerateHistory(
    const GeneratorOptions& options,
    const std::function<void(const GeneratedAsset&, const std::vector<GeneratedRecord>&)>& sink) {
  static const Time kDefaultEnd = FromMicros(int64_t{1767225600} * 1000000);  // 2026-01-01
  const Time end = options.end == Time{} ? kDefaultEnd : options.end;
  const auto& models = Models();
  std::mt19937_64 rng(options.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> popularity;
  for (size_t i = 0; i < models.size(); ++i) popularity.push_back(kModelPopularity[i % 4]);
  std::discrete_distribution<size_t> pick_model(popularity.begin(), popularity.end());
  std::uniform_int_distribution<size_t> pick_place(0, std::size(kPlaces) - 1);
  std::uniform_int_distribution<size_t> pick_partner(
      0, options.partners.empty() ? 0 : options.partners.size() - 1);
  std::uniform_int_distribution<int> labour(20, 150);

  std::vector<GeneratedRecord> records;
  for (size_t n = 0; n < options.assets; ++n) {
    const ModelSpec& spec = models[pick_model(rng)];
    const Place& place = kPlaces[pick_place(rng)];
    GeneratedAsset asset;
    std::string tag = "g" + std::to_string(options.seed) + "_" + std::to_string(n);
    asset.id = "ast_" + tag;
    asset.model = spec.catalog.model;
    char serial[32];
    std::snprintf(serial, sizeof serial, "%08llu",
                  static_cast<unsigned long long>(rng() % 100000000ULL));
    asset.serial = spec.catalog.model + "-" + serial + "-" + std::to_string(n);
    // Bought between twelve years and three months before the end.
    double age_at_end = 0.25 + unit(rng) * 11.75;
    asset.purchased = end - Duration(static_cast<int64_t>(age_at_end * kYear));
    asset.owner = "per_" + tag;
    asset.region = place.region;
    asset.postcode = place.postcode;
    asset.city = place.city;

    records.clear();
    const auto& kinds = spec.line->parts;
    for (int year = 0; year < static_cast<int>(std::ceil(age_at_end)); ++year) {
      // Failures per year rise with age (a bathtub curve without the early-failure side).
      double rate = 0.04 + 0.035 * (year + 0.5);
      std::poisson_distribution<int> failures(rate);
      int count = failures(rng);
      bool maintenance = unit(rng) < 0.25;
      for (int f = 0; f < count + (maintenance ? 1 : 0); ++f) {
        double at_years = year + unit(rng);
        Time date = asset.purchased + Duration(static_cast<int64_t>(at_years * kYear));
        GeneratedRecord r;
        r.asset = asset.id;
        r.date = date;
        r.partner = options.partners.empty() ? "" : options.partners[pick_partner(rng)];
        r.labour_minutes = labour(rng);
        if (f == count) {  // the maintenance visit
          r.kind = "maintenance";
          r.outcome = "maintained";
          r.findings = "routine maintenance, filters cleaned";
          if (date < end) records.push_back(std::move(r));
          continue;
        }
        std::vector<double> weights;
        for (size_t k = 0; k < kinds.size(); ++k) {
          weights.push_back(kinds[k].base * spec.weakness[k] * (1.0 + kinds[k].wear * at_years));
        }
        std::discrete_distribution<size_t> pick_part(weights.begin(), weights.end());
        size_t k = pick_part(rng);
        const PartKind& kind = kinds[k];
        r.kind = "repair";
        r.parts.push_back(spec.catalog.parts[k]);
        if (kind.companion[0] != '\0' && unit(rng) < 0.35) {
          for (size_t c = 0; c < kinds.size(); ++c) {
            if (std::string(kinds[c].name) == kind.companion)
              r.parts.push_back(spec.catalog.parts[c]);
          }
        }
        if (unit(rng) < kMisleadingShare) {
          // The customer describes what they notice, which is not always what broke.
          const auto& other =
              kinds[std::uniform_int_distribution<size_t>(0, kinds.size() - 1)(rng)];
          r.category = other.symptoms[0];
        } else {
          r.category = kind.symptoms[std::uniform_int_distribution<size_t>(
              0, kind.symptoms.size() - 1)(rng)];
        }
        r.symptom = "customer reports: " + r.category;
        r.outcome = "repaired";
        r.findings = std::string(kind.name) + " defective, replaced";
        if (date < end) records.push_back(std::move(r));
      }
    }
    std::stable_sort(
        records.begin(), records.end(),
        [](const GeneratedRecord& a, const GeneratedRecord& b) { return a.date < b.date; });
    sink(asset, records);
  }
}

}  // namespace rapport::service
