// The deviation model: how the world outside a journey behaves. For each external event it says
// what causes it (another event, or an action of the journey firing), the delay range after the
// cause, and whether it may be lost, arrive without its scan ("missing"), arrive twice, or arrive
// late (out of order). `journey check` explores every choice the model allows; `journey simulate`
// draws from it. Format and semantics: docs/journeys.md, "Deviation model".
//
// Contract: LoadDeviations never throws; problems come back as Diagnostics with file:line:column,
// like the definition loader. A model is bound to one compiled definition (it names its event
// types and actions) and is an immutable value after loading.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "journey/definition.h"

namespace rapport::journey {

// How one event type of the definition happens in the world.
struct EventModel {
  std::string type;  // a declared event type
  FactId fact = kNoFact;
  // What causes it: event types (once all occurred, counted from the latest: `after:
  // [box.delivered, label.delivered]`) or an action (its first firing). Neither for the start
  // event, which occurs at the model's start time.
  std::vector<FactId> after_events;
  ActionId after_action = kNoAction;
  // What makes the customer able to do it, if not its cause (`enabled_by:`): a device sent back
  // after a reminder (the cause) can only be sent once the kit arrived (what enables it). Event
  // types, all of which must have occurred. Empty: the cause enables it.
  std::vector<FactId> enabled_by;
  // The delay after the cause: [min, max] in time, or in business days when business_days.
  Duration min_delay{0};
  Duration max_delay{0};
  bool business_days = false;
  int min_days = 0, max_days = 0;
  // Received this long after it occurred: [min, max]. A positive range lets events arrive out of
  // order (a delivery scan before the pickup scan).
  Duration min_late{0};
  Duration max_late{0};
  bool lost = false;         // may never happen (and nothing it causes happens either)
  bool optional = false;     // may or may not happen, not a fault (e.g. a cancellation)
  bool missing = false;      // may happen without its event ever arriving (a scan not sent)
  bool duplicate = false;    // may arrive twice, under a second event id
  double weight = 0.1;       // simulate: probability of each fault (lost/missing/duplicate)
  double probability = 0.2;  // simulate: probability that an optional event happens
  int line = 0, column = 0;
};

struct DeviationModel {
  std::string file;  // "(defaults)" for the built-in model
  Time start{};      // when the start event occurs (simulate: customer i starts start + i*spread)
  Duration spread{std::chrono::hours(24 * 28)};  // simulate: customers start within this window
  std::vector<EventModel> events;                // only the event types that happen in the world
  // For each action (by id): the step it asks the customer to do, kNoFact if none. Defaults to
  // the definition's asks_customer_to; a model may name it for actions that forget to.
  std::vector<FactId> asks;
  // At most this many faults in one run (a lost or missing event, a late or duplicate report;
  // an optional event not happening is no fault); -1: no bound. The built-in model bounds them
  // so that every event may go wrong while the runs stay enumerable.
  int max_faults = -1;

  const EventModel* Find(FactId event_fact) const;
  // When the customer became able to make `e` happen: all of its enabling events (or causing
  // events) occurred, the latest of them; or its causing action first fired. `occurred(fact)` and
  // `fired(action)` give times (the greatest T for what has not happened). nullopt if the model
  // does not say what enables it (the start event). *latest: the event that decided it.
  template <typename T, typename Occurred, typename Fired>
  std::optional<T> EnabledSince(const EventModel& e, Occurred&& occurred, Fired&& fired,
                                FactId* latest = nullptr) const {
    const std::vector<FactId>& by = e.enabled_by.empty() ? e.after_events : e.enabled_by;
    if (latest) *latest = kNoFact;
    if (by.empty()) {
      if (e.after_action == kNoAction) return std::nullopt;
      return fired(e.after_action);
    }
    T at{};
    for (size_t i = 0; i < by.size(); ++i) {
      T t = occurred(by[i]);
      if (i == 0 || t > at) {
        at = t;
        if (latest) *latest = by[i];
      }
    }
    return at;
  }
  // When the customer became able to complete `step`: the earliest of its ways to complete
  // (JourneyDefinition::Conditions), each at the latest of what enables its events (see
  // EnabledSince); a way with an event the model never makes happen is none. nullopt if the
  // model says what enables none of them. *enabler and *by_action: what decided it (an event,
  // else the action that causes it).
  template <typename T, typename Occurred, typename Fired>
  std::optional<T> AbleSince(const JourneyDefinition& def, FactId step, Occurred&& occurred,
                             Fired&& fired, FactId* enabler = nullptr,
                             ActionId* by_action = nullptr) const {
    std::optional<T> best;
    for (const auto& condition : def.Conditions(step)) {
      std::optional<T> all;  // every event of the condition enabled
      FactId all_event = kNoFact;
      ActionId all_action = kNoAction;
      bool possible = true;
      for (FactId ev : condition) {
        const EventModel* em = Find(ev);
        if (!em) {  // never happens in the model: neither does this way to complete
          possible = false;
          break;
        }
        FactId latest = kNoFact;
        auto t = EnabledSince<T>(*em, occurred, fired, &latest);
        if (t && (!all || *t > *all)) {
          all = t;
          all_event = latest;
          all_action = em->after_action;
        }
      }
      if (possible && all && (!best || *all < *best)) {
        best = all;
        if (enabler) *enabler = all_event;
        if (by_action) *by_action = all_action;
      }
    }
    return best;
  }
  // One line for reports: the file (or "built-in pessimistic model") and its bounds.
  std::string Describe() const;
};

// The built-in model for a definition: the start event at Monday 2026-11-02 09:00 UTC; each
// step's first completing event 0-3 days after the previous step's (0-21 days and possibly
// never for a step an action asks the customer to do); events that complete no step (e.g.
// cancellations) optionally 0-3 days after the start. No duplicates, no late reports.
DeviationModel DefaultDeviations(const JourneyDefinition& def);
// The same chain, pessimistic (issue 21, `journey check --pessimistic`): every step's event
// may also never happen, happen without its report (not a step asked of the customer: a scan
// not sent), be reported up to a day late (after later events) or twice; at most `max_faults`
// of these a run (-1: no bound), which keeps the runs enumerable.
DeviationModel PessimisticDeviations(const JourneyDefinition& def, int max_faults = 1);

// Parses a model for `def`. nullopt and at least one diagnostic on error.
std::optional<DeviationModel> CompileDeviations(const JourneyDefinition& def, std::string_view yaml,
                                                std::string_view file,
                                                std::vector<Diagnostic>* diagnostics);
// kInvalidArgument with where = "file:line:column" of the first problem, "(and N more problems)".
Result<DeviationModel> LoadDeviations(const JourneyDefinition& def, std::string_view yaml,
                                      std::string_view file);

// The smallest unit every relevant constant of the definition and the model is a multiple of
// (delays, late ranges, timer offsets, repeat intervals, expiry, param offsets; one day when
// business days are used): their greatest common divisor, however small (one day if there are
// none).
Duration TimeGrid(const JourneyDefinition& def, const DeviationModel& model);

}  // namespace rapport::journey
