// `rapport journey ...`: offline work on journey definitions. `run` replays an NDJSON event file
// through the in-memory runtime on a virtual clock and prints the timeline; `check` and
// `simulate` (issue 6) join the same group and use the same compiled definitions.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/model.h"
#include "journey/definition.h"
#include "journey/replay.h"
#include "journey/runtime.h"
#include "journey/verify/check.h"
#include "journey/verify/deviations.h"
#include "journey/verify/simulate.h"

namespace rapport::cli {

namespace {

using journey::DefinitionPtr;

struct RunOptions {
  std::string definition;
  std::string events;
  std::string until;
  bool json = false;
  bool quiet_timers = false;
};

// Loads and validates; prints every diagnostic as file:line:column: message.
DefinitionPtr LoadOrReport(const std::string& path, int* exit_code) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    *exit_code = ReportError(text.status());
    return nullptr;
  }
  std::vector<journey::Diagnostic> diags;
  DefinitionPtr def = journey::CompileDefinition(*text, path, &diags);
  for (const auto& d : diags) std::cerr << d.ToString() << "\n";
  if (!def) {
    std::cerr << path << ": " << diags.size() << " problem" << (diags.size() == 1 ? "" : "s")
              << "; definition rejected\n";
    *exit_code = 2;  // bad input, as everywhere; 1 is a violation
  }
  return def;
}

void Print(const journey::RecordedEntry& r, bool json, bool quiet_timers) {
  using journey::TimelineKind;
  if (quiet_timers &&
      (r.entry.kind == TimelineKind::kScheduled || r.entry.kind == TimelineKind::kCancelled)) {
    return;
  }
  if (json) {
    Json j = journey::TimelineEntryToJson(r.entry);
    j["journey"] = r.journey;
    j["key"] = r.key;
    std::cout << j.dump() << "\n";
    return;
  }
  std::string line = journey::TimelineEntryToText(r.entry);
  // Insert the instance key after the time.
  size_t sp = line.find("  ");
  std::string key = r.key;
  key.resize(std::max<size_t>(key.size(), 10), ' ');
  std::cout << line.substr(0, sp) << "  " << key << line.substr(sp) << "\n";
}

int Run(const RunOptions& o) {
  int exit_code = 0;
  DefinitionPtr def = LoadOrReport(o.definition, &exit_code);
  if (!def) return exit_code;
  auto text = ReadFile(o.events);
  if (!text.ok()) return ReportError(text.status());
  auto events = journey::ParseReplayEvents(*text, o.events);
  if (!events.ok()) return ReportError(events.status());
  journey::ReplayOptions replay;
  if (!o.until.empty()) {
    auto t = ParseTime(o.until);
    if (!t.ok()) return ReportError(t.status().WithWhere("--until"));
    replay.until = *t;
  }
  Time start = events->empty() ? replay.until.value_or(Time{}) : events->front().received_at;
  ManualClock clock(start);
  journey::Runtime rt(clock);
  if (Status s = rt.Deploy(def); !s.ok()) return ReportError(s);
  replay.on_entry = [&](const journey::RecordedEntry& r) { Print(r, o.json, o.quiet_timers); };
  journey::ReplayReport report = journey::Replay(rt, clock, *events, replay);
  for (const auto& w : report.warnings) std::cerr << "warning: " << w << "\n";
  size_t ignored = report.ignored_events;

  // Summary: one line per instance, and what is still waiting.
  if (o.json) {
    rt.ForEachInstance([&](const journey::JourneyDefinition& d, const journey::InstanceState& s) {
      Json j = {{"instance", journey::StateToJson(d, s)}};
      std::cout << j.dump() << "\n";
    });
  } else {
    std::cout << "\n"
              << rt.instance_count() << " instance(s), " << rt.outbox().size()
              << " action(s) in the outbox, " << rt.pending_timers() << " timer(s) pending, "
              << rt.parked_events() << " event(s) parked, " << ignored
              << " event(s) not taken by any instance; clock at " << FormatTime(clock.Now())
              << "\n";
    rt.ForEachInstance([&](const journey::JourneyDefinition& d, const journey::InstanceState& s) {
      std::cout << "  " << d.name() << " v" << d.version() << " " << d.primary_key() << "=" << s.key
                << ": ";
      if (s.status == journey::InstanceStatus::kEnded) {
        std::cout << "ended in " << d.end_states()[s.end_state].name;
      } else {
        std::cout << "running";
        for (const auto& t : s.timers) {
          std::cout << "; " << d.actions()[t.action].name << " #" << t.occurrence << " due "
                    << FormatTime(t.due);
        }
      }
      std::cout << "\n";
    });
  }
  return 0;
}

