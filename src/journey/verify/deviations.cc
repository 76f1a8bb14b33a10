// Loading the deviation model (YAML) and the built-in defaults; see deviations.h.
#include "journey/verify/deviations.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "core/text.h"

namespace rapport::journey {

const EventModel* DeviationModel::Find(FactId event_fact) const {
  for (const EventModel& e : events) {
    if (e.fact == event_fact) return &e;
  }
  return nullptr;
}

namespace {

constexpr Duration kDay = std::chrono::hours(24);
constexpr Duration kMaxDelay = kDay * 3650;  // keeps every computed time far from overflow

Time DefaultStart() {
  // A Monday, so that business days in the defaults start at the beginning of a week.
  return Time(std::chrono::sys_days(std::chrono::year{2026} / 11 / 2)) + std::chrono::hours(9);
}

// The first declared way to complete `step`: an event type, or an all-of fact of events.
FactId FirstCompleting(const StepSpec& step) {
  return step.completed_by.empty() ? kNoFact : step.completed_by.front();
}

class DeviationCompiler {
 public:
  DeviationCompiler(const JourneyDefinition& def, std::string_view file,
                    std::vector<Diagnostic>* diags)
      : def_(def), file_(file), diags_(diags) {}

  std::optional<DeviationModel> Compile(std::string_view yaml);

 private:
  void Error(const YAML::Node& node, std::string message) {
    Diagnostic d;
    d.file = file_;
    YAML::Mark m = node.IsDefined() ? node.Mark() : root_mark_;
    if (m.line >= 0) {
      d.line = m.line + 1;
      d.column = m.column + 1;
    }
    d.message = std::move(message);
    diags_->push_back(std::move(d));
  }
  void CheckFields(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                   std::string_view what);
  std::optional<Duration> ParseDur(const YAML::Node& node, std::string_view what);
  // A [min, max] pair (or one value for both).
  bool Range(const YAML::Node& node, std::string_view what, Duration* lo, Duration* hi);
  bool IntRange(const YAML::Node& node, std::string_view what, int* lo, int* hi);
  bool Flag(const YAML::Node& node, std::string_view what);
  void CompileEvent(const YAML::Node& key, const YAML::Node& value, EventModel* e);
  void CheckCauses(const std::vector<YAML::Mark>& marks);
  void ErrorAt(const YAML::Mark& m, std::string message) {
    Diagnostic d;
    d.file = file_;
    if (m.line >= 0) {
      d.line = m.line + 1;
      d.column = m.column + 1;
    }
    d.message = std::move(message);
    diags_->push_back(std::move(d));
  }

  const JourneyDefinition& def_;
  std::string file_;
  std::vector<Diagnostic>* diags_;
  YAML::Mark root_mark_ = YAML::Mark::null_mark();
  DeviationModel model_;
};

void DeviationCompiler::CheckFields(const YAML::Node& map,
                                    std::initializer_list<std::string_view> allowed,
                                    std::string_view what) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) {
      Error(it->first, std::string(what) + ": a field name must be text");
      continue;
    }
    std::string key = it->first.Scalar();
    if (!seen.insert(key).second)
      Error(it->first, std::string(what) + ": duplicate field '" + key + "'");
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      Error(it->first,
            std::string(what) + ": unknown field '" + key + "' (expected one of: " + list + ")");
    }
  }
}

std::optional<Duration> DeviationCompiler::ParseDur(const YAML::Node& node, std::string_view what) {
  if (!node.IsScalar()) {
    Error(node, std::string(what) + ": expected a duration like 2d or 12h");
    return std::nullopt;
  }
  std::string text = node.Scalar();
  if (text == "0") return Duration(0);
  auto d = ParseDuration(text);
  if (!d.ok()) {
    Error(node, std::string(what) + ": " + d.status().message());
    return std::nullopt;
  }
  if (d->count() < 0 || *d > kMaxDelay) {
    Error(node, std::string(what) + ": must be between 0 and 3650d");
    return std::nullopt;
  }
  return *d;
}

bool DeviationCompiler::Range(const YAML::Node& node, std::string_view what, Duration* lo,
                              Duration* hi) {
  if (node.IsScalar()) {
    auto d = ParseDur(node, what);
    if (!d) return false;
    *lo = *hi = *d;
    return true;
  }
  if (!node.IsSequence() || node.size() != 2) {
    Error(node, std::string(what) + ": expected [min, max], e.g. [0d, 5d]");
    return false;
  }
  auto a = ParseDur(node[0], what);
  auto b = ParseDur(node[1], what);
  if (!a || !b) return false;
  if (*a > *b) {
    Error(node, std::string(what) + ": min " + FormatDuration(*a) + " is greater than max " +
                    FormatDuration(*b));
    return false;
  }
  *lo = *a;
  *hi = *b;
  return true;
}

