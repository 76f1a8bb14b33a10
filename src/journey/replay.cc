// Offline replay of an event file on a virtual clock (see replay.h for the ordering rule).
#include "journey/replay.h"

#include <algorithm>

namespace rapport::journey {

Result<std::vector<Event>> ParseReplayEvents(std::string_view ndjson, std::string_view name) {
  auto lines = ParseNdjson(ndjson);
  if (!lines.ok()) {
    return lines.status().WithWhere(std::string(name) + ": " + lines.status().where());
  }
  std::vector<Event> events;
  events.reserve(lines->size());
  for (const NdjsonLine& l : *lines) {
    std::string where = std::string(name) + ":" + std::to_string(l.line);
    ASSIGN_OR_RETURN(Event e, EventFromJson(l.value, Time{}, where));
    ASSIGN_OR_RETURN(auto received, OptionalTime(l.value, "received_at", where));
    e.received_at = received.value_or(e.occurred_at);
    // A counterexample's receipt that lost the race against the timers due at its instant:
    // applied just after them (events are applied before timers due at the same time).
    if (auto after = l.value.find("after_timers");
        after != l.value.end() && after->is_boolean() && after->get<bool>()) {
      e.received_at += std::chrono::microseconds(1);
    }
    if (e.id.empty()) e.id = "line-" + std::to_string(l.line);
    e.seq = l.line;
    events.push_back(std::move(e));
  }
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.received_at < b.received_at; });
  return events;
}

ReplayReport Replay(Runtime& rt, ManualClock& clock, const std::vector<Event>& events,
                    const ReplayOptions& options) {
  ReplayReport report;
  size_t seen = rt.timeline().size();
  auto flush = [&] {
    if (!options.on_entry) return;
    auto& tl = rt.timeline();
    for (; seen < tl.size(); ++seen) options.on_entry(tl[seen]);
  };
  auto run_before = [&](Time to) {
    while (auto due = rt.NextDue()) {
      if (*due >= to) break;
      if (*due > clock.Now()) (void)clock.AdvanceTo(*due);
      rt.RunDue();
      flush();
    }
    if (clock.Now() < to) (void)clock.AdvanceTo(to);
  };
  for (const Event& e : events) {
    if (options.until && e.received_at > *options.until) break;
    run_before(e.received_at);
    size_t parked = rt.parked_events();
    size_t before = rt.timeline().size();
    Status s = rt.Ingest(e);
    if (!s.ok()) {
      report.warnings.push_back("event " + e.id + " (line " + std::to_string(e.seq) +
                                "): " + s.message());
    } else if (rt.timeline().size() == before && rt.parked_events() == parked) {
      ++report.ignored_events;
    }
    flush();
  }
  if (options.until) {
    run_before(*options.until);
    rt.RunDue();
  } else {
    // Timers are finite (bounded repetitions), so this ends; the cap guards against bugs.
    for (int i = 0; i < 10000000; ++i) {
      auto due = rt.NextDue();
      if (!due) break;
      if (*due > clock.Now()) (void)clock.AdvanceTo(*due);
      rt.RunDue();
      flush();
    }
  }
  flush();
  report.clock_end = clock.Now();
  return report;
}

}  // namespace rapport::journey
