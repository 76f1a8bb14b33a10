// Synthetic German customer records with known truth, for tests, demos and benchmarks:
// households (singles, couples, families with children), neighbours with the same surname,
// and duplicates with name variants (nicknames, initials, umlaut spellings, typos),
// abbreviated streets, moved addresses, reformatted phone numbers, e-mail plus-tags and
// missing or placeholder values. The same options and seed give byte-identical output.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace rapport::identity {

struct GeneratorOptions {
  size_t records = 1000;  // rows to write (the last person may lose duplicates)
  uint64_t seed = 1;
};

// Column names of the generated CSV, in order. `person_id` and `household_id` are the truth.
const std::vector<std::string>& GeneratedColumns();

// Writes a header and `options.records` rows of comma-separated, quoted-when-needed UTF-8.
void GenerateCustomers(const GeneratorOptions& options, std::ostream& out);

}  // namespace rapport::identity
