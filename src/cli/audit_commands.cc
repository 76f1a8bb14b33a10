// `rapport audit verify|list`: the hash-chained audit log, read directly from the store.
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"

namespace rapport::cli {

void AddAuditCommands(CLI::App& app, int* exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "Verify and list the audit log");
  audit->require_subcommand(1);

  auto verify_db = std::make_shared<std::string>();
  CLI::App* verify = audit->add_subcommand(
      "verify", "Re-compute the hash chain; exit 1 naming the first altered or missing entry");
  AddDbOption(verify, verify_db.get());
  verify->callback([verify_db, exit_code] {
    auto app = OpenForCommand(*verify_db);
    if (!app.ok()) {
      *exit_code = ReportError(app.status());
      return;
    }
    auto v = (*app)->audit().Verify();
    if (!v.ok()) {
      *exit_code = ReportError(v.status());
      return;
    }
    if (v->ok) {
      std::cout << "audit log intact: " << v->entries << (v->entries == 1 ? " entry" : " entries")
                << " checked\n";
      *exit_code = 0;
    } else {
      std::cout << "audit log BROKEN: " << v->problem << "\n";
      *exit_code = 1;
    }
  });

  struct ListArgs {
    std::string db, subject;
    int limit = 100;
  };
  auto l = std::make_shared<ListArgs>();
  CLI::App* list = audit->add_subcommand("list", "Print audit entries as NDJSON, oldest first");
  list->add_option("--subject", l->subject, "Only entries about this person, asset, case ...");
  list->add_option("--limit", l->limit, "At most this many entries")->check(CLI::Range(1, 1000000));
  AddDbOption(list, &l->db);
  list->callback([l, exit_code] {
    auto app = OpenForCommand(l->db);
    if (!app.ok()) {
      *exit_code = ReportError(app.status());
      return;
    }
    int64_t after = 0;
    int left = l->limit;
    while (left > 0) {
      auto page = (*app)->audit().List(l->subject, after, std::min(left, 1000));
      if (!page.ok()) {
        *exit_code = ReportError(page.status());
        return;
      }
      if (page->empty()) break;
      for (const auto& r : *page) {
        std::cout << privacy::AuditRecordToJson(r).dump() << "\n";
      }
      after = page->back().seq;
      left -= static_cast<int>(page->size());
    }
    *exit_code = 0;
  });
}

}  // namespace rapport::cli