bool DeviationCompiler::IntRange(const YAML::Node& node, std::string_view what, int* lo, int* hi) {
  auto one = [&](const YAML::Node& n, int* out) {
    try {
      if (n.IsScalar()) {
        int v = n.as<int>();
        if (v >= 0 && v <= 3650) {
          *out = v;
          return true;
        }
      }
    } catch (const YAML::Exception&) {
    }
    Error(n, std::string(what) + ": expected a whole number of days between 0 and 3650");
    return false;
  };
  if (node.IsScalar()) {
    if (!one(node, lo)) return false;
    *hi = *lo;
    return true;
  }
  if (!node.IsSequence() || node.size() != 2) {
    Error(node, std::string(what) + ": expected [min, max], e.g. [0, 5]");
    return false;
  }
  if (!one(node[0], lo) || !one(node[1], hi)) return false;
  if (*lo > *hi) {
    Error(node, std::string(what) + ": min is greater than max");
    return false;
  }
  return true;
}

bool DeviationCompiler::Flag(const YAML::Node& node, std::string_view what) {
  if (!node) return false;
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  Error(node, std::string(what) + ": expected true or false");
  return false;
}

void DeviationCompiler::CompileEvent(const YAML::Node& key, const YAML::Node& value,
                                     EventModel* e) {
  e->line = key.Mark().line + 1;
  e->column = key.Mark().column + 1;
  const EventSpec* spec = key.IsScalar() ? def_.FindEvent(key.Scalar()) : nullptr;
  if (!spec) {
    Error(key, "unknown event type '" + (key.IsScalar() ? key.Scalar() : std::string("?")) +
                   "' (the definition declares it under events:)");
    return;
  }
  e->type = spec->type;
  e->fact = spec->fact;
  bool is_start = spec->fact == def_.start_fact();
  if (!value.IsMap()) {
    if (!value.IsNull())
      Error(value, "event " + e->type + ": expected a map (after:, delay:, ...)");
    if (!is_start) Error(key, "event " + e->type + ": needs 'after' (what causes it)");
    return;
  }
  CheckFields(value,
              {"after", "enabled_by", "delay", "business_days", "late", "lost", "missing",
               "duplicate", "optional", "fault_rate", "probability"},
              "event " + e->type);
  auto events = [&](const YAML::Node& node, const char* what) {
    std::vector<FactId> out;
    for (const YAML::Node& n : node.IsSequence() ? std::vector<YAML::Node>(node.begin(), node.end())
                                                 : std::vector<YAML::Node>{node}) {
      const EventSpec* cause = n.IsScalar() ? def_.FindEvent(n.Scalar()) : nullptr;
      if (!cause) {
        Error(n, std::string(what) + ": unknown event type '" +
                     (n.IsScalar() ? n.Scalar() : std::string("?")) + "'");
      } else if (std::find(out.begin(), out.end(), cause->fact) == out.end()) {
        out.push_back(cause->fact);
      }
    }
    return out;
  };
  if (const YAML::Node after = value["after"]) {
    if (is_start) {
      Error(after, "event " + e->type +
                       " starts the journey: it occurs at the model's start, "
                       "not after something");
    } else if (after.IsSequence()) {
      e->after_events = events(after, "after");  // all of them, counted from the latest
      if (after.size() == 0) Error(after, "after: expected at least one event type");
    } else if (!after.IsScalar()) {
      Error(after, "after: expected an event type, a list of them, or an action name");
    } else if (const EventSpec* cause = def_.FindEvent(after.Scalar())) {
      e->after_events = {cause->fact};
    } else if (auto a = def_.FindAction(after.Scalar())) {
      e->after_action = *a;
    } else {
      Error(after, "after: unknown event type or action '" + after.Scalar() + "'");
    }
  } else if (!is_start) {
    Error(key, "event " + e->type + ": needs 'after' (what causes it)");
  }
  if (const YAML::Node enabled = value["enabled_by"]) {
    if (is_start) Error(enabled, "event " + e->type + " starts the journey: nothing enables it");
    e->enabled_by = events(enabled, "enabled_by");
  }
  const YAML::Node delay = value["delay"];
  const YAML::Node bdays = value["business_days"];
  if (delay && bdays) Error(bdays, "give either delay or business_days, not both");
  if (delay) Range(delay, "delay", &e->min_delay, &e->max_delay);
  if (bdays) {
    e->business_days = IntRange(bdays, "business_days", &e->min_days, &e->max_days);
  }
  if (const YAML::Node late = value["late"]) Range(late, "late", &e->min_late, &e->max_late);
  e->lost = Flag(value["lost"], "lost");
  e->missing = Flag(value["missing"], "missing");
  e->duplicate = Flag(value["duplicate"], "duplicate");
  e->optional = Flag(value["optional"], "optional");
  if (is_start && (e->lost || e->optional)) {
    Error(key, "event " + e->type + " starts the journey: it cannot be lost or optional");
  }
  auto prob = [&](const char* field, double* out) {
    const YAML::Node n = value[field];
    if (!n) return;
    try {
      double v = n.as<double>();
      if (v >= 0 && v <= 1) {
        *out = v;
        return;
      }
    } catch (const YAML::Exception&) {
    }
    Error(n, std::string(field) + ": expected a probability between 0 and 1");
  };
  prob("fault_rate", &e->weight);
  prob("probability", &e->probability);
}

