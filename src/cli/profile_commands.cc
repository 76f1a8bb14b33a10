// `rapport mailing`: one letter per household for a segment of the stored persons, with the
// number of mailings that profiles avoided. `rapport persons export`: which person and
// household each stored record was placed on.
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/csv.h"

namespace rapport::cli {

namespace {

struct MailingArgs {
  std::string segment;
  std::string output;
  std::string db = "rapport.db";
};

// Writes `text` to the file `output`, or to standard output for "" and "-".
Status WriteOutput(const std::string& output, const std::string& text) {
  if (output.empty() || output == "-") {
    std::cout << text;
    return OkStatus();
  }
  std::ofstream out(output, std::ios::binary);
  out << text;
  return out ? OkStatus() : Unavailable("cannot write " + output);
}

int Mailing(const MailingArgs& a) {
  auto app = OpenForCommand(a.db);
  if (!app.ok()) return ReportError(app.status());
  auto mailing = (*app)->profiles().Mailing(a.segment);
  if (!mailing.ok()) return ReportError(mailing.status().WithWhere("--segment"));
  if (Status written = WriteOutput(a.output, profiles::MailingToCsv(*mailing)); !written.ok()) {
    return ReportError(written);
  }
  Json counts = profiles::MailingToJson(*mailing)["counts"];
  std::cerr << mailing->households << " letters (one per household) for "
            << counts["source_customers"].get<size_t>()
            << " source customers: " << counts["avoided"]["duplicates"].get<size_t>()
            << " duplicate customers and " << counts["avoided"]["same_household"].get<size_t>()
            << " persons in a shared household avoided; " << mailing->without_address
            << " persons without a usable address left out\n";
  return 0;
}

struct ExportArgs {
  std::string output;
  std::string db = "rapport.db";
};

int ExportPersons(const ExportArgs& a) {
  auto app = OpenForCommand(a.db);
  if (!app.ok()) return ReportError(app.status());
  auto placements = (*app)->profiles().Placements();
  if (!placements.ok()) return ReportError(placements.status());
  std::string csv = "source,key,record_id,person_id,household_id\r\n";
  for (const profiles::RecordPlacement& p : *placements) {
    csv += CsvCell(p.source) + "," + CsvCell(p.source_key) + "," + CsvCell(p.record_id) + "," +
           CsvCell(p.person_id) + "," + CsvCell(p.household_id) + "\r\n";
  }
  if (Status written = WriteOutput(a.output, csv); !written.ok()) return ReportError(written);
  auto persons = (*app)->profiles().PersonCount();
  std::cerr << placements->size() << " records of " << (persons.ok() ? *persons : 0)
            << " persons exported\n";
  return 0;
}

}  // namespace

void AddProfileCommands(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<MailingArgs>();
  CLI::App* cmd = app.add_subcommand(
      "mailing",
      "Write a mailing list with one entry per household (salutation and address) as CSV, and "
      "report how many redundant mailings were avoided.");
  cmd->add_option("--segment", a->segment,
                  "Who gets it: all (default) or field=value conditions joined by ',' on the "
                  "golden record or source, e.g. city=München,source=shop; value* is a prefix");
  cmd->add_option("-o,--output", a->output, "CSV file to write (default: standard output)");
  AddDbOption(cmd, &a->db);
  cmd->callback([a, exit_code] { *exit_code = Mailing(*a); });

  auto e = std::make_shared<ExportArgs>();
  CLI::App* persons = app.add_subcommand("persons", "The resolved customer base");
  persons->require_subcommand(1);
  CLI::App* exp = persons->add_subcommand(
      "export",
      "Write every stored record with the person and household it was placed on as CSV "
      "(source, key, record_id, person_id, household_id), e.g. for a data warehouse");
  exp->add_option("-o,--output", e->output, "CSV file to write (default: standard output)");
  AddDbOption(exp, &e->db);
  exp->callback([e, exit_code] { *exit_code = ExportPersons(*e); });
}

}  // namespace rapport::cli
