// `rapport export` and `rapport retention run`: the privacy ledger from the command line, on
// the database directly. An export goes through the same disclosure check as the API and is
// recorded (and audited) with the operator as the actor.
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"

namespace rapport::cli {

namespace {

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

auth::Principal Operator() {
  auth::Principal p;
  p.token_id = "cli";
  p.role = auth::Role::kAdmin;
  p.name = "cli";
  return p;
}

}  // namespace

void AddPrivacyCommands(CLI::App& app, int* exit_code) {
  struct ExportArgs {
    std::string db, recipient, purpose, fields, persons;
  };
  auto e = std::make_shared<ExportArgs>();
  CLI::App* exp = app.add_subcommand(
      "export",
      "Export persons to a third party through the disclosure check (JSON; refusals listed "
      "and recorded)");
  exp->add_option("--recipient", e->recipient, "The third party (a registered recipient)")
      ->required();
  exp->add_option("--purpose", e->purpose, "What the data is handed over for")->required();
  exp->add_option("--fields", e->fields, "Golden-record fields, comma-separated (default: all)");
  exp->add_option("--person", e->persons, "Only these person ids, comma-separated");
  AddDbOption(exp, &e->db);
  exp->callback([e, exit_code] {
    auto app = OpenForCommand(e->db);
    if (!app.ok()) {
      *exit_code = ReportError(app.status());
      return;
    }
    auto out = (*app)->privacy().Export(e->recipient, e->purpose, SplitCommas(e->fields),
                                        SplitCommas(e->persons), Operator());
    if (!out.ok()) {
      *exit_code = ReportError(out.status());
      return;
    }
    std::cout << out->dump(2) << "\n";
    *exit_code = 0;
  });

  auto retention_db = std::make_shared<std::string>();
  CLI::App* retention = app.add_subcommand("retention", "Retention rules per purpose");
  retention->require_subcommand(1);
  CLI::App* run = retention->add_subcommand(
      "run", "Erase every person whose data is past the retention of all its purposes, now");
  AddDbOption(run, retention_db.get());
  run->callback([retention_db, exit_code] {
    auto app = OpenForCommand(*retention_db);
    if (!app.ok()) {
      *exit_code = ReportError(app.status());
      return;
    }
    auto out = (*app)->privacy().RunRetention(Operator());
    if (!out.ok()) {
      *exit_code = ReportError(out.status());
      return;
    }
    std::cout << out->dump(2) << "\n";
    *exit_code = 0;
  });
}

}  // namespace rapport::cli
