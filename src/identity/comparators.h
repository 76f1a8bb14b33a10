// String, phonetic and date comparators used by the match model. All functions are pure and
// thread-safe. String comparators work on code points of UTF-8 input (normally FoldText
// output), so "müller" counts one edit from "muller".
#pragma once

#include <string>
#include <string_view>

#include "identity/normalize.h"

namespace rapport::identity {

// Jaro similarity in [0, 1]; 1 for two empty strings.
double Jaro(std::string_view a, std::string_view b);
// Jaro-Winkler with prefix scale 0.1 over at most 4 characters (Winkler 1990):
// MARTHA/MARHTA = 0.961, DWAYNE/DUANE = 0.84, DIXON/DICKSONX = 0.813.
double JaroWinkler(std::string_view a, std::string_view b);
// True only when JaroWinkler(a, b) < threshold for certain, decided from which characters
// occur (a character of one string that the other lacks cannot match) and the common prefix,
// without Jaro's matching. False when unsure (and for non-ASCII input). Comparators ask it
// first: most compared pairs of a batch share too few letters to reach any level.
bool JaroWinklerBelow(std::string_view a, std::string_view b, double threshold);
// JaroWinkler(a, b) >= threshold, asking JaroWinklerBelow first.
bool JaroWinklerAtLeast(std::string_view a, std::string_view b, double threshold);

// Damerau-Levenshtein distance (unrestricted: insertions, deletions, substitutions and
// transpositions of adjacent characters, which may be edited again).
int DamerauLevenshtein(std::string_view a, std::string_view b);
// DamerauLevenshtein(a, b) <= 1, in one pass without a table.
bool WithinOneEdit(std::string_view a, std::string_view b);

// Kölner Phonetik (Postel 1969) of a name: "Müller-Lüdenscheidt" → "65752682",
// "Wikipedia" → "3412". Letters outside A-Z/ÄÖÜß are ignored.
std::string KoelnerPhonetik(std::string_view text);

// Double Metaphone (Philips 2000): primary and alternate code, at most 4 characters each.
struct MetaphoneCodes {
  std::string primary;
  std::string alternate;
};
MetaphoneCodes DoubleMetaphone(std::string_view word);

// Fuzzy token-set similarity in [0, 1]: tokens of `a` and `b` are paired greedily (equal,
// or Jaro-Winkler >= 0.9), and the Dice coefficient of the paired tokens is returned, so
// word order and an extra word cost little. 0 when either side has no tokens.
double TokenSetSimilarity(std::string_view a, std::string_view b);

// How two dates relate; ordered from strongest to weakest agreement.
enum class DateRelation {
  kExact,
  kDayMonthSwapped,  // 1980-05-07 vs 1980-07-05
  kOneTypo,          // one digit differs, or two adjacent digits transposed (YYYYMMDD text)
  kYearOffByOne,     // same day and month, year ±1
  kSameYear,
  kDifferent,
};
DateRelation CompareDates(const Date& a, const Date& b);

// Relative difference |a-b| / max(|a|,|b|); 0 when both are 0.
double RelativeNumberDifference(double a, double b);

}  // namespace rapport::identity
