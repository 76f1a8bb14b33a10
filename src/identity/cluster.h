// Clustering of scored pairs into persons, and of persons into households.
//
// Persons (coherent agglomerative clustering): pairs at or above the threshold are merged
// strongest first, but two groups are merged only when the merged group stays coherent:
//  1. no pair between them is a conflict (strong evidence against one person: a different
//     birth date, a different first name), and
//  2. the pairs between them agree on average: their mean log2-odds is at least
//     `min_mean_cross_log2_odds`.
// Every pair between the two groups is scored (on demand where blocking did not pair them),
// so a chain A~B, B~C with A≁C cannot glue records of different people together through
// initials, typos or a shared address. Refused merges whose linking pair reached the threshold
// are returned for review: a person decides them, not the engine.
//
// Households: persons at the same normalized address (street, house number and suffix,
// postcode or city, and the address extra/unit when there is one) who share a surname, or
// all persons at an address that holds at most `max_unrelated` people.
//
// Thread-safety: free functions without shared state; `score` is called from the calling
// thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "identity/model.h"

namespace rapport::identity {

struct ScoredPair {
  uint32_t a = 0, b = 0;
  double probability = 0;
  bool conflict = false;
  int16_t conflict_comparison = -1;  // as in PairScore
  bool id_agrees = false;
  uint32_t differs = 0, agrees = 0;

  PairScore score() const {
    return {probability, conflict, conflict_comparison, id_agrees, differs, agrees};
  }
};

struct ClusterOptions {
  double threshold = 0.5;
  double min_mean_cross_log2_odds = 0;
  size_t max_cross_pairs = 4096;  // a merge needing more checks is refused (and reviewed)
};

struct ClusterStats {
  size_t clusters = 0;
  size_t largest = 0;
  size_t merges = 0;
  size_t refused_conflict = 0;  // a pair between the groups was a conflict
  size_t refused_weak = 0;      // the pairs between the groups disagreed on average
  size_t refused_large = 0;     // too many pairs to check
};

// Scores a pair of the records of two groups about to become one: records 0..a_size-1 are
// the first group's, a_size..a_size+b_size-1 the second's.
using GroupPairScore = std::function<PairScore(size_t, size_t)>;

// Whether two groups of records may become one person. Every pair between them is scored:
// none may be a conflict and their mean log2-odds must reach min_mean_cross_log2_odds. A
// conflict between x and y is forgiven only when a national id makes x one person with a
// record z whose value of the conflicting comparison differs from x's and agrees with y's, and
// z matches y without conflict: x holds a wrong value that its id vouches for ("Kia" among four
// "Kai White" with one id), and a fifth "Kai White" with another id is not kept out by it.
// Without an id, or where z has no value to compare, nothing is forgiven (a father and a son
// of one name stay two). Pairs within a group are scored only to look for such a z. The batch
// clustering and the live path (a record joining a stored person) both ask this.
bool JoinsCoherently(size_t a_size, size_t b_size, const GroupPairScore& score,
                     const ClusterOptions& options);

// Cluster index (0..k-1, in order of first record) for each of `n` records. `pairs` are the
// scored candidate pairs (any probability; those below the threshold only inform the checks).
// `score(i, j)` scores a pair that is not among `pairs`. When `review` is given, the pairs at
// or above the threshold whose merge was refused are appended to it.
std::vector<uint32_t> ClusterPairs(size_t n, std::vector<ScoredPair> pairs,
                                   const std::function<PairScore(uint32_t, uint32_t)>& score,
                                   const ClusterOptions& options, ClusterStats* stats,
                                   std::vector<ScoredPair>* review = nullptr);

struct HouseholdOptions {
  size_t max_unrelated = 3;  // an address with at most this many persons is one household
};

// Household index (0..h-1) per record. `person` is the cluster index per record. Records
// without a usable address form single-person households. Needs comparisons of kinds
// kAddress and (kPostcode or kCity) in `model.config()`; otherwise every person is a
// household of its own.
std::vector<uint32_t> GroupHouseholds(const MatchModel& model,
                                      const std::vector<NormalizedRecord>& records,
                                      const std::vector<uint32_t>& person,
                                      const HouseholdOptions& options = {});

}  // namespace rapport::identity
