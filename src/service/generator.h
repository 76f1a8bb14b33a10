// A generator of realistic service histories for tests, `rapport parts generate` and the
// benchmark: a model catalogue of product lines, families and models; appliances bought over
// the years; repairs whose rate rises with age, where wear parts fail more with age, every
// model has one or two weak parts, and models of one family share most parts. Deterministic
// for a seed (std::mt19937_64 with the library's distributions, so on one standard library).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.h"

namespace rapport::service {

struct CatalogModel {
  std::string model;
  std::string family;
  std::string product_line;
  std::vector<std::string> parts;
};

struct GeneratedAsset {
  std::string id;  // "ast_g<seed>_<n>"
  std::string model;
  std::string serial;
  Time purchased{};
  std::string owner;  // a synthetic person id
  std::string region;
  std::string postcode;
  std::string city;
};

struct GeneratedRecord {
  std::string asset;
  Time date{};
  std::string kind;      // "repair" or "maintenance"
  std::string category;  // symptom category of a repair ("drain", "leak", ...), "" otherwise
  std::string symptom;   // the customer's words
  std::vector<std::string> parts;
  int labour_minutes = 0;
  std::string outcome;
  std::string partner;
  std::string findings;
};

struct GeneratorOptions {
  uint64_t seed = 1;
  size_t assets = 1000;
  Time end{};  // histories run until here; default (epoch) means 2026-01-01
  std::vector<std::string> partners = {"partner-a", "partner-b", "partner-c"};
};

// The catalogue: 3 product lines x 2 families x 4 models (the same for every seed).
std::vector<CatalogModel> GeneratedCatalog();

// Calls `sink` once per appliance with its records in date order. Generates assets lazily,
// so ten million records need no more memory than one appliance's history.
void GenerateHistory(
    const GeneratorOptions& options,
    const std::function<void(const GeneratedAsset&, const std::vector<GeneratedRecord>&)>& sink);

}  // namespace rapport::service
