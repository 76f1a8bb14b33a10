// `rapport cases check|route|classify|list|show`: validate a cases configuration and try its
// routing rules and feedback classification offline; list and show the cases of a database.
#include <iostream>

#include "cases/rules.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace rapport::cli {

namespace {

struct CaseArgs {
  std::string file;
  std::string text;
  std::string event_type;
  std::string case_type;
  std::vector<std::string> attributes;  // name=value
  int rating = -1;
  std::string db = "rapport.db";
  std::string check_db;  // cases check: also read this log's feedback events
  std::string id;
  std::string team, state, person;
};

Result<cases::ConfigPtr> LoadFile(const std::string& file) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(file));
  return cases::LoadConfig(text, file);
}

int Check(const CaseArgs& a) {
  auto cfg = LoadFile(a.file);
  if (!cfg.ok()) return ReportError(cfg.status());
  std::cout << a.file << ": ok: " << (*cfg)->fields.size() << " fields, " << (*cfg)->teams.size()
            << " teams, " << (*cfg)->rules.size() << " routing rules, " << (*cfg)->slas.size()
            << " SLA policies, " << (*cfg)->feedback.topics.size() << " feedback topics, "
            << (*cfg)->preferences.size() << " preferences\n";
  if (a.check_db.empty()) return 0;
  // The rules against what actually arrives: a feedback rule that reads no key of the log's
  // feedback events would open no case for any complaint.
  auto app = OpenForCommand(a.check_db);
  if (!app.ok()) return ReportError(app.status());
  auto tally = (*app)->cases().CheckFeedbackFields(**cfg);
  if (!tally.ok()) return ReportError(tally.status());
  Json report = tally->ToJson();
  for (const auto& t : report["event_types"]) {
    std::cout << a.check_db << ": feedback '" << t["type"].get<std::string>()
              << "': " << t["events"] << " events, read by";
    for (const auto& [key, n] : t["read_by"].items()) std::cout << " " << key << " (" << n << ")";
    std::cout << (t["read_by"].empty() ? " no key" : "") << "\n";
  }
  if (report["event_types"].empty()) {
    std::cout << a.check_db << ": no feedback events in the log yet\n";
  }
  for (const auto& problem : report["problems"]) {
    std::cerr << a.check_db << ": " << (tally->AnyTypeUnread() ? "error" : "warning") << ": "
              << problem.get<std::string>() << "\n";
  }
  return tally->AnyTypeUnread() ? 1 : 0;
}

int RouteCommand(const CaseArgs& a) {
  auto cfg = LoadFile(a.file);
  if (!cfg.ok()) return ReportError(cfg.status());
  cases::RoutingInput in{a.text, a.event_type, a.case_type, {}};
  for (const auto& kv : a.attributes) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      return ReportError(InvalidArgument("expected name=value, got '" + kv + "'", "--attr"));
    }
    in.attributes[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::cout << cases::Route(**cfg, in).ToJson().dump(2) << "\n";
  return 0;
}

int Classify(const CaseArgs& a) {
  auto cfg = LoadFile(a.file);
  if (!cfg.ok()) return ReportError(cfg.status());
  std::optional<int> rating;
  if (a.rating >= 0) rating = a.rating;
  std::cout << cases::ClassifyFeedback((*cfg)->feedback, a.text, rating).ToJson().dump(2) << "\n";
  return 0;
}

int List(const CaseArgs& a) {
  auto app = OpenForCommand(a.db);
  if (!app.ok()) return ReportError(app.status());
  cases::Actor cli{"cli", "admin", "", "command line"};
  auto list = (*app)->cases().List({a.team, a.state, a.person, "", 1000}, cli);
  if (!list.ok()) return ReportError(list.status());
  for (const auto& c : (*list)["cases"]) {
    std::cout << c["id"].get<std::string>() << "  " << c["state"].get<std::string>() << "  "
              << c["team"].get<std::string>() << "  " << c["priority"].get<std::string>()
              << (c["escalated"].get<bool>() ? "  ESCALATED" : "") << "  "
              << c["title"].get<std::string>() << "\n";
  }
  return 0;
}

int Show(const CaseArgs& a) {
  auto app = OpenForCommand(a.db);
  if (!app.ok()) return ReportError(app.status());
  cases::Actor cli{"cli", "admin", "", "command line"};
  auto c = (*app)->cases().Get(a.id, cli);
  if (!c.ok()) return ReportError(c.status());
  std::cout << c->dump(2) << "\n";
  return 0;
}

}  // namespace

void AddCaseCommands(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<CaseArgs>();
  CLI::App* group = app.add_subcommand(
      "cases", "Cases configuration (check, dry runs of routing and feedback rules) and cases");
  group->require_subcommand(1);

  CLI::App* check = group->add_subcommand(
      "check",
      "Validate a cases YAML file (errors name file:line:column) and, with --db, "
      "its feedback rules against the logged feedback events");
  check->add_option("file", a->file, "cases YAML")->required();
  check->add_option("--db", a->check_db,
                    "also read the feedback events of this database: exit 1 if an event type "
                    "the feedback rules read has events but none carries a key they read");
  check->callback([a, exit_code] { *exit_code = Check(*a); });

  CLI::App* route =
      group->add_subcommand("route", "Which team a case goes to first, by which rule and why");
  route->add_option("file", a->file, "cases YAML")->required();
  route->add_option("--text", a->text, "what the customer said");
  route->add_option("--event-type", a->event_type, "the event that opens the case");
  route->add_option("--case-type", a->case_type, "the case type");
  route->add_option("--attr", a->attributes, "customer attribute name=value (repeatable)");
  route->callback([a, exit_code] { *exit_code = RouteCommand(*a); });

  CLI::App* classify = group->add_subcommand(
      "classify", "Topic and sentiment of a piece of feedback, with the words that decided");
  classify->add_option("file", a->file, "cases YAML")->required();
  classify->add_option("--text", a->text, "the feedback text");
  classify->add_option("--rating", a->rating, "the rating (1..scale)");
  classify->callback([a, exit_code] { *exit_code = Classify(*a); });

  CLI::App* list = group->add_subcommand("list", "Cases of a database");
  list->add_option("--team", a->team, "only this team's");
  list->add_option("--state", a->state, "only cases in this state");
  list->add_option("--person", a->person, "only this person's");
  AddDbOption(list, &a->db);
  list->callback([a, exit_code] { *exit_code = List(*a); });

  CLI::App* show = group->add_subcommand("show", "One case as JSON, with its timeline");
  show->add_option("id", a->id, "case id")->required();
  AddDbOption(show, &a->db);
  show->callback([a, exit_code] { *exit_code = Show(*a); });
}

}  // namespace rapport::cli
