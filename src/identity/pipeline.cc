// Batch pipeline. Records are normalized in parallel chunks while the CSV streams, and
// candidate pairs are scored by two threads; everything else is linear passes.

#include "identity/pipeline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/csv.h"
#include "core/parallel.h"

namespace rapport::identity {
namespace {

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void Report(const ProgressFn& fn, std::string_view stage, size_t done, size_t total) {
  if (fn) fn(stage, done, total);
}

PairMetrics Finish(PairMetrics m) {
  double tp = static_cast<double>(m.true_positives);
  m.precision = tp + m.false_positives == 0 ? 0 : tp / (tp + m.false_positives);
  m.recall = tp + m.false_negatives == 0 ? 0 : tp / (tp + m.false_negatives);
  m.f1 = m.precision + m.recall == 0 ? 0 : 2 * m.precision * m.recall / (m.precision + m.recall);
  return m;
}

uint64_t Choose2(uint64_t n) { return n * (n - (n > 0 ? 1 : 0)) / 2; }

// Links are the pairs at or above the threshold without a conflict; the rest of the kept pairs
// (gray zone, conflicts) join the reviews.
void SplitLinksAndReviews(const MatchConfig& config, MatchResult* r) {
  std::vector<ScoredPair> links;
  for (const ScoredPair& p : r->pairs) {
    if (p.probability >= config.threshold && !p.conflict) {
      links.push_back(p);
    } else if (p.probability < config.threshold) {
      r->reviews.push_back(p);
    }
  }
  r->pairs = std::move(links);
  std::sort(r->reviews.begin(), r->reviews.end(), [](const ScoredPair& a, const ScoredPair& b) {
    return a.probability != b.probability ? a.probability > b.probability
                                          : std::pair(a.a, a.b) < std::pair(b.a, b.b);
  });
  r->reviews.erase(std::unique(r->reviews.begin(), r->reviews.end(),
                               [](const ScoredPair& a, const ScoredPair& b) {
                                 return a.a == b.a && a.b == b.b;
                               }),
                   r->reviews.end());
}

// Scores candidate pairs in parallel; keeps those at or above the review threshold.
std::vector<ScoredPair> ScorePairs(const MatchModel& model,
                                   const std::vector<NormalizedRecord>& records,
                                   const std::vector<RecordPair>& candidates, unsigned threads,
                                   const ProgressFn& progress) {
  threads = std::max(1u, threads);
  std::vector<std::vector<ScoredPair>> parts(threads);
  std::vector<std::thread> pool;
  const double threshold = std::min(model.config().threshold, model.config().review_threshold);
  const size_t chunk = 65536;
  constexpr size_t kPrefetchAhead = 16;
  std::atomic<size_t> next{0}, done{0};
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (;;) {
        size_t begin = next.fetch_add(chunk);
        if (begin >= candidates.size()) break;
        size_t end = std::min(candidates.size(), begin + chunk);
        for (size_t k = begin; k < end; ++k) {
          // Scoring waits on memory: the second record of a pair is anywhere among millions.
          // Fetch the record a few pairs ahead, then its compared values.
          if (k + kPrefetchAhead < end) {
            __builtin_prefetch(&records[candidates[k + kPrefetchAhead].second]);
          }
          if (k + kPrefetchAhead / 2 < end) {
            const auto& values = records[candidates[k + kPrefetchAhead / 2].second].values;
            const char* bytes = reinterpret_cast<const char*>(values.data());
            const size_t size = values.size() * sizeof(FieldValue);
            for (size_t line = 0; line < size; line += 64) __builtin_prefetch(bytes + line);
          }
          const auto& [x, y] = candidates[k];
          PairScore p = model.Score(records[x], records[y]);
          if (p.probability >= threshold) {
            parts[t].push_back({x, y, p.probability, p.conflict, p.conflict_comparison, p.id_agrees,
                                p.differs, p.agrees});
          }
        }
        size_t d = done.fetch_add(end - begin) + (end - begin);
        if (t == 0) Report(progress, "score", d, candidates.size());
      }
    });
  }
  for (auto& th : pool) th.join();
  std::vector<ScoredPair> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  std::sort(out.begin(), out.end(), [](const ScoredPair& a, const ScoredPair& b) {
    return a.a != b.a ? a.a < b.a : a.b < b.b;
  });
  Report(progress, "score", candidates.size(), candidates.size());
  return out;
}

}  // namespace

