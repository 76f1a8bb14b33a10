// `rapport journey ...`: offline work on journey definitions. `run` replays an NDJSON event file
// through the in-memory runtime on a virtual clock and prints the timeline; `check` and
// `simulate` (issue 6) join the same group and use the same compiled definitions.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/model.h"
#include "journey/definition.h"
#include "journey/runtime.h"

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

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read file", path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

int Fail(const Status& s) {
  std::cerr << "error: " << s.message();
  if (!s.where().empty()) std::cerr << " (at " << s.where() << ")";
  std::cerr << "\n";
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ? 2 : 1;
}

// Loads and validates; prints every diagnostic as file:line:column: message.
DefinitionPtr LoadOrReport(const std::string& path, int* exit_code) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) {
    *exit_code = Fail(text.status());
    return nullptr;
  }
  std::vector<journey::Diagnostic> diags;
  DefinitionPtr def = journey::CompileDefinition(*text, path, &diags);
  for (const auto& d : diags) std::cerr << d.ToString() << "\n";
  if (!def) {
    std::cerr << path << ": " << diags.size() << " problem" << (diags.size() == 1 ? "" : "s")
              << "; definition rejected\n";
    *exit_code = 1;
  }
  return def;
}

// Events with their receive time: "received_at" if given, else occurred_at. Lines without an
// id get "line-N" so that a replay is deterministic.
Result<std::vector<Event>> ReadEvents(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  auto lines = ParseNdjson(text);
  if (!lines.ok()) return lines.status().WithWhere(path + ": " + lines.status().where());
  std::vector<Event> events;
  for (const NdjsonLine& l : *lines) {
    std::string where = path + ":" + std::to_string(l.line);
    ASSIGN_OR_RETURN(Event e, EventFromJson(l.value, Time{}, where));
    ASSIGN_OR_RETURN(auto received, OptionalTime(l.value, "received_at", where));
    e.received_at = received.value_or(e.occurred_at);
    if (e.id.empty()) e.id = "line-" + std::to_string(l.line);
    e.seq = l.line;
    events.push_back(std::move(e));
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.received_at < b.received_at; });
  return events;
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
  auto events = ReadEvents(o.events);
  if (!events.ok()) return Fail(events.status());
  std::optional<Time> until;
  if (!o.until.empty()) {
    auto t = ParseTime(o.until);
    if (!t.ok()) return Fail(t.status().WithWhere("--until"));
    until = *t;
  }
  Time start = events->empty() ? (until ? *until : Time{}) : events->front().received_at;
  ManualClock clock(start);
  journey::Runtime rt(clock);
  if (Status s = rt.Deploy(def); !s.ok()) return Fail(s);

  size_t printed = 0;
  auto flush = [&] {
    auto& tl = rt.timeline();
    for (; printed < tl.size(); ++printed) Print(tl[printed], o.json, o.quiet_timers);
  };
  // Timers due strictly before `to` fire first; an event known at its due time wins.
  auto run_before = [&](Time to) {
    while (auto due = rt.NextDue()) {
      if (*due >= to) break;
      (void)clock.AdvanceTo(*due);
      rt.RunDue();
      flush();
    }
    if (clock.Now() < to) (void)clock.AdvanceTo(to);
  };
  size_t ignored = 0;
  for (const Event& e : *events) {
    if (until && e.received_at > *until) break;
    run_before(e.received_at);
    size_t before = rt.timeline().size();
    if (Status s = rt.Ingest(e); !s.ok()) {
      std::cerr << "warning: event " << e.id << " (line " << e.seq << "): " << s.message() << "\n";
    }
    if (rt.timeline().size() == before && def->FindEvent(e.type) == nullptr) ++ignored;
    flush();
  }
  // Then let time run: to --until, or until no timer is left (bounded, timers are finite).
  if (until) {
    run_before(*until);
    rt.RunDue();
  } else {
    for (int i = 0; i < 1000000; ++i) {
      auto due = rt.NextDue();
      if (!due) break;
      (void)clock.AdvanceTo(*due);
      rt.RunDue();
      flush();
    }
  }
  flush();

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
              << " event(s) of other types ignored; clock at " << FormatTime(clock.Now()) << "\n";
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
                  "optional \"received_at\" (default: occurred_at) sets when it arrives")
      ->required();
  run->add_option("--until", o->until,
                  "Stop the virtual clock here (RFC 3339); default: run until no timer is left");
  run->add_flag("--json", o->json, "Print NDJSON: timeline entries, then each instance's state");
  run->add_flag("--quiet-timers", o->quiet_timers, "Leave timer scheduling out of the timeline");
  run->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace

void AddJourneyCommands(CLI::App& app, int* exit_code) {
  CLI::App* journey = app.add_subcommand(
      "journey", "Journey definitions: run offline (check and simulate: see docs/journeys.md)");
  journey->require_subcommand(1);
  AddRunCommand(journey, exit_code);
  // `check` and `simulate` (issue 6) are added here on the same compiled definitions.
}

}  // namespace rapport::cli