// Every event's chain of causes must end at the start event (no cycles).
void DeviationCompiler::CheckCauses(const std::vector<YAML::Mark>& marks) {
  // Each event that is among its own causes, however far back, is reported where it is written.
  for (size_t i = 0; i < model_.events.size(); ++i) {
    std::vector<bool> seen(model_.events.size(), false);
    std::vector<size_t> todo = {i};
    bool cycle = false;
    while (!todo.empty() && !cycle) {
      size_t at = todo.back();
      todo.pop_back();
      for (FactId cause : model_.events[at].after_events) {
        const EventModel* c = model_.Find(cause);
        if (!c) continue;
        size_t k = static_cast<size_t>(c - model_.events.data());
        cycle |= k == i;
        if (!seen[k]) {
          seen[k] = true;
          todo.push_back(k);
        }
      }
    }
    if (cycle) {
      ErrorAt(marks[i],
              "event " + model_.events[i].type + " is caused by itself (a cycle of 'after')");
    }
  }
}

std::optional<DeviationModel> DeviationCompiler::Compile(std::string_view yaml) {
  size_t errors_at_start = diags_->size();
  model_.file = file_;
  model_.start = DefaultStart();
  model_.asks.assign(def_.actions().size(), kNoFact);
  for (size_t i = 0; i < def_.actions().size(); ++i)
    model_.asks[i] = def_.actions()[i].asks_customer_to;
  if (auto problem = FindYamlTextProblem(yaml)) {
    YAML::Mark at;
    at.line = problem->line - 1;
    at.column = problem->column - 1;
    ErrorAt(at, "the deviation model holds " + problem->message);
    return std::nullopt;
  }
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (root.IsDefined()) root_mark_ = root.Mark();
    if (!root.IsMap()) {
      Error(root, "a deviation model is a YAML map (start:, events:, actions:)");
      return std::nullopt;
    }
    CheckFields(root, {"start", "spread", "max_faults", "events", "actions"}, "deviations");
    if (const YAML::Node faults = root["max_faults"]) {
      int n = -1;
      if (!faults.IsScalar() || !YAML::convert<int>::decode(faults, n) || n < 0) {
        Error(faults, "max_faults: expected a whole number of faults a run, 0 or more");
      } else {
        model_.max_faults = n;
      }
    }
    if (const YAML::Node start = root["start"]) {
      auto t = start.IsScalar() ? ParseTime(start.Scalar()) : Result<Time>(InvalidArgument("?"));
      if (t.ok()) {
        model_.start = *t;
      } else {
        Error(start, "start: expected a time like 2026-11-02T09:00:00Z");
      }
    }
    if (const YAML::Node spread = root["spread"]) {
      if (auto d = ParseDur(spread, "spread")) model_.spread = *d;
    }
    // Marks, not nodes: assigning a YAML::Node (as vector::insert does) overwrites the node it
    // refers to.
    std::vector<YAML::Mark> marks;
    const YAML::Node events = root["events"];
    if (events && !events.IsMap()) {
      Error(events, "events: expected a map from event type to its model");
    } else if (events) {
      for (auto it = events.begin(); it != events.end(); ++it) {
        EventModel e;
        CompileEvent(it->first, it->second, &e);
        if (e.fact == kNoFact) continue;
        if (model_.Find(e.fact)) {
          Error(it->first, "event " + e.type + " is modelled twice");
          continue;
        }
        marks.push_back(it->first.Mark());
        model_.events.push_back(std::move(e));
      }
    }
    if (!model_.Find(def_.start_fact())) {
      EventModel s;
      s.type = def_.events()[def_.facts()[def_.start_fact()].index].type;
      s.fact = def_.start_fact();
      model_.events.insert(model_.events.begin(), s);
      marks.insert(marks.begin(), events ? events.Mark() : root.Mark());
    }
    for (const EventModel& e : model_.events) {
      for (FactId cause : e.after_events) {
        if (model_.Find(cause)) continue;
        ErrorAt(marks[&e - model_.events.data()],
                "event " + e.type + " is caused by " + def_.facts()[cause].name +
                    ", which the model does not make happen (add it under events:)");
      }
      for (FactId by : e.enabled_by) {
        if (model_.Find(by)) continue;
        ErrorAt(marks[&e - model_.events.data()],
                "event " + e.type + " is enabled by " + def_.facts()[by].name +
                    ", which the model does not make happen (add it under events:)");
      }
    }
    CheckCauses(marks);
    if (const YAML::Node actions = root["actions"]) {
      if (!actions.IsMap()) {
        Error(actions, "actions: expected a map from action name to {asks: step}");
      } else {
        for (auto it = actions.begin(); it != actions.end(); ++it) {
          auto id = it->first.IsScalar() ? def_.FindAction(it->first.Scalar()) : std::nullopt;
          if (!id) {
            Error(it->first, "unknown action '" +
                                 (it->first.IsScalar() ? it->first.Scalar() : std::string("?")) +
                                 "'");
            continue;
          }
          if (!it->second.IsMap()) {
            Error(it->second, "expected {asks: <step>}");
            continue;
          }
          CheckFields(it->second, {"asks"}, "action " + it->first.Scalar());
          const YAML::Node asks = it->second["asks"];
          if (!asks) continue;
          auto f = asks.IsScalar() ? def_.FindFact(asks.Scalar()) : std::nullopt;
          if (!f || def_.facts()[*f].kind != FactKind::kStep) {
            Error(asks, "asks: expected a step name");
            continue;
          }
          model_.asks[*id] = *f;
        }
      }
    }
  } catch (const YAML::Exception& e) {
    Diagnostic d;
    d.file = file_;
    if (e.mark.line >= 0) {
      d.line = e.mark.line + 1;
      d.column = e.mark.column + 1;
    }
    d.message = "YAML: " + e.msg;
    diags_->push_back(std::move(d));
  } catch (const std::exception& e) {
    Error(YAML::Node(), std::string("cannot read the deviation model: ") + e.what());
  }
  if (diags_->size() > errors_at_start) return std::nullopt;
  return std::move(model_);
}