void AddRunCommand(CLI::App* journey, int* exit_code) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* run = journey->add_subcommand(
      "run",
      "Replay events through a journey offline on a virtual clock and print the timeline:\n"
      "every event, step, timer, fired or skipped action with the facts it relied on.");
  run->add_option("definition", o->definition, "Journey definition (YAML)")->required();
  run->add_option("events", o->events,
                  "Events as NDJSON: {\"id\",\"type\",\"keys\":{...},\"occurred_at\",\"payload\"}; "
                  "optional \"received_at\" (default: occurred_at) sets when it arrives, "
                  "\"after_timers\": true after the timers due then")
      ->required();
  run->add_option("--until", o->until,
                  "Stop the virtual clock here (RFC 3339); default: run until no timer is left");
  run->add_flag("--json", o->json, "Print NDJSON: timeline entries, then each instance's state");
  run->add_flag("--quiet-timers", o->quiet_timers, "Leave timer scheduling out of the timeline");
  run->callback([o, exit_code] { *exit_code = Run(*o); });
}

// Loads the deviation model for `def`: the file if given, else the built-in defaults. Prints
// every problem as file:line:column: message.
std::optional<journey::DeviationModel> LoadModelOrReport(const journey::JourneyDefinition& def,
                                                         const std::string& path, int* exit_code) {
  if (path.empty()) return journey::DefaultDeviations(def);
  auto text = ReadFile(path);
  if (!text.ok()) {
    *exit_code = ReportError(text.status());
    return std::nullopt;
  }
  std::vector<journey::Diagnostic> diags;
  auto model = journey::CompileDeviations(def, *text, path, &diags);
  for (const auto& d : diags) std::cerr << d.ToString() << "\n";
  if (!model) {
    std::cerr << path << ": " << diags.size() << " problem" << (diags.size() == 1 ? "" : "s")
              << "; deviation model rejected\n";
    *exit_code = 2;
  }
  return model;
}

struct CheckOptions {
  std::string definition;
  std::string deviations;
  bool pessimistic = false;  // the default; the flag stays for scripts that name it
  bool optimistic = false;
  int max_faults = -2;  // -2: the model's own bound
  bool json = false;
  uint64_t max_states = journey::CheckOptions{}.max_states;
  int grid_divisor = 1;
  std::string counterexample_dir;
};

int Check(const CheckOptions& o) {
  int exit_code = 0;
  DefinitionPtr def = LoadOrReport(o.definition, &exit_code);
  if (!def) return exit_code;
  if ((o.pessimistic || o.optimistic) && !o.deviations.empty()) {
    return ReportError(InvalidArgument("give a built-in model or --deviations, not both",
                                       o.pessimistic ? "--pessimistic" : "--optimistic"));
  }
  if (o.pessimistic && o.optimistic) {
    return ReportError(
        InvalidArgument("give --pessimistic or --optimistic, not both", "--optimistic"));
  }
  // Without a deviations file, every deviation is thought of (issue 21): the pessimistic model.
  auto model = !o.deviations.empty() || o.optimistic
                   ? LoadModelOrReport(*def, o.deviations, &exit_code)
                   : std::optional(journey::PessimisticDeviations(*def));
  if (!model) return exit_code;
  if (o.max_faults != -2) model->max_faults = o.max_faults;
  journey::CheckOptions options;
  options.max_states = o.max_states;
  options.grid_divisor = o.grid_divisor;
  journey::CheckReport report = journey::CheckJourney(*def, *model, options);
  if (o.json) {
    std::cout << journey::CheckReportToJson(*def, report).dump(2) << "\n";
  } else {
    std::cout << journey::CheckReportToText(*def, report);
  }
  if (!o.counterexample_dir.empty() && !report.violations.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.counterexample_dir, ec);
    if (ec) {
      return ReportError(Status(StatusCode::kUnavailable,
                                "cannot create the directory: " + ec.message(),
                                o.counterexample_dir));
    }
    for (const journey::Violation& v : report.violations) {
      if (v.events.empty()) continue;
      std::string path = o.counterexample_dir + "/" + v.property + ".ndjson";
      std::ofstream out(path, std::ios::binary);
      out << journey::CounterexampleNdjson(v);
      if (!out) return ReportError(Internal("cannot write counterexample", path));
      if (!o.json) std::cout << "counterexample written to " << path << "\n";
    }
  }
  // 1: a property is violated; 3: nothing was violated but nothing was proven either (the
  // exploration gave up, or the time grid is not exact for this model).
  if (!report.violations.empty()) return 1;
  return report.pass() ? 0 : 3;
}

