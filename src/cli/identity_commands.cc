// `rapport dedupe|link|explain|evaluate|generate`: thin wrappers that read files, call the
// identity library and write CSV; all matching logic lives in src/identity.

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>

#include "cli/commands.h"
#include "cli/progress.h"
#include "core/csv.h"
#include "identity/generator.h"
#include "identity/pipeline.h"

namespace rapport::cli {
namespace {

using identity::LoadedRecords;
using identity::MatchConfig;
using identity::MatchResult;

constexpr int kExitOk = 0;
constexpr int kExitBadInput = 2;

struct CommonFlags {
  std::string config_path;
  std::string id_column;
  std::string model_path;  // start from / use a stored model (JSON)
  unsigned threads = 2;
};

void AddCommon(CLI::App* cmd, CommonFlags* f) {
  cmd->add_option("--config", f->config_path, "YAML file naming columns and comparisons");
  cmd->add_option("--id", f->id_column, "id column (default: id, rec_id, else the first)");
  cmd->add_option("--model", f->model_path, "match model JSON (m/u) to use instead of training");
  cmd->add_option("--threads", f->threads, "worker threads")->check(CLI::Range(1, 64));
}

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
  return kExitBadInput;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path, path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<MatchConfig> LoadConfig(const CommonFlags& f) {
  MatchConfig c;
  if (!f.config_path.empty()) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(f.config_path));
    auto parsed = identity::ParseConfigYaml(text);
    if (!parsed.ok()) return parsed.status().WithContext(f.config_path);
    c = *parsed;
  }
  if (!f.id_column.empty()) c.id_column = f.id_column;
  return c;
}

Result<std::unique_ptr<identity::MatchModel>> LoadModel(const CommonFlags& f) {
  if (f.model_path.empty()) return std::unique_ptr<identity::MatchModel>();
  ASSIGN_OR_RETURN(std::string text, ReadFile(f.model_path));
  ASSIGN_OR_RETURN(Json j, ParseJson(text));
  ASSIGN_OR_RETURN(identity::MatchModel m, identity::MatchModel::FromJson(j));
  return std::make_unique<identity::MatchModel>(std::move(m));
}

// One progress bar per pipeline stage.
class StageProgress {
 public:
  identity::ProgressFn Fn() {
    return [this](std::string_view stage, size_t done, size_t total) {
      if (stage != stage_) {
        if (bar_) bar_->Finish();
        stage_ = std::string(stage);
        bar_ = std::make_unique<ProgressBar>(stage_, std::max<size_t>(total, 1));
      }
      bar_->Update(done);
    };
  }
  ~StageProgress() {
    if (bar_) bar_->Finish();
  }

 private:
  std::string stage_;
  std::unique_ptr<ProgressBar> bar_;
};

Result<LoadedRecords> Load(const std::string& path, const MatchConfig& config, const CommonFlags& f,
                           StageProgress* progress, const std::string& truth = "") {
  identity::LoadOptions opts;
  opts.threads = f.threads;
  opts.truth_column = truth;
  opts.progress = progress->Fn();
  ASSIGN_OR_RETURN(LoadedRecords r, identity::LoadCsv(path, config, opts));
  for (const auto& n : r.notes) std::fprintf(stderr, "%s: %s\n", path.c_str(), n.c_str());
  if (r.rejected > 0) {
    std::fprintf(stderr, "%s: %zu of %zu rows rejected\n", path.c_str(), r.rejected, r.rows);
    for (const auto& why : r.rejections) std::fprintf(stderr, "  %s\n", why.c_str());
  }
  return r;
}

// Group label: the id of the group's first record in file order (stable and readable).
std::vector<std::string> GroupLabels(const LoadedRecords& in, const std::vector<uint32_t>& group) {
  std::unordered_map<uint32_t, std::string> first;
  std::vector<std::string> out;
  for (size_t i = 0; i < group.size(); ++i) {
    auto [it, inserted] = first.emplace(group[i], in.records[i].id);
    out.push_back(it->second);
  }
  return out;
}

Status WriteGroups(const std::string& path, const char* column, const LoadedRecords& in,
                   const std::vector<uint32_t>& group) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return InvalidArgument("cannot write " + path, path);
  out << "record_id," << column << "\n";
  std::vector<std::string> labels = GroupLabels(in, group);
  for (size_t i = 0; i < group.size(); ++i) {
    out << CsvCell(in.records[i].id) << "," << CsvCell(labels[i]) << "\n";
  }
  return out ? OkStatus() : Internal("write failed: " + path);
}

