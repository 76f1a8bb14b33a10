// The batch pipeline: read a CSV file into normalized records, then block → compare →
// train (u from random pairs, m by EM) → score → cluster → households, for one file
// (Dedupe) or two (Link); and the quality measures of a result against known truth.
//
// Errors: Status values (unreadable file, missing columns, bad config). Bad rows are not
// errors: they are rejected, counted and described in LoadedRecords::rejections.
// Thread-safety: functions are reentrant; each call uses up to `threads` worker threads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "identity/blocking.h"
#include "identity/cluster.h"
#include "identity/config.h"
#include "identity/model.h"

namespace rapport::identity {

// Reports progress of a stage ("read", "block", "score", ...): done out of total.
using ProgressFn = std::function<void(std::string_view stage, size_t done, size_t total)>;

struct LoadOptions {
  std::string truth_column;  // also keep this column's values (for evaluation)
  unsigned threads = 2;
  ProgressFn progress;
};

struct LoadedRecords {
  MatchConfig config;  // resolved against the header
  std::vector<std::string> header;
  std::vector<NormalizedRecord> records;
  std::vector<std::string> truth;  // per record, when a truth column was asked for
  size_t rows = 0;                 // data rows read (accepted + rejected)
  size_t rejected = 0;
  std::vector<std::string> rejections;  // the first 20, "line 7: 9 fields, header has 11"
  std::vector<std::string> notes;       // encoding, delimiter
};

// Reads and normalizes a CSV file (UTF-8 or Windows-1252, ',' ';' tab or ", "). Rows with
// a different field count than the header, an empty id or a duplicate id are rejected.
// Fails with kNotFound for a missing file, kInvalidArgument for an empty file, a missing
// truth/id column or when no column can be compared.
Result<LoadedRecords> LoadCsv(const std::string& path, const MatchConfig& config,
                              const LoadOptions& options = {});
// The same from CSV text already in memory.
Result<LoadedRecords> LoadCsvText(std::string text, const MatchConfig& config,
                                  const LoadOptions& options = {});

struct MatchResult {
  MatchModel model;
  TrainingReport training;
  BlockingStats blocking;
  std::vector<ScoredPair> pairs;    // links: pairs at or above the threshold, no conflict
  std::vector<ScoredPair> reviews;  // for a person to decide: pairs between the review
                                    // threshold and the threshold, conflicts at or above it,
                                    // and links whose merge would make a person incoherent
  std::vector<uint32_t> cluster;    // dedupe: person index per record
  std::vector<uint32_t> household;  // dedupe: household index per record
  ClusterStats clustering;
  double seconds_blocking = 0, seconds_training = 0, seconds_scoring = 0, seconds_clustering = 0;
};

struct RunOptions {
  unsigned threads = 2;
  bool train = true;                  // false: use the model as given
  const MatchModel* model = nullptr;  // start from this model instead of the defaults
  ProgressFn progress;
};

// Deduplicates one set of records (all normalized with `config`).
Result<MatchResult> Dedupe(const std::vector<NormalizedRecord>& records, const MatchConfig& config,
                           const RunOptions& options = {});

// The model Dedupe would score with: blocking, then training (defaults for small inputs).
// For explaining a pair with the same weights as a dedupe run of the same file.
Result<MatchModel> TrainModel(const std::vector<NormalizedRecord>& records,
                              const MatchConfig& config, unsigned threads = 2);

// Links two sets normalized with the same comparisons: pairs have `a` indexing `left` and
// `b` indexing `right`. Clusters and households are not computed.
Result<MatchResult> Link(const std::vector<NormalizedRecord>& left,
                         const std::vector<NormalizedRecord>& right, const MatchConfig& config,
                         const RunOptions& options = {});

struct PairMetrics {
  uint64_t true_positives = 0, false_positives = 0, false_negatives = 0;
  double precision = 0, recall = 0, f1 = 0;
};

// Pairwise quality of a clustering against truth labels (same length; an empty truth
// label is a singleton): a pair counts when both records share a cluster.
PairMetrics ClusterPairMetrics(const std::vector<uint32_t>& cluster,
                               const std::vector<std::string>& truth);
// Share of truth clusters reproduced exactly (recall) and of predicted clusters that are
// exactly a truth cluster (precision), singletons included.
PairMetrics ExactClusterMetrics(const std::vector<uint32_t>& cluster,
                                const std::vector<std::string>& truth);
// Quality of a set of predicted pairs against the true pairs given by labels.
// `right_truth` empty: dedupe within `left_truth`.
PairMetrics PairSetMetrics(const std::vector<ScoredPair>& predicted,
                           const std::vector<std::string>& left_truth,
                           const std::vector<std::string>& right_truth);
// Pair completeness of blocking: share of true pairs among the candidates.
double PairCompleteness(const std::vector<RecordPair>& candidates,
                        const std::vector<std::string>& truth);

// The entity of a FEBRL record id: "rec-12-org" and "rec-12-dup-3" → "12"; other ids are
// returned unchanged.
std::string FebrlEntity(std::string_view rec_id);

}  // namespace rapport::identity