void AddCheckCommand(CLI::App* journey, int* exit_code) {
  auto o = std::make_shared<CheckOptions>();
  CLI::App* check = journey->add_subcommand(
      "check",
      "Explore every order and timing of events the deviation model allows, through the real\n"
      "journey state machine, and check what reaches the customer: asked only when able to act,\n"
      "deadlines leave the promised time, nothing twice, no reminder after the task was done,\n"
      "an end is reached, no silent wait, no unreachable step. Exit 0 pass, 1 violation,\n"
      "2 invalid input, 3 undecided (INCOMPLETE: gave up; NOT PROVEN: the time grid is not\n"
      "provably exact for this model). The report's first line names the model.");
  check->add_option("definition", o->definition, "Journey definition (YAML)")->required();
  check->add_option("--deviations", o->deviations,
                    "Deviation model (YAML); default: the built-in pessimistic model (see "
                    "docs/journeys.md)");
  check->add_flag("--pessimistic", o->pessimistic,
                  "The default: the steps' events in their order, each of which may also be "
                  "lost, reported a day late or twice, or happen unreported; at most one such "
                  "fault a run (--max-faults)");
  check->add_flag("--optimistic", o->optimistic,
                  "The quick built-in model: the steps' events in their order, nothing lost but "
                  "what the customer is asked to do (what a deploy checks)");
  check
      ->add_option("--max-faults", o->max_faults,
                   "At most this many faults (lost, missing, late, twice) in one run")
      ->check(CLI::Range(0, 20));
  check->add_flag("--json", o->json, "Print the report as JSON");
  check->add_option("--max-states", o->max_states, "Give up (exit 1, incomplete) beyond this");
  check
      ->add_option("--grid-divisor", o->grid_divisor,
                   "Explore a grid N times finer (same verdict by the digitization theorem; for "
                   "cross-checking it)")
      ->check(CLI::Range(1, 1000));
  check->add_option("--counterexamples", o->counterexample_dir,
                    "Write each counterexample as <dir>/<property>.ndjson for `journey run`");
  check->callback([o, exit_code] { *exit_code = Check(*o); });
}

struct SimulateOptions {
  std::string definition;
  std::string deviations;
  uint64_t customers = 0;
  uint64_t seed = 1;
  std::string svg;
  bool json = false;
  std::vector<std::string> fail_on;  // anomaly names, or "any"
};

int Simulate(const SimulateOptions& o) {
  int exit_code = 0;
  std::vector<std::string> fail_on;
  for (const std::string& name : o.fail_on) {
    const auto& known = journey::AnomalyNames();
    if (name == "any") {
      fail_on.insert(fail_on.end(), known.begin(), known.end());
    } else if (std::find(known.begin(), known.end(), name) != known.end()) {
      fail_on.push_back(name);
    } else {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return ReportError(
          InvalidArgument("unknown anomaly '" + name + "' (" + list + ", any)", "--fail-on"));
    }
  }
  DefinitionPtr def = LoadOrReport(o.definition, &exit_code);
  if (!def) return exit_code;
  auto model = LoadModelOrReport(*def, o.deviations, &exit_code);
  if (!model) return exit_code;
  journey::SimulateOptions options;
  options.customers = o.customers;
  options.seed = o.seed;
  journey::SimulateReport report = journey::Simulate(*def, *model, options);
  if (o.json) {
    std::cout << journey::SimulateReportToJson(report).dump(2) << "\n";
  } else {
    std::cout << journey::SimulateReportToText(*def, report);
  }
  if (!o.svg.empty()) {
    std::ofstream out(o.svg, std::ios::binary);
    out << journey::SimulateReportToSvg(*def, report);
    if (!out) return ReportError(Internal("cannot write the chart", o.svg));
    if (!o.json) std::cout << "chart written to " << o.svg << "\n";
  }
  // For CI: a journey whose simulated customers meet one of these anomalies fails the build.
  for (const std::string& name : fail_on) {
    if (report.anomalies[name] > 0) {
      if (!o.json) {
        std::cout << "fail: " << report.anomalies[name] << " customers had " << name << "\n";
      }
      return 1;
    }
  }
  return 0;
}