Result<LoadedRecords> LoadCsvText(std::string text, const MatchConfig& config,
                                  const LoadOptions& options) {
  ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(std::move(text)));
  LoadedRecords out;
  out.header = reader.header();
  out.notes = reader.notes();
  ASSIGN_OR_RETURN(out.config, ResolveConfig(config, out.header));
  ASSIGN_OR_RETURN(RecordNormalizer normalizer, RecordNormalizer::Create(out.config, out.header));
  int truth_col = -1;
  if (!options.truth_column.empty()) {
    truth_col = reader.Column(options.truth_column);
    if (truth_col < 0) {
      return InvalidArgument("truth column '" + options.truth_column + "' is not in the header",
                             options.truth_column);
    }
  }
  const int id_col = normalizer.id_column();
  std::unordered_set<std::string> ids;
  auto reject = [&](int line, std::string why) {
    ++out.rejected;
    if (out.rejections.size() < 20)
      out.rejections.push_back("line " + std::to_string(line) + ": " + why);
  };
  // Rows are read in chunks and normalized by the worker threads; order is kept.
  const size_t kChunk = 20000;
  std::vector<CsvRow> rows;
  rows.reserve(kChunk);
  auto flush = [&] {
    std::vector<NormalizedRecord> normalized(rows.size());
    ParallelFor(rows.size(), options.threads,
                [&](size_t i, unsigned) { normalized[i] = normalizer.Normalize(rows[i].fields); });
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!ids.insert(normalized[i].id).second) {
        reject(rows[i].line, "duplicate id '" + normalized[i].id + "'");
        continue;
      }
      if (truth_col >= 0) out.truth.push_back(rows[i].fields[truth_col]);
      out.records.push_back(std::move(normalized[i]));
    }
    rows.clear();
    Report(options.progress, "read", reader.bytes_read(), reader.bytes_total());
  };
  for (;;) {
    CsvRow row;
    ASSIGN_OR_RETURN(bool more, reader.Next(&row));
    if (!more) break;
    ++out.rows;
    if (row.fields.size() != out.header.size()) {
      reject(row.line, std::to_string(row.fields.size()) + " fields, header has " +
                           std::to_string(out.header.size()));
      continue;
    }
    if (row.fields[id_col].empty()) {
      reject(row.line, "empty id");
      continue;
    }
    rows.push_back(std::move(row));
    if (rows.size() == kChunk) flush();
  }
  flush();
  return out;
}

Result<LoadedRecords> LoadCsv(const std::string& path, const MatchConfig& config,
                              const LoadOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path, path);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto r = LoadCsvText(ss.str(), config, options);
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

Result<MatchResult> Dedupe(const std::vector<NormalizedRecord>& records, const MatchConfig& config,
                           const RunOptions& options) {
  ASSIGN_OR_RETURN(Blocker blocker, Blocker::Create(config));
  MatchResult r{options.model ? *options.model : MatchModel::Default(config)};
  auto t0 = std::chrono::steady_clock::now();
  Report(options.progress, "block", 0, 1);
  std::vector<RecordPair> candidates =
      blocker.CandidatePairs(records, nullptr, &r.blocking, options.threads);
  r.seconds_blocking = Since(t0);
  t0 = std::chrono::steady_clock::now();
  if (options.train) {
    Report(options.progress, "train", 0, 1);
    r.training = r.model.Train(records, candidates);
  }
  r.seconds_training = Since(t0);
  t0 = std::chrono::steady_clock::now();
  r.pairs = ScorePairs(r.model, records, candidates, options.threads, options.progress);
  candidates.clear();
  candidates.shrink_to_fit();
  r.seconds_scoring = Since(t0);
  t0 = std::chrono::steady_clock::now();
  Report(options.progress, "cluster", 0, 1);
  ClusterOptions co;
  co.threshold = config.threshold;
  r.cluster = ClusterPairs(
      records.size(), r.pairs,
      [&](uint32_t x, uint32_t y) { return r.model.Score(records[x], records[y]); }, co,
      &r.clustering, &r.reviews);
  SplitLinksAndReviews(config, &r);
  r.household = GroupHouseholds(r.model, records, r.cluster);
  r.seconds_clustering = Since(t0);
  return r;
}

Result<MatchModel> TrainModel(const std::vector<NormalizedRecord>& records,
                              const MatchConfig& config, unsigned threads) {
  ASSIGN_OR_RETURN(Blocker blocker, Blocker::Create(config));
  MatchModel model = MatchModel::Default(config);
  BlockingStats stats;
  std::vector<RecordPair> candidates = blocker.CandidatePairs(records, nullptr, &stats, threads);
  model.Train(records, candidates);
  return model;
}

Result<MatchResult> Link(const std::vector<NormalizedRecord>& left,
                         const std::vector<NormalizedRecord>& right, const MatchConfig& config,
                         const RunOptions& options) {
  ASSIGN_OR_RETURN(Blocker blocker, Blocker::Create(config));
  std::vector<NormalizedRecord> all;
  all.reserve(left.size() + right.size());
  all.insert(all.end(), left.begin(), left.end());
  all.insert(all.end(), right.begin(), right.end());
  std::vector<uint8_t> side(all.size(), 0);
  std::fill(side.begin() + left.size(), side.end(), 1);
  MatchResult r{options.model ? *options.model : MatchModel::Default(config)};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<RecordPair> candidates =
      blocker.CandidatePairs(all, &side, &r.blocking, options.threads);
  r.seconds_blocking = Since(t0);
  t0 = std::chrono::steady_clock::now();
  if (options.train) r.training = r.model.Train(all, candidates);
  r.seconds_training = Since(t0);
  t0 = std::chrono::steady_clock::now();
  r.pairs = ScorePairs(r.model, all, candidates, options.threads, options.progress);
  SplitLinksAndReviews(config, &r);
  r.seconds_scoring = Since(t0);
  // One-to-one: each record keeps its best partner only when both agree (mutual best), as
  // two files of distinct people link at most once.
  std::unordered_map<uint32_t, std::pair<double, uint32_t>> best;
  for (const auto& p : r.pairs) {
    for (auto [x, y] : {std::pair{p.a, p.b}, std::pair{p.b, p.a}}) {
      auto it = best.find(x);
      if (it == best.end() || p.probability > it->second.first) best[x] = {p.probability, y};
    }
  }
  std::vector<ScoredPair> kept;
  for (const auto& p : r.pairs) {
    if (best[p.a].second == p.b && best[p.b].second == p.a) {
      kept.push_back({p.a, static_cast<uint32_t>(p.b - left.size()), p.probability});
    }
  }
  r.pairs = std::move(kept);
  return r;
}

