// Synthetic German customer records with known truth, for tests, demos and benchmarks.
//
// Two profiles:
//  - kRealistic (the default) writes what a German company's customer base looks like: a
//    regional customer base (a few dozen postcodes around one town plus a thin national
//    spread), first names by birth cohort and origin with their real skew, surnames with a
//    Zipf-like head and a long tail, households (couples, families, fathers and sons with one
//    first name, twins, several generations), shared family e-mail addresses and landlines,
//    people who move, 12 % missing and 3 % placeholder birth dates, swapped name fields,
//    "Müller, Johann" in one field, marriage names, and rows shuffled under random ids.
//  - kClassic is the generator of 2026-11 (byte-identical output for a seed): duplicates next
//    to their originals, 16 cities, few missing birth dates. Kept so earlier figures can be
//    reproduced.
// The same options and seed give byte-identical output.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace rapport::identity {

enum class GeneratorProfile { kRealistic, kClassic };

Result<GeneratorProfile> ParseGeneratorProfile(std::string_view name);

struct GeneratorOptions {
  size_t records = 1000;  // rows to write (the last persons may lose duplicates)
  uint64_t seed = 1;
  GeneratorProfile profile = GeneratorProfile::kRealistic;
  // kRealistic only:
  size_t region_postcodes = 40;           // postcodes of the home region
  double national_share = 0.15;           // persons living anywhere in Germany instead
  double missing_birth_dates = 0.12;      // records without a birth date
  double placeholder_birth_dates = 0.03;  // records with 01.01.1900 and the like
  double duplicated_persons = 0.4;        // persons with more than one record
};

// Column names of the generated CSV, in order. `person_id` and `household_id` are the truth.
const std::vector<std::string>& GeneratedColumns();

// Writes a header and `options.records` rows of comma-separated, quoted-when-needed UTF-8.
void GenerateCustomers(const GeneratorOptions& options, std::ostream& out);

}  // namespace rapport::identity