void AddSimulateCommand(CLI::App* journey, int* exit_code) {
  auto o = std::make_shared<SimulateOptions>();
  CLI::App* sim = journey->add_subcommand(
      "simulate",
      "Run synthetic customers through the real runtime on a virtual clock, with delays and\n"
      "faults drawn from the deviation model; report each anomaly's rate, percentiles of the\n"
      "time to completion, three sample customers of each anomaly with their events, and\n"
      "(--svg) a chart of when each step completes. Deterministic for a seed. Exit 0, or 1 when\n"
      "an anomaly named by --fail-on happened.");
  sim->add_option("definition", o->definition, "Journey definition (YAML)")->required();
  sim->add_option("--customers", o->customers, "How many customers")
      ->required()
      ->check(CLI::Range(uint64_t{1}, uint64_t{100'000'000}));
  sim->add_option("--deviations", o->deviations,
                  "Deviation model (YAML); default: built-in (see docs/journeys.md)");
  sim->add_option("--seed", o->seed, "Random seed (default 1)");
  sim->add_option("--svg", o->svg, "Write the timeline chart here");
  sim->add_flag("--json", o->json, "Print the report as JSON");
  sim->add_option(
         "--fail-on", o->fail_on,
         "Exit 1 if any customer had one of these anomalies (comma-separated: premature, "
         "short-deadline, duplicate, after-done, raced, silent-wait, not-ended, broken-promise, or "
         "any)")
      ->delimiter(',');
  sim->callback([o, exit_code] { *exit_code = Simulate(*o); });
}

struct DeployOptions {
  std::string definition;
  std::string deviations;
  bool force = false;
  std::string db;
};

// What POST /v1/journeys does, on a database: check, then deploy or refuse.
int Deploy(const DeployOptions& o) {
  auto yaml = ReadFile(o.definition);
  if (!yaml.ok()) return ReportError(yaml.status());
  std::optional<std::string> deviations;
  if (!o.deviations.empty()) {
    auto text = ReadFile(o.deviations);
    if (!text.ok()) return ReportError(text.status());
    deviations = *text;
  }
  auto app = OpenForCommand(o.db);
  if (!app.ok()) return ReportError(app.status());
  const char* user = std::getenv("USER");
  auth::Principal by{"cli", auth::Role::kAdmin, "", user ? user : "command line"};
  auto deployed = (*app)->DeployChecked(*yaml, o.definition, deviations, o.force, by);
  if (!deployed.ok()) return ReportError(deployed.status());
  std::cout << journey::CheckReportToText(*deployed->definition, deployed->report);
  const journey::JourneyDefinition& def = *deployed->definition;
  std::string name = def.name() + " v" + std::to_string(def.version());
  if (!deployed->outcome) {
    std::cout << "not deployed: " << name
              << " violates what check proves; fix it, or deploy with --force\n";
    return 1;
  }
  std::cout << (deployed->outcome->created ? "deployed: " : "already deployed: ") << name
            << (deployed->forced ? " (forced; recorded in the audit log)" : "") << "\n";
  for (const auto& [action, secret] : deployed->outcome->webhook_secrets) {
    std::cout << "webhook secret of " << action << ": " << secret << "\n";
  }
  return 0;
}

void AddDeployCommand(CLI::App* journey, int* exit_code) {
  auto o = std::make_shared<DeployOptions>();
  CLI::App* deploy = journey->add_subcommand(
      "deploy",
      "Check a journey definition (the quick built-in model, or --deviations) and deploy it into\n"
      "the database, as POST /v1/journeys does. Exit 0 deployed, 1 refused (a violation),\n"
      "2 invalid input.");
  deploy->add_option("definition", o->definition, "Journey definition (YAML)")->required();
  deploy->add_option("--deviations", o->deviations, "Deviation model (YAML) to check against");
  deploy->add_flag("--force", o->force,
                   "Deploy in spite of violations; the audit log records who and what");
  AddDbOption(deploy, &o->db);
  deploy->callback([o, exit_code] { *exit_code = Deploy(*o); });
}

}  // namespace

void AddJourneyCommands(CLI::App& app, int* exit_code) {
  CLI::App* journey = app.add_subcommand(
      "journey",
      "Journey definitions: run offline, check, simulate and deploy (see docs/journeys.md)");
  journey->require_subcommand(1);
  AddRunCommand(journey, exit_code);
  AddCheckCommand(journey, exit_code);
  AddSimulateCommand(journey, exit_code);
  AddDeployCommand(journey, exit_code);
}

}  // namespace rapport::cli
