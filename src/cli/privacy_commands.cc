// `rapport export` and `rapport retention run`: the privacy ledger from the command line, on
// the database directly. An export goes through the same disclosure check as the API and is
// recorded (and audited) with the operator as the actor.
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"

namespace rapport::cli {

void AddPrivacyCommands(CLI::App& app, int* exit_code) {
  struct ExportArgs {
    std::string db, recipient, purpose;
    std::vector<std::string> fields, persons;
  };
  auto e = std::make_shared<ExportArgs>();
  CLI::App* exp = app.add_subcommand(
      "export",
      "Export persons to a third party through the disclosure check (JSON; refusals listed "
      "and recorded)");
  exp->add_option("--recipient", e->recipient, "The third party (a registered recipient)")
      ->required();
  exp->add_option("--purpose", e->purpose, "What the data is handed over for")->required();
  exp->add_option("--fields", e->fields, "Golden-record fields, comma-separated (default: all)")
      ->delimiter(',');
  exp->add_option("--person", e->persons, "Only these person ids, comma-separated")->delimiter(',');
  AddDbOption(exp, &e->db);
  exp->callback([e, exit_code] {
    auto app = OpenForCommand(e->db);
    if (!app.ok()) {
      *exit_code = ReportError(app.status());
      return;
    }
    auto out = (*app)->privacy().Export(e->recipient, e->purpose, e->fields, e->persons,
                                        privacy::LocalActor("cli"));
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
    auto out = (*app)->privacy().RunRetention(privacy::LocalActor("cli"));
    if (!out.ok()) {
      *exit_code = ReportError(out.status());
      return;
    }
    std::cout << out->dump(2) << "\n";
    *exit_code = 0;
  });
}

}  // namespace rapport::cli