Status WriteModel(const std::string& path, const identity::MatchModel& model) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return InvalidArgument("cannot write " + path, path);
  out << model.ToJson().dump(1) << "\n";
  return OkStatus();
}

void PrintSummary(const MatchResult& r, size_t records) {
  std::fprintf(stderr,
               "records %zu; candidate pairs %zu (reduction ratio %.6f, %zu oversized blocks "
               "skipped); model %s (lambda %.3g, %d EM iterations); pairs >= threshold %zu\n",
               records, r.blocking.candidate_pairs, r.blocking.reduction_ratio,
               r.blocking.skipped_blocks, r.model.trained() ? "trained" : "built-in defaults",
               r.model.lambda(), r.training.em_iterations, r.pairs.size());
  std::fprintf(stderr, "pairs per blocking rule (before union):");
  for (size_t n : r.blocking.pairs_per_rule) std::fprintf(stderr, " %zu", n);
  std::fprintf(stderr, "\n");
  std::fprintf(stderr, "time: blocking %.2fs, training %.2fs, scoring %.2fs, clustering %.2fs\n",
               r.seconds_blocking, r.seconds_training, r.seconds_scoring, r.seconds_clustering);
  for (const auto& c : r.training.comparisons) {
    if (c.fallback) {
      std::fprintf(stderr, "model guard: %s uses its prior m (%s)\n", c.name.c_str(),
                   c.guard.c_str());
    }
    if (c.placeholders > 0) {
      std::fprintf(stderr, "model: %zu frequent value(s) of %s compared as missing\n",
                   c.placeholders, c.name.c_str());
    }
  }
}

// The trained model (each comparison's m, u and weight, the guards' verdicts) and the largest
// persons with their records, so a data steward sees a wrong model before its persons are used.
std::string Report(const MatchResult& r, const LoadedRecords& in, size_t largest) {
  std::string out = r.model.training().ToText(in.config);
  std::map<uint32_t, std::vector<size_t>> members;
  for (size_t i = 0; i < r.cluster.size(); ++i) members[r.cluster[i]].push_back(i);
  std::vector<std::pair<size_t, uint32_t>> sizes;
  for (const auto& [c, m] : members) sizes.emplace_back(m.size(), c);
  std::sort(sizes.begin(), sizes.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "\npersons %zu; merges refused: %zu for a conflict, %zu for weak agreement, %zu "
                "too large; %zu pairs to review\n",
                r.clustering.clusters, r.clustering.refused_conflict, r.clustering.refused_weak,
                r.clustering.refused_large, r.reviews.size());
  out += buf;
  out += "largest persons:\n";
  for (size_t k = 0; k < sizes.size() && k < largest && sizes[k].first > 1; ++k) {
    std::snprintf(buf, sizeof buf, "  person %u: %zu records\n", sizes[k].second, sizes[k].first);
    out += buf;
    for (size_t i : members[sizes[k].second]) {
      const auto& rec = in.records[i];
      out += "    " + rec.id;
      for (size_t c = 0; c < rec.values.size() && c < in.config.comparisons.size(); ++c) {
        const auto& v = rec.values[c];
        if (v.missing()) continue;
        out += " | " + in.config.comparisons[c].name + "=" +
               identity::DescribeValue(in.config.comparisons[c].kind, v);
      }
      out += "\n";
    }
  }
  return out;
}

Status WriteReviews(const std::string& path, const MatchResult& r,
                    const std::vector<identity::NormalizedRecord>& left,
                    const std::vector<identity::NormalizedRecord>& right) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return InvalidArgument("cannot write " + path, path);
  out << "left_id,right_id,probability,conflict\n";
  char buf[32];
  for (const auto& p : r.reviews) {
    std::snprintf(buf, sizeof buf, "%.6f", p.probability);
    out << CsvCell(left[p.a].id) << "," << CsvCell(right[p.b].id) << "," << buf << ","
        << (p.conflict ? "true" : "false") << "\n";
  }
  return out ? OkStatus() : Internal("could not write " + path);
}

