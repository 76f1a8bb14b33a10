// `rapport audit verify|checkpoint|list`: the keyed, hash-chained audit log, read directly from
// the store, and the signed checkpoints that prove which prefix of it existed.
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"

namespace rapport::cli {
namespace {

void AddAuditKeyOption(CLI::App* cmd, std::string* path) {
  cmd->add_option(
         "--audit-key-file", *path,
         "File with the audit log's key (default: <db>.audit-key; required for PostgreSQL)")
      ->envname("RAPPORT_AUDIT_KEY_FILE");
}

}  // namespace

void AddAuditCommands(CLI::App& app, int* exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "Verify and list the audit log");
  audit->require_subcommand(1);

  struct VerifyArgs {
    std::string db, key_file, checkpoints;
  };
  auto va = std::make_shared<VerifyArgs>();
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Re-compute the keyed hash chain and check it against exported checkpoints; exit 1 naming "
      "the first altered, reordered or missing entry");
  AddDbOption(verify, &va->db);
  AddAuditKeyOption(verify, &va->key_file);
  verify->add_option("--checkpoints", va->checkpoints,
                     "Checkpoints file (`rapport audit checkpoint`, `serve --audit-checkpoints`): "
                     "the log must still hold every checkpointed prefix");
  verify->callback([va, exit_code] {
    std::vector<privacy::AuditCheckpoint> checkpoints;
    if (!va->checkpoints.empty()) {
      auto text = ReadFile(va->checkpoints);
      if (!text.ok()) {
        *exit_code = ReportError(text.status());
        return;
      }
      auto parsed = privacy::ParseAuditCheckpoints(*text);
      if (!parsed.ok()) {
        *exit_code = ReportError(parsed.status().WithContext(va->checkpoints));
        return;
      }
      checkpoints = std::move(*parsed);
    }
    auto app = OpenForCommand(va->db, va->key_file);
    if (!app.ok()) {
      *exit_code = ReportError(app.status());
      return;
    }
    auto v = (*app)->audit().Verify(checkpoints);
    if (!v.ok()) {
      *exit_code = ReportError(v.status());
      return;
    }
    if (!v->ok) {
      std::cout << "audit log BROKEN: " << v->problem << "\n";
      *exit_code = 1;
      return;
    }
    std::cout << "audit log intact: " << v->entries << (v->entries == 1 ? " entry" : " entries")
              << " checked";
    if (v->first_keyed == 1) {
      std::cout << ", all keyed";
    } else if (v->first_keyed > 1) {
      std::cout << ", keyed from entry " << v->first_keyed << " (entries 1-" << v->first_keyed - 1
                << " predate the audit key: hash-chained only)";
    } else if (v->entries > 0) {
      std::cout << ", none keyed (written before the audit key: hash-chained only)";
    }
    if (!checkpoints.empty()) {
      std::cout << "; " << v->checkpoints << (v->checkpoints == 1 ? " checkpoint" : " checkpoints")
                << " hold";
    }
    std::cout << "\n";
    *exit_code = 0;
  });

  struct CheckpointArgs {
    std::string db, key_file, out;
  };
  auto ca = std::make_shared<CheckpointArgs>();
  CLI::App* checkpoint = audit->add_subcommand(
      "checkpoint",
      "Verify the log, then append a signed checkpoint {entries, head, at, key, mac} to a file "
      "kept off the database host (or print it for a log shipper)");
  AddDbOption(checkpoint, &ca->db);
  AddAuditKeyOption(checkpoint, &ca->key_file);
  checkpoint->add_option("-o,--output", ca->out,
                         "Append to this file (created 0600, fsynced); default: stdout");
  checkpoint->callback([ca, exit_code] {
    auto app = OpenForCommand(ca->db, ca->key_file);
    if (!app.ok()) {
      *exit_code = ReportError(app.status());
      return;
    }
    // Signing a head that is already rewritten would vouch for the rewrite.
    auto v = (*app)->audit().Verify();
    if (!v.ok()) {
      *exit_code = ReportError(v.status());
      return;
    }
    if (!v->ok) {
      std::cerr << "error: not checkpointing a broken audit log: " << v->problem << "\n";
      *exit_code = 1;
      return;
    }
    auto c = (*app)->audit().Checkpoint();
    if (!c.ok()) {
      *exit_code = ReportError(c.status());
      return;
    }
    if (ca->out.empty()) {
      std::cout << privacy::AuditCheckpointLine(*c) << std::endl;
    } else if (Status s = privacy::AppendAuditCheckpoint(ca->out, *c); !s.ok()) {
      *exit_code = ReportError(s);
      return;
    }
    *exit_code = 0;
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
