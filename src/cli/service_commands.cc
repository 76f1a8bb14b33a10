// `rapport parts generate|evaluate`: fill a database with a realistic generated service
// history, and measure the parts forecast on held-out repairs against the frequency baseline.
#include <iomanip>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"

namespace rapport::cli {

namespace {

struct GenerateArgs {
  size_t assets = 10000;
  uint64_t seed = 1;
  size_t batch = 20000;
  std::string db = "rapport.db";
};

struct EvaluateArgs {
  std::string before;
  std::string db = "rapport.db";
};

int Generate(const GenerateArgs& a) {
  auto app = OpenForCommand(a.db);
  if (!app.ok()) return ReportError(app.status());
  service::GeneratorOptions options;
  options.seed = a.seed;
  options.assets = a.assets;
  auto out = (*app)->service().ImportGenerated(options, a.batch);
  if (!out.ok()) return ReportError(out.status());
  std::cout << out->dump() << std::endl;
  return 0;
}

int Evaluate(const EvaluateArgs& a) {
  auto before = ParseTime(a.before);
  if (!before.ok()) return ReportError(before.status().WithWhere("--before"));
  auto app = OpenForCommand(a.db);
  if (!app.ok()) return ReportError(app.status());
  auto ev = (*app)->service().EvaluateStored(*before);
  if (!ev.ok()) return ReportError(ev.status().WithWhere("--before"));
  std::cout << ev->ToJson().dump() << std::endl;
  std::cerr << std::fixed << std::setprecision(3) << "trained on " << ev->train_repairs
            << " repairs before " << a.before << ", tested on " << ev->test_repairs << " repairs ("
            << ev->test_parts << " parts) after it\n"
            << "  forecast: top-1 recall " << ev->forecast.top1 << ", top-3 recall "
            << ev->forecast.top3 << "\n"
            << "  baseline (most frequent parts overall): top-1 " << ev->baseline.top1 << ", top-3 "
            << ev->baseline.top3 << "\n"
            << "  most frequent parts of the same model: top-1 " << ev->model_baseline.top1
            << ", top-3 " << ev->model_baseline.top3 << "\n";
  return 0;
}

}  // namespace

void AddServiceCommands(CLI::App& app, int* exit_code) {
  CLI::App* parts = app.add_subcommand("parts", "Spare-parts forecast of the service network");
  parts->require_subcommand(1);

  auto g = std::make_shared<GenerateArgs>();
  CLI::App* gen = parts->add_subcommand(
      "generate",
      "Store a generated service history (catalogue, appliances, repairs and maintenance whose "
      "failure rates rise with age, weak parts per model); deterministic for a seed");
  gen->add_option("--assets", g->assets, "Appliances to generate (about 2 records each)")
      ->check(CLI::Range(size_t{1}, size_t{100000000}));
  gen->add_option("--seed", g->seed, "Random seed (same seed, same history)");
  gen->add_option("--batch", g->batch, "Records per transaction")
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  AddDbOption(gen, &g->db);
  gen->callback([g, exit_code] { *exit_code = Generate(*g); });

  auto e = std::make_shared<EvaluateArgs>();
  CLI::App* eval = parts->add_subcommand(
      "evaluate",
      "Train on the stored repairs before a date and measure top-1/top-3 recall of the parts "
      "really used after it, against the most frequent parts overall");
  eval->add_option("--before", e->before, "Cut-off date, e.g. 2024-01-01")->required();
  AddDbOption(eval, &e->db);
  eval->callback([e, exit_code] { *exit_code = Evaluate(*e); });
}

}  // namespace rapport::cli