void AddDedupe(CLI::App& app, int* exit_code) {
  struct Flags {
    CommonFlags common;
    std::string input, output, households, model_out, reviews, report;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("dedupe", "Find records of the same person in one CSV file");
  cmd->add_option("input", f->input, "input CSV")->required();
  cmd->add_option("-o,--output", f->output, "clusters CSV: record_id,cluster_id")->required();
  cmd->add_option("--households", f->households, "households CSV: record_id,household_id");
  cmd->add_option("--model-out", f->model_out, "write the trained model (JSON) here");
  cmd->add_option("--reviews", f->reviews,
                  "pairs for a person to decide (gray zone, conflicts, refused merges) as CSV: "
                  "left_id,right_id,probability,conflict");
  cmd->add_option("--report", f->report,
                  "write the trained model (m, u, weights, guards) and the largest persons here");
  AddCommon(cmd, &f->common);
  cmd->callback([f, exit_code] {
    *exit_code = [&]() -> int {
      auto config = LoadConfig(f->common);
      if (!config.ok()) return Fail(config.status());
      auto model = LoadModel(f->common);
      if (!model.ok()) return Fail(model.status());
      StageProgress progress;
      auto in = Load(f->input, *config, f->common, &progress);
      if (!in.ok()) return Fail(in.status());
      identity::RunOptions opts;
      opts.threads = f->common.threads;
      opts.model = model->get();
      opts.train = *model == nullptr;
      opts.progress = progress.Fn();
      auto r = identity::Dedupe(in->records, in->config, opts);
      if (!r.ok()) return Fail(r.status());
      if (Status s = WriteGroups(f->output, "cluster_id", *in, r->cluster); !s.ok()) return Fail(s);
      if (!f->households.empty()) {
        if (Status s = WriteGroups(f->households, "household_id", *in, r->household); !s.ok()) {
          return Fail(s);
        }
      }
      if (!f->model_out.empty()) {
        if (Status s = WriteModel(f->model_out, r->model); !s.ok()) return Fail(s);
      }
      if (!f->reviews.empty()) {
        if (Status s = WriteReviews(f->reviews, *r, in->records, in->records); !s.ok()) {
          return Fail(s);
        }
      }
      if (!f->report.empty()) {
        std::ofstream rep(f->report, std::ios::binary);
        if (!rep) return Fail(InvalidArgument("cannot write " + f->report, f->report));
        rep << Report(*r, *in, 20);
      }
      PrintSummary(*r, in->records.size());
      size_t households = 0;
      for (uint32_t h : r->household) households = std::max<size_t>(households, h + 1);
      std::fprintf(stderr,
                   "persons %zu (largest %zu records; merges refused: %zu conflicts, %zu weak); "
                   "%zu pairs to review; households %zu\n",
                   r->clustering.clusters, r->clustering.largest, r->clustering.refused_conflict,
                   r->clustering.refused_weak, r->reviews.size(), households);
      return kExitOk;
    }();
  });
}

void AddLink(CLI::App& app, int* exit_code) {
  struct Flags {
    CommonFlags common;
    std::string left, right, output;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("link", "Link records of two CSV files");
  cmd->add_option("left", f->left, "first CSV")->required();
  cmd->add_option("right", f->right, "second CSV (same columns)")->required();
  cmd->add_option("-o,--output", f->output, "pairs CSV: left_id,right_id,probability")->required();
  AddCommon(cmd, &f->common);
  cmd->callback([f, exit_code] {
    *exit_code = [&]() -> int {
      auto config = LoadConfig(f->common);
      if (!config.ok()) return Fail(config.status());
      auto model = LoadModel(f->common);
      if (!model.ok()) return Fail(model.status());
      StageProgress progress;
      auto a = Load(f->left, *config, f->common, &progress);
      if (!a.ok()) return Fail(a.status());
      auto b = Load(f->right, *config, f->common, &progress);
      if (!b.ok()) return Fail(b.status());
      if (a->config.comparisons.size() != b->config.comparisons.size()) {
        return Fail(InvalidArgument("the two files have different comparable columns"));
      }
      identity::RunOptions opts;
      opts.threads = f->common.threads;
      opts.model = model->get();
      opts.train = *model == nullptr;
      opts.progress = progress.Fn();
      auto r = identity::Link(a->records, b->records, a->config, opts);
      if (!r.ok()) return Fail(r.status());
      std::ofstream out(f->output, std::ios::binary);
      if (!out) return Fail(InvalidArgument("cannot write " + f->output));
      out << "left_id,right_id,probability\n";
      char buf[32];
      for (const auto& p : r->pairs) {
        std::snprintf(buf, sizeof buf, "%.6f", p.probability);
        out << CsvCell(a->records[p.a].id) << "," << CsvCell(b->records[p.b].id) << "," << buf
            << "\n";
      }
      PrintSummary(*r, a->records.size() + b->records.size());
      return kExitOk;
    }();
  });
}

void AddExplain(CLI::App& app, int* exit_code) {
  struct Flags {
    CommonFlags common;
    std::string input, left, right;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand("explain", "Explain the match score of two records");
  cmd->add_option("input", f->input, "input CSV")->required();
  cmd->add_option("id1", f->left, "first record id")->required();
  cmd->add_option("id2", f->right, "second record id")->required();
  cmd->add_flag("--json", f->json, "print JSON instead of a table");
  AddCommon(cmd, &f->common);
  cmd->callback([f, exit_code] {
    *exit_code = [&]() -> int {
      auto config = LoadConfig(f->common);
      if (!config.ok()) return Fail(config.status());
      auto stored = LoadModel(f->common);
      if (!stored.ok()) return Fail(stored.status());
      StageProgress progress;
      auto in = Load(f->input, *config, f->common, &progress);
      if (!in.ok()) return Fail(in.status());
      const identity::NormalizedRecord* a = nullptr;
      const identity::NormalizedRecord* b = nullptr;
      for (const auto& r : in->records) {
        if (r.id == f->left) a = &r;
        if (r.id == f->right) b = &r;
      }
      if (a == nullptr) return Fail(NotFound("no record with id " + f->left));
      if (b == nullptr) return Fail(NotFound("no record with id " + f->right));
      // The same weights a dedupe run of this file would use.
      auto model = *stored ? Result<identity::MatchModel>(**stored)
                           : identity::TrainModel(in->records, in->config, f->common.threads);
      if (!model.ok()) return Fail(model.status());
      identity::Explanation e = model->Explain(*a, *b);
      if (f->json) {
        std::cout << e.ToJson().dump(2) << "\n";
      } else {
        std::cout << e.ToText();
      }
      return kExitOk;
    }();
  });
}

// Truth labels: a column's values, or the FEBRL entity encoded in the id ("febrl").
std::vector<std::string> TruthLabels(const LoadedRecords& in, const std::string& truth) {
  if (truth == "febrl") {
    std::vector<std::string> out;
    for (const auto& r : in.records) out.push_back(identity::FebrlEntity(r.id));
    return out;
  }
  return in.truth;
}

Result<std::vector<uint32_t>> ReadClusters(const std::string& path, const LoadedRecords& in) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  ASSIGN_OR_RETURN(CsvReader reader, CsvReader::Open(std::move(text)));
  int rid = reader.Column("record_id"), cid = reader.Column("cluster_id");
  if (cid < 0) {
    // `rapport persons export`: the record's key in its source file is the input's id.
    rid = reader.Column("key");
    cid = reader.Column("person_id");
  }
  if (rid < 0 || cid < 0) {
    return InvalidArgument(path +
                           " needs columns record_id,cluster_id (as dedupe writes them) or "
                           "key,person_id (as persons export writes them)");
  }
  std::unordered_map<std::string, std::string> cluster_of;
  CsvRow row;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, reader.Next(&row));
    if (!more) break;
    if (static_cast<int>(row.fields.size()) <= std::max(rid, cid)) {
      return InvalidArgument("short row", path + ":" + std::to_string(row.line));
    }
    cluster_of[row.fields[rid]] = row.fields[cid];
  }
  std::unordered_map<std::string, uint32_t> ids;
  std::vector<uint32_t> out;
  size_t missing = 0;
  for (const auto& r : in.records) {
    auto it = cluster_of.find(r.id);
    // A record absent from the clusters file is a singleton.
    std::string key = it == cluster_of.end() ? "\x1f" + r.id : it->second;
    missing += it == cluster_of.end();
    out.push_back(ids.emplace(key, static_cast<uint32_t>(ids.size())).first->second);
  }
  if (missing > 0)
    std::fprintf(stderr, "%zu records are not in %s (singletons)\n", missing, path.c_str());
  return out;
}