PairMetrics ClusterPairMetrics(const std::vector<uint32_t>& cluster,
                               const std::vector<std::string>& truth) {
  std::unordered_map<uint32_t, uint64_t> pred;
  std::unordered_map<std::string, uint64_t> real;
  std::unordered_map<std::string, uint64_t> both;
  for (size_t i = 0; i < cluster.size() && i < truth.size(); ++i) {
    ++pred[cluster[i]];
    if (truth[i].empty()) continue;
    ++real[truth[i]];
    ++both[std::to_string(cluster[i]) + "\x1f" + truth[i]];
  }
  uint64_t tp = 0, predicted = 0, actual = 0;
  for (auto& [k, n] : both) tp += Choose2(n);
  for (auto& [k, n] : pred) predicted += Choose2(n);
  for (auto& [k, n] : real) actual += Choose2(n);
  PairMetrics m;
  m.true_positives = tp;
  m.false_positives = predicted - tp;
  m.false_negatives = actual - tp;
  return Finish(m);
}

PairMetrics ExactClusterMetrics(const std::vector<uint32_t>& cluster,
                                const std::vector<std::string>& truth) {
  std::unordered_map<uint32_t, std::vector<size_t>> pred;
  std::unordered_map<std::string, std::vector<size_t>> real;
  for (size_t i = 0; i < cluster.size(); ++i) {
    pred[cluster[i]].push_back(i);
    real[truth[i].empty() ? "\x1f" + std::to_string(i) : truth[i]].push_back(i);
  }
  uint64_t exact = 0;
  for (auto& [c, members] : pred) {
    const std::string& t = truth[members[0]];
    auto it = real.find(t.empty() ? "\x1f" + std::to_string(members[0]) : t);
    if (it != real.end() && it->second == members) ++exact;
  }
  PairMetrics m;
  m.true_positives = exact;
  m.false_positives = pred.size() - exact;
  m.false_negatives = real.size() - exact;
  return Finish(m);
}

PairMetrics PairSetMetrics(const std::vector<ScoredPair>& predicted,
                           const std::vector<std::string>& left_truth,
                           const std::vector<std::string>& right_truth) {
  PairMetrics m;
  bool link = !right_truth.empty();
  for (const auto& p : predicted) {
    const std::string& a = left_truth[p.a];
    const std::string& b = link ? right_truth[p.b] : left_truth[p.b];
    if (!a.empty() && a == b)
      ++m.true_positives;
    else
      ++m.false_positives;
  }
  uint64_t actual = 0;
  if (link) {
    std::unordered_map<std::string, uint64_t> l, r;
    for (const auto& t : left_truth)
      if (!t.empty()) ++l[t];
    for (const auto& t : right_truth)
      if (!t.empty()) ++r[t];
    for (auto& [k, n] : l) {
      auto it = r.find(k);
      if (it != r.end()) actual += n * it->second;
    }
  } else {
    std::unordered_map<std::string, uint64_t> l;
    for (const auto& t : left_truth)
      if (!t.empty()) ++l[t];
    for (auto& [k, n] : l) actual += Choose2(n);
  }
  m.false_negatives = actual - std::min(actual, m.true_positives);
  return Finish(m);
}

double PairCompleteness(const std::vector<RecordPair>& candidates,
                        const std::vector<std::string>& truth) {
  uint64_t found = 0, actual = 0;
  for (const auto& [a, b] : candidates)
    if (!truth[a].empty() && truth[a] == truth[b]) ++found;
  std::unordered_map<std::string, uint64_t> l;
  for (const auto& t : truth)
    if (!t.empty()) ++l[t];
  for (auto& [k, n] : l) actual += Choose2(n);
  return actual == 0 ? 1.0 : static_cast<double>(found) / actual;
}

std::string FebrlEntity(std::string_view id) {
  if (id.substr(0, 4) != "rec-") return std::string(id);
  std::string_view rest = id.substr(4);
  size_t dash = rest.find('-');
  if (dash == std::string_view::npos) return std::string(id);
  std::string_view kind = rest.substr(dash + 1);
  if (kind != "org" && kind.substr(0, 4) != "dup-") return std::string(id);
  return std::string(rest.substr(0, dash));
}

}  // namespace rapport::identity
