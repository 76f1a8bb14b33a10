// `rapport import`: customer records or events from CSV or NDJSON files into the store.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/progress.h"

namespace rapport::cli {

namespace {

struct ImportArgs {
  std::string file;
  std::string kind = "records";
  std::string source;
  std::string key;
  std::string format;
  std::string db = "rapport.db";
  size_t max_rejections_shown = 20;
};

int Import(const ImportArgs& a) {
  auto bytes = ReadFile(a.file);
  if (!bytes.ok()) return ReportError(bytes.status());
  auto app = OpenForCommand(a.db);
  if (!app.ok()) return ReportError(app.status());

  std::string ext = std::filesystem::path(a.file).extension().string();
  std::string format = a.format;
  if (format.empty()) format = (ext == ".ndjson" || ext == ".jsonl") ? "ndjson" : "csv";

  ingest::ImportOptions opts;
  opts.kind = a.kind == "events" ? ingest::ImportKind::kEvents : ingest::ImportKind::kRecords;
  opts.source = a.source.empty() && opts.kind == ingest::ImportKind::kRecords
                    ? std::filesystem::path(a.file).stem().string()
                    : a.source;
  opts.key_column = a.key;
  ProgressBar bar("importing " + std::filesystem::path(a.file).filename().string(),
                  bytes->size());
  opts.progress = [&bar](size_t done, size_t) { bar.Update(done); };

  auto summary = format == "ndjson"
                     ? ingest::ImportNdjson((*app)->ingestor(), *bytes, opts)
                     : ingest::ImportCsv((*app)->ingestor(), std::move(bytes).value(), opts);
  bar.Finish();
  if (!summary.ok()) return ReportError(summary.status().WithWhere(a.file + ":" + summary.status().where()));
  for (const auto& note : summary->notes) std::cerr << "note: " << note << "\n";
  std::cout << a.file << ": " << summary->rows << " rows read, " << summary->stored << " stored, "
            << summary->duplicates << " already stored, " << summary->rejected.size()
            << " rejected" << (opts.kind == ingest::ImportKind::kRecords
                                   ? " (source '" + opts.source + "')"
                                   : std::string())
            << "\n";
  if (opts.kind == ingest::ImportKind::kRecords) {
    auto persons = (*app)->profiles().PersonCount();
    if (persons.ok()) std::cout << "persons stored: " << *persons << "\n";
  }
  size_t shown = 0;
  for (const auto& r : summary->rejected) {
    if (shown++ == a.max_rejections_shown) {
      std::cout << "  ... and " << summary->rejected.size() - a.max_rejections_shown << " more\n";
      break;
    }
    std::cout << "  " << a.file << ":" << r.line << ": " << r.reason << "\n";
  }
  return summary->rejected.empty() ? 0 : 1;
}

}  // namespace

void AddImportCommand(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "import",
      "Import customer records or events from a CSV or NDJSON file. CSV may be UTF-8 or "
      "Windows-1252 (German Excel), with ',' ';' or tab (detected). Good rows are stored, bad "
      "rows are listed with their line; importing the same file again changes nothing.");
  cmd->add_option("file", a->file, "CSV or NDJSON file")->required()->check(CLI::ExistingFile);
  cmd->add_option("--kind", a->kind, "records (customer records) or events")
      ->check(CLI::IsMember({"records", "events"}))
      ->capture_default_str();
  cmd->add_option("--source", a->source,
                  "Records: the source system's name (default: the file name without extension)");
  cmd->add_option("--key", a->key,
                  "Records: the column with the source system's id (default: id, rec_id, else the "
                  "first column)");
  cmd->add_option("--format", a->format, "csv or ndjson (default: from the file extension)")
      ->check(CLI::IsMember({"csv", "ndjson"}));
  AddDbOption(cmd, &a->db);
  cmd->callback([a, exit_code] { *exit_code = Import(*a); });
}

}  // namespace rapport::cli
