// `rapport token create|list|revoke`: API tokens, managed directly in the store.
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"

namespace rapport::cli {

void AddTokenCommands(CLI::App& app, int* exit_code) {
  CLI::App* token = app.add_subcommand("token", "Create, list and revoke API tokens");
  token->require_subcommand(1);

  struct CreateArgs {
    std::string role, org, name, expires, db;
    bool replace = false;
    bool quiet = false;
  };
  auto c = std::make_shared<CreateArgs>();
  CLI::App* create = token->add_subcommand(
      "create", "Create a token and print it (it is shown only this once; only its hash is stored)");
  create->add_option("--role", c->role, "admin, agent, analyst or partner")
      ->required()
      ->check(CLI::IsMember({"admin", "agent", "analyst", "partner"}));
  create->add_option("--org", c->org, "The organisation a partner token is scoped to");
  create->add_option("--name", c->name, "A label, e.g. the integration or person using it");
  create->add_flag("--replace", c->replace, "Revoke earlier tokens of the same --name first");
  create->add_flag("--quiet,-q", c->quiet, "Print only the token");
  create->add_option("--expires", c->expires,
                     "Refuse the token from this long after now on, e.g. 90d or 12h "
                     "(default: valid until revoked)");
  AddDbOption(create, &c->db);
  create->callback([c, exit_code] {
    auto app = OpenForCommand(c->db);
    if (!app.ok()) {
      *exit_code = ReportError(app.status());
      return;
    }
    auto role = store::ParseRole(c->role);
    std::optional<Duration> lifetime;
    if (!c->expires.empty()) {
      auto d = ParseDuration(c->expires);
      if (!d.ok()) {
        *exit_code = ReportError(d.status().WithWhere("--expires"));
        return;
      }
      lifetime = *d;
    }
    auto t = (*app)->tokens().Create(*role, c->org, c->name, c->replace, lifetime);
    if (!t.ok()) {
      *exit_code = ReportError(t.status());
      return;
    }
    if (c->quiet) {
      std::cout << t->token << "\n";
    } else {
      std::cout << "token (" << c->role << (c->org.empty() ? "" : ", org " + c->org)
                << "): " << t->token << "\n"
                << "use it as: Authorization: Bearer " << t->token << "\n";
    }
    *exit_code = 0;
  });

  auto list_db = std::make_shared<std::string>();
  CLI::App* list = token->add_subcommand("list", "List tokens (never their secrets)");
  AddDbOption(list, list_db.get());
  list->callback([list_db, exit_code] {
    auto app = OpenForCommand(*list_db);
    if (!app.ok()) {
      *exit_code = ReportError(app.status());
      return;
    }
    auto tokens = (*app)->store().ListTokens();
    if (!tokens.ok()) {
      *exit_code = ReportError(tokens.status());
      return;
    }
    for (const auto& t : *tokens) {
      std::cout << t.id << "  " << store::RoleName(t.role) << "  " << (t.org.empty() ? "-" : t.org)
                << "  " << (t.name.empty() ? "-" : t.name) << "  created "
                << FormatTime(t.created_at)
                << (t.revoked_at ? "  revoked " + FormatTime(*t.revoked_at) : std::string())
                << (t.expires_at ? "  expires " + FormatTime(*t.expires_at) : std::string())
                << "\n";
    }
    *exit_code = 0;
  });

  struct RevokeArgs {
    std::string id, db;
  };
  auto r = std::make_shared<RevokeArgs>();
  CLI::App* revoke =
      token->add_subcommand("revoke", "Revoke a token (a running server notices within a second)");
  revoke->add_option("id", r->id, "The token id (the part before the '.')")->required();
  AddDbOption(revoke, &r->db);
  revoke->callback([r, exit_code] {
    auto app = OpenForCommand(r->db);
    if (!app.ok()) {
      *exit_code = ReportError(app.status());
      return;
    }
    Status s = (*app)->tokens().Revoke(r->id);
    *exit_code = s.ok() ? 0 : ReportError(s);
    if (s.ok()) std::cout << "revoked " << r->id << "\n";
  });
}

}  // namespace rapport::cli