void PrintMetrics(const char* what, const identity::PairMetrics& m) {
  std::printf("%-18s precision %.4f  recall %.4f  F1 %.4f  (tp %llu, fp %llu, fn %llu)\n", what,
              m.precision, m.recall, m.f1, static_cast<unsigned long long>(m.true_positives),
              static_cast<unsigned long long>(m.false_positives),
              static_cast<unsigned long long>(m.false_negatives));
}

void AddEvaluate(CLI::App& app, int* exit_code) {
  struct Flags {
    CommonFlags common;
    std::string input, truth, clusters;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd =
      app.add_subcommand("evaluate", "Measure deduplication quality against known truth");
  cmd->add_option("input", f->input, "input CSV with a truth column")->required();
  cmd->add_option("--truth", f->truth,
                  "truth column (records with the same value are one person), or 'febrl' to "
                  "read rec-N-org / rec-N-dup-K ids")
      ->required();
  cmd->add_option("--clusters", f->clusters,
                  "evaluate this clusters CSV (record_id,cluster_id) or persons export "
                  "(key,person_id) instead of running dedupe");
  AddCommon(cmd, &f->common);
  cmd->callback([f, exit_code] {
    *exit_code = [&]() -> int {
      auto config = LoadConfig(f->common);
      if (!config.ok()) return Fail(config.status());
      auto model = LoadModel(f->common);
      if (!model.ok()) return Fail(model.status());
      StageProgress progress;
      auto in = Load(f->input, *config, f->common, &progress, f->truth == "febrl" ? "" : f->truth);
      if (!in.ok()) return Fail(in.status());
      std::vector<std::string> truth = TruthLabels(*in, f->truth);
      std::vector<uint32_t> cluster;
      if (!f->clusters.empty()) {
        auto c = ReadClusters(f->clusters, *in);
        if (!c.ok()) return Fail(c.status());
        cluster = std::move(*c);
      } else {
        identity::RunOptions opts;
        opts.threads = f->common.threads;
        opts.model = model->get();
        opts.train = *model == nullptr;
        opts.progress = progress.Fn();
        auto r = identity::Dedupe(in->records, in->config, opts);
        if (!r.ok()) return Fail(r.status());
        PrintSummary(*r, in->records.size());
        auto blocker = identity::Blocker::Create(in->config);
        if (blocker.ok()) {
          auto candidates = blocker->CandidatePairs(in->records, nullptr, nullptr, opts.threads);
          std::printf(
              "blocking           pair completeness %.4f  reduction ratio %.6f  "
              "candidates %zu\n",
              identity::PairCompleteness(candidates, truth), r->blocking.reduction_ratio,
              r->blocking.candidate_pairs);
        }
        PrintMetrics("scored pairs", identity::PairSetMetrics(r->pairs, truth, {}));
        cluster = std::move(r->cluster);
      }
      PrintMetrics("pairs (clusters)", identity::ClusterPairMetrics(cluster, truth));
      PrintMetrics("exact clusters", identity::ExactClusterMetrics(cluster, truth));
      return kExitOk;
    }();
  });
}

void AddGenerate(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string output;
    std::string profile = "realistic";
    identity::GeneratorOptions options;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd =
      app.add_subcommand("generate", "Write synthetic German customer records with known truth");
  identity::GeneratorOptions& o = f->options;
  cmd->add_option("-o,--output", f->output, "output CSV (default: stdout)");
  cmd->add_option("-n,--records", o.records, "number of records")->check(CLI::Range(1, 100000000));
  cmd->add_option("--seed", o.seed, "random seed (same seed, same file)");
  cmd->add_option("--profile", f->profile,
                  "realistic (a regional customer base, default) or classic (the generator of "
                  "2026-11, for earlier figures)");
  cmd->add_option("--postcodes", o.region_postcodes, "postcodes of the home region (realistic)")
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--national-share", o.national_share,
                  "share of persons living outside the region (realistic)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--missing-birth-dates", o.missing_birth_dates,
                  "share of records without a birth date (realistic)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--placeholder-birth-dates", o.placeholder_birth_dates,
                  "share of records with 01.01.1900 and the like (realistic)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--duplicated", o.duplicated_persons,
                  "share of persons with more than one record (realistic)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->callback([f, exit_code] {
    auto profile = identity::ParseGeneratorProfile(f->profile);
    if (!profile.ok()) {
      *exit_code = Fail(profile.status());
      return;
    }
    f->options.profile = *profile;
    if (f->output.empty()) {
      identity::GenerateCustomers(f->options, std::cout);
    } else {
      std::ofstream out(f->output, std::ios::binary);
      if (!out) {
        *exit_code = Fail(InvalidArgument("cannot write " + f->output));
        return;
      }
      identity::GenerateCustomers(f->options, out);
    }
    *exit_code = kExitOk;
  });
}

}  // namespace

void AddIdentityCommands(CLI::App& app, int* exit_code) {
  AddDedupe(app, exit_code);
  AddLink(app, exit_code);
  AddExplain(app, exit_code);
  AddEvaluate(app, exit_code);
  AddGenerate(app, exit_code);
}

}  // namespace rapport::cli
