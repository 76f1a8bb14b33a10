// Clustering of scored pairs into persons, and of persons into households.
//
// Persons: pairs at or above the threshold are merged strongest first, but two groups of
// more than one record are only merged when most of the pairs *between* them (up to
// `max_checks`, scored on demand) also reach the threshold. A chain A~B, B~C with A≁C
// therefore cannot silently glue two large groups. Every refused merge is counted.
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
};

struct ClusterOptions {
  double threshold = 0.5;
  size_t max_checks = 25;  // cross pairs checked before merging two multi-record groups
};

struct ClusterStats {
  size_t clusters = 0;
  size_t largest = 0;
  size_t merges = 0;
  size_t refused_merges = 0;  // chains stopped by the cross-pair check
};

// Cluster index (0..k-1, in order of first record) for each of `n` records.
// `score(i, j)` gives the probability of a pair that was not among `pairs`.
std::vector<uint32_t> ClusterPairs(size_t n, std::vector<ScoredPair> pairs,
                                   const std::function<double(uint32_t, uint32_t)>& score,
                                   const ClusterOptions& options, ClusterStats* stats);

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