int64_t Gcd(int64_t a, int64_t b) { return std::gcd(a, b); }

}  // namespace

std::string DeviationModel::Describe() const {
  std::string out;
  if (file == "(defaults)") {
    out =
        "built-in optimistic model: each step's event 0-3d after the previous step's (a step "
        "asked of the customer 0-21d, and maybe never); nothing else lost, no late, missing or "
        "second reports (the pessimistic model, check's default, has those)";
  } else if (file == "(pessimistic)") {
    out =
        "built-in pessimistic model: each step's event 0-3d after the previous step's (the "
        "customer's 0-21d), and any may be lost, reported up to 1d late or twice, or happen "
        "without its report (not the customer's)";
  } else {
    out = "deviation model " + file;
  }
  if (max_faults >= 0) {
    out += "; at most " + std::to_string(max_faults) + " fault" + (max_faults == 1 ? "" : "s") +
           " a run";
  }
  return out;
}

namespace {

DeviationModel BuiltIn(const JourneyDefinition& def, bool pessimistic, int max_faults) {
  DeviationModel m;
  m.file = pessimistic ? "(pessimistic)" : "(defaults)";
  m.max_faults = max_faults;
  m.start = DefaultStart();
  for (const ActionSpec& a : def.actions()) m.asks.push_back(a.asks_customer_to);
  EventModel start;
  start.fact = def.start_fact();
  start.type = def.facts()[start.fact].name;
  m.events.push_back(start);
  std::vector<bool> asked(def.facts().size(), false);
  for (FactId f : m.asks) {
    if (f != kNoFact) asked[f] = true;
  }
  std::vector<FactId> prev = {def.start_fact()};
  std::vector<bool> modelled(def.facts().size(), false);
  modelled[start.fact] = true;
  for (const StepSpec& st : def.steps()) {
    // The step's first way to complete: one event, or all events of an all-of; each happens
    // after the previous step's, and the next step's after all of them.
    FactId first = FirstCompleting(st);
    if (first == kNoFact) continue;
    std::vector<FactId> events = def.facts()[first].kind == FactKind::kAllOf
                                     ? def.facts()[first].parts
                                     : std::vector<FactId>{first};
    std::vector<FactId> now;
    for (FactId ev : events) {
      now.push_back(ev);
      if (modelled[ev]) continue;
      EventModel e;
      e.fact = ev;
      e.type = def.facts()[ev].name;
      e.after_events = prev;
      e.max_delay = asked[st.fact] ? 21 * kDay : 3 * kDay;
      if (pessimistic) {
        // Whatever happens outside may not happen (a lost parcel, a customer who never acts, a
        // partner who never comes), may happen without its report (a scan not sent; not a step
        // of the customer's), may be reported a day late (after later events) or twice.
        e.lost = true;
        e.missing = !asked[st.fact];
        e.max_late = kDay;
        e.duplicate = true;
      } else {
        e.lost = asked[st.fact];  // a customer may never do what is asked
      }
      m.events.push_back(e);
      modelled[ev] = true;
    }
    prev = std::move(now);
  }
  for (const EventSpec& es : def.events()) {
    if (modelled[es.fact]) continue;
    bool completes = std::any_of(def.steps().begin(), def.steps().end(), [&](const StepSpec& st) {
      return std::any_of(st.completed_by.begin(), st.completed_by.end(), [&](FactId c) {
        const auto& parts = def.facts()[c].parts;
        return c == es.fact || std::find(parts.begin(), parts.end(), es.fact) != parts.end();
      });
    });
    if (completes) continue;  // an alternative way to complete a step: not generated
    EventModel e;
    e.fact = es.fact;
    e.type = es.type;
    e.after_events = {def.start_fact()};
    e.max_delay = 3 * kDay;
    e.optional = true;
    m.events.push_back(e);
    modelled[es.fact] = true;
  }
  return m;
}

}  // namespace

