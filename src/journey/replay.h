// Offline replay: events with their receive times go through a Runtime on a virtual clock, timers
// fire at their due times in between. Shared by `rapport journey run` and the data-driven
// scenario tests (testdata/*.test), so that both see exactly the same semantics.
//
// Ordering rule: a timer due strictly before an event's receive time fires first; an event
// received at or before a timer's due time is applied first (facts known then win).
// Thread-safety: as Runtime (one thread per Runtime); no exceptions, errors as Status.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/model.h"
#include "core/status.h"
#include "journey/definition.h"
#include "journey/runtime.h"

namespace rapport::journey {

// Parses NDJSON events. "received_at" (optional, default occurred_at) sets when an event
// arrives; "after_timers": true applies it after the timers due at that instant instead (how
// `journey check` writes a receipt that lost that race; it is received a microsecond later);
// lines without an id get "line-N"; seq = line number. Errors: kInvalidArgument with
// where = "<name>:<line>". The result is sorted by received_at (stable).
Result<std::vector<Event>> ParseReplayEvents(std::string_view ndjson, std::string_view name);

struct ReplayOptions {
  std::optional<Time> until;  // stop here; default: run until no timer is left
  // Called for every new timeline entry as it happens (optional).
  std::function<void(const RecordedEntry&)> on_entry;
};

struct ReplayReport {
  Time clock_end{};
  size_t ignored_events = 0;          // of types no deployed journey declares
  std::vector<std::string> warnings;  // events the runtime refused, with the reason
};

// Replays `events` (sorted by received_at) through `rt`, moving `clock`; `rt` must run on
// `clock`. Events received after `until` are not applied.
ReplayReport Replay(Runtime& rt, ManualClock& clock, const std::vector<Event>& events,
                    const ReplayOptions& options);

}  // namespace rapport::journey