DeviationModel DefaultDeviations(const JourneyDefinition& def) { return BuiltIn(def, false, -1); }

DeviationModel PessimisticDeviations(const JourneyDefinition& def, int max_faults) {
  return BuiltIn(def, true, max_faults);
}

std::optional<DeviationModel> CompileDeviations(const JourneyDefinition& def, std::string_view yaml,
                                                std::string_view file,
                                                std::vector<Diagnostic>* diagnostics) {
  return DeviationCompiler(def, file, diagnostics).Compile(yaml);
}

Result<DeviationModel> LoadDeviations(const JourneyDefinition& def, std::string_view yaml,
                                      std::string_view file) {
  std::vector<Diagnostic> diags;
  auto m = CompileDeviations(def, yaml, file, &diags);
  if (m) return std::move(*m);
  if (diags.empty()) return Internal("deviation model rejected without a diagnostic");
  const Diagnostic& d = diags.front();
  std::string msg = d.message;
  if (diags.size() > 1) msg += " (and " + std::to_string(diags.size() - 1) + " more problems)";
  std::string where = d.file;
  if (d.line > 0) where += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
  return InvalidArgument(std::move(msg), std::move(where));
}

Duration TimeGrid(const JourneyDefinition& def, const DeviationModel& model) {
  int64_t g = 0;
  auto add = [&](Duration d) {
    if (d.count() > 0) g = Gcd(g, d.count());
  };
  bool days = false;
  for (const EventModel& e : model.events) {
    add(e.min_delay);
    add(e.max_delay);
    add(e.min_late);
    add(e.max_late);
    days |= e.business_days;
  }
  auto anchor = [&](const Anchor& a) {
    if (a.business_days >= 0) {
      days = true;
    } else {
      add(a.offset);
    }
  };
  for (const ActionSpec& a : def.actions()) {
    if (a.after) anchor(*a.after);
    add(a.every);
    add(a.expires);
    for (const ParamSpec& p : a.params) {
      if (p.date) anchor(*p.date);
    }
  }
  if (days) add(kDay);
  if (g == 0) return kDay;
  // Exactly the gcd, however fine: every constant must be a multiple of the grid (condition (1)
  // of "Why the time grid is exact" in docs/journeys.md); a finer grid only costs states.
  return Duration(g);
}

}  // namespace rapport::journey
