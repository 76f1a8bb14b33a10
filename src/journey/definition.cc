// Loads journey YAML into the compiled JourneyDefinition and checks everything that can be
// checked without running it; each problem is reported at the YAML node that causes it.
#include "journey/definition.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/ids.h"
#include "core/text.h"

namespace rapport::journey {

std::string Diagnostic::ToString() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  return s + ": " + message;
}

std::string_view ActionKindName(ActionKind k) {
  switch (k) {
    case ActionKind::kMessage:
      return "message";
    case ActionKind::kWebhook:
      return "webhook";
    case ActionKind::kTask:
      return "task";
    case ActionKind::kOpenCase:
      return "open_case";
    case ActionKind::kEnd:
      return "end";
  }
  return "?";
}

std::string_view FactKindName(FactKind k) {
  switch (k) {
    case FactKind::kEvent:
      return "event";
    case FactKind::kStep:
      return "step";
    case FactKind::kAllOf:
      return "all_of";
  }
  return "event";
}

std::string_view AudienceName(Audience a) {
  return a == Audience::kCustomer ? "customer" : "internal";
}

BusinessCalendar::BusinessCalendar() {
  weekend_[0] = true;  // Sunday
  weekend_[6] = true;  // Saturday
}

void BusinessCalendar::SetWeekend(std::vector<unsigned> weekdays) {
  for (bool& w : weekend_) w = false;
  for (unsigned d : weekdays) weekend_[d % 7] = true;
}

void BusinessCalendar::AddHoliday(std::chrono::sys_days day) {
  int64_t d = day.time_since_epoch().count();
  auto it = std::lower_bound(holidays_.begin(), holidays_.end(), d);
  if (it == holidays_.end() || *it != d) holidays_.insert(it, d);
}

bool BusinessCalendar::IsBusinessDay(std::chrono::sys_days day) const {
  if (weekend_[std::chrono::weekday(day).c_encoding()]) return false;
  return !std::binary_search(holidays_.begin(), holidays_.end(), day.time_since_epoch().count());
}

Time BusinessCalendar::AddBusinessDays(Time t, int days) const {
  auto day = zone_.LocalDay(t);
  Duration time_of_day = zone_.LocalTimeOfDay(t);
  int left = days;
  for (int i = 0; left > 0 && i < 3660; ++i) {
    day += std::chrono::days(1);
    if (IsBusinessDay(day)) --left;
  }
  if (left == days) return t;  // no day added: keep the instant (a repeated wall time stays)
  return zone_.ToUtc(day, time_of_day);
}

std::optional<KeyId> JourneyDefinition::FindKey(std::string_view name) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == name) return static_cast<KeyId>(i);
  }
  return std::nullopt;
}

std::optional<FactId> JourneyDefinition::FindFact(std::string_view name) const {
  auto it = fact_index_.find(name);
  if (it == fact_index_.end()) return std::nullopt;
  return it->second;
}

const EventSpec* JourneyDefinition::FindEvent(std::string_view type) const {
  auto f = FindFact(type);
  if (!f || facts_[*f].kind != FactKind::kEvent) return nullptr;
  return &events_[facts_[*f].index];
}

std::optional<ActionId> JourneyDefinition::FindAction(std::string_view name) const {
  auto it = action_index_.find(name);
  if (it == action_index_.end()) return std::nullopt;
  return it->second;
}

Time JourneyDefinition::Resolve(const Anchor& anchor, Time fact_time) const {
  if (anchor.business_days >= 0) return calendar_.AddBusinessDays(fact_time, anchor.business_days);
  return fact_time + anchor.offset;
}

std::string JourneyDefinition::AnchorText(const Anchor& anchor) const {
  std::string lhs = anchor.business_days >= 0
                        ? std::to_string(anchor.business_days) + " business days"
                        : FormatDuration(anchor.offset);
  return lhs + " from " + facts_[anchor.fact].name;
}

namespace {

std::string Trimmed(std::string_view s) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

// Turns a YAML document into a JourneyDefinition. Names are collected before references are
// resolved, so that an action may name a step declared below it.
class DefinitionCompiler {
 public:
  DefinitionCompiler(std::string_view file, std::vector<Diagnostic>* diagnostics)
      : file_(file), diags_(diagnostics) {}

  DefinitionPtr Compile(std::string_view yaml);

 private:
  void Error(const YAML::Node& node, std::string message);
  void ErrorAt(const YAML::Mark& mark, std::string message);
  void CheckFields(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                   std::string_view what);
  std::optional<std::string> Scalar(const YAML::Node& node, std::string_view what);
  // A scalar or a sequence of scalars.
  std::vector<YAML::Node> ScalarList(const YAML::Node& node, std::string_view what);
  std::optional<FactId> Fact(const YAML::Node& node);
  std::vector<FactId> Facts(const YAML::Node& node, std::string_view what);
  std::optional<Anchor> ParseAnchor(const YAML::Node& node);
  // As ParseAnchor, of a text put together elsewhere (a promise's within + from); errors at
  // `where`.
  std::optional<Anchor> ParseAnchorText(const std::string& text, const YAML::Node& where);
  std::optional<Duration> ParsePositiveDuration(const YAML::Node& node, std::string_view what);

  void CompileHeader(const YAML::Node& root);
  void CompileEvents(const YAML::Node& node);
  void CompileSteps(const YAML::Node& node);
  // The fact that holds once all of `parts` hold ("latest(a, b)"), created on first use.
  FactId AllOf(std::vector<FactId> parts);
  // Parses "latest(a, b, ...)"; nullopt (and an error) if malformed or naming unknown facts.
  std::optional<FactId> Latest(const std::string& text, const YAML::Node& node);
  void CompileImplications();
  void CompileConditions();
  void CompileStart(const YAML::Node& node);
  void CompileCalendar(const YAML::Node& node);
  void CompileOpenCase(const YAML::Node& node, const std::string& what, ActionSpec* a);
  void CollectActionNames(const YAML::Node& node);
  void CompileAction(const YAML::Node& node, ActionSpec* a);
  void CheckAction(const YAML::Node& node, const ActionSpec& a);
  void CompileEndStates(const YAML::Node& node);
  void CheckRouting();

  std::string file_;
  std::vector<Diagnostic>* diags_;
  size_t errors_at_start_ = 0;
  std::shared_ptr<JourneyDefinition> def_;
  std::vector<YAML::Node> event_nodes_;
  YAML::Node root_;
};

void DefinitionCompiler::ErrorAt(const YAML::Mark& mark, std::string message) {
  Diagnostic d;
  d.file = file_;
  if (mark.line >= 0) {
    d.line = mark.line + 1;
    d.column = mark.column + 1;
  }
  d.message = std::move(message);
  diags_->push_back(std::move(d));
}

void DefinitionCompiler::Error(const YAML::Node& node, std::string message) {
  // A missing node has no position; blame the document's start then.
  if (node.IsDefined()) {
    ErrorAt(node.Mark(), std::move(message));
  } else {
    ErrorAt(root_.IsDefined() ? root_.Mark() : YAML::Mark::null_mark(), std::move(message));
  }
}

void DefinitionCompiler::CheckFields(const YAML::Node& map,
                                     std::initializer_list<std::string_view> allowed,
                                     std::string_view what) {
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) {
      Error(it->first, std::string(what) + ": a field name must be text");
      continue;
    }
    std::string key = it->first.Scalar();
    if (!seen.insert(key).second) {
      Error(it->first, std::string(what) + ": duplicate field '" + key + "'");
    }
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      Error(it->first,
            std::string(what) + ": unknown field '" + key + "' (expected one of: " + list + ")");
    }
  }
}

std::optional<std::string> DefinitionCompiler::Scalar(const YAML::Node& node,
                                                      std::string_view what) {
  if (!node.IsScalar()) {
    Error(node, std::string(what) + ": expected a single value");
    return std::nullopt;
  }
  return node.Scalar();
}

std::vector<YAML::Node> DefinitionCompiler::ScalarList(const YAML::Node& node,
                                                       std::string_view what) {
  std::vector<YAML::Node> out;
  if (!node) return out;
  if (node.IsScalar()) {
    out.push_back(node);
  } else if (node.IsSequence()) {
    for (const auto& item : node) {
      if (item.IsScalar()) {
        out.push_back(item);
      } else {
        Error(item, std::string(what) + ": expected a name");
      }
    }
  } else if (!node.IsNull()) {
    Error(node, std::string(what) + ": expected a name or a list of names");
  }
  return out;
}

std::optional<FactId> DefinitionCompiler::Fact(const YAML::Node& node) {
  if (node.Scalar().starts_with("latest(")) return Latest(node.Scalar(), node);
  auto f = def_->FindFact(node.Scalar());
  if (!f) {
    Error(node,
          "unknown fact '" + node.Scalar() + "' (a fact is a declared event type or a step name)");
  }
  return f;
}

std::vector<FactId> DefinitionCompiler::Facts(const YAML::Node& node, std::string_view what) {
  std::vector<FactId> out;
  for (const auto& n : ScalarList(node, what)) {
    if (auto f = Fact(n)) {
      if (std::find(out.begin(), out.end(), *f) == out.end()) out.push_back(*f);
    }
  }
  return out;
}

std::optional<Duration> DefinitionCompiler::ParsePositiveDuration(const YAML::Node& node,
                                                                  std::string_view what) {
  auto text = Scalar(node, what);
  if (!text) return std::nullopt;
  auto d = ParseDuration(*text);
  if (!d.ok()) {
    Error(node, std::string(what) + ": " + d.status().message());
    return std::nullopt;
  }
  if (d->count() <= 0) {
    Error(node, std::string(what) + ": must be longer than 0s");
    return std::nullopt;
  }
  return *d;
}

// "10d from kit.delivered" | "5 business days from kit_shipped" | "0s from x".
std::optional<Anchor> DefinitionCompiler::ParseAnchor(const YAML::Node& node) {
  auto text = Scalar(node, "after");
  if (!text) return std::nullopt;
  return ParseAnchorText(*text, node);
}

std::optional<Anchor> DefinitionCompiler::ParseAnchorText(const std::string& anchor_text,
                                                          const YAML::Node& node) {
  const std::string* text = &anchor_text;
  size_t from = text->find(" from ");
  if (from == std::string::npos) {
    Error(node,
          "expected '<duration> from <fact>', e.g. '12d from kit.delivered', got '" + *text + "'");
    return std::nullopt;
  }
  std::string lhs = Trimmed(std::string_view(*text).substr(0, from));
  std::string rhs = Trimmed(std::string_view(*text).substr(from + 6));
  Anchor a;
  if (rhs.starts_with("latest(")) {
    auto all = Latest(rhs, node);
    if (!all) return std::nullopt;  // reported by Latest
    a.fact = *all;
  }
  auto f = a.fact != kNoFact ? std::optional<FactId>(a.fact) : def_->FindFact(rhs);
  if (!f) {
    Error(node, "unknown fact '" + rhs + "' in '" + *text +
                    "' (a fact is a declared event type or a step name)");
    return std::nullopt;
  }
  a.fact = *f;
  std::istringstream words(lhs);
  std::string n, w1, w2, extra;
  words >> n >> w1 >> w2 >> extra;
  if (w1 == "business" && (w2 == "days" || w2 == "day") && extra.empty()) {
    int days = -1;
    if (!n.empty() && n.size() < 5 &&
        std::all_of(n.begin(), n.end(), [](char c) { return std::isdigit(c) != 0; })) {
      days = std::stoi(n);
    }
    if (days < 0) {
      Error(node, "bad duration '" + lhs + "': expected a whole number of business days");
      return std::nullopt;
    }
    a.business_days = days;
    return a;
  }
  auto d = ParseDuration(lhs);
  if (!d.ok()) {
    Error(node, "bad duration in '" + *text + "': " + d.status().message());
    return std::nullopt;
  }
  a.offset = *d;
  return a;
}

void DefinitionCompiler::CompileHeader(const YAML::Node& root) {
  CheckFields(root,
              {"journey", "version", "description", "correlation", "start", "calendar", "events",
               "steps", "actions", "end_states"},
              "journey definition");
  if (!root["journey"]) {
    Error(root, "missing 'journey' (the journey's name)");
  } else if (auto name = Scalar(root["journey"], "journey")) {
    bool ok = !name->empty() && std::all_of(name->begin(), name->end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
    if (!ok) Error(root["journey"], "journey: use letters, digits, '-', '_' and '.' only");
    def_->name_ = *name;
  }
  if (!root["version"]) {
    Error(root, "missing 'version' (a whole number >= 1)");
  } else if (auto v = Scalar(root["version"], "version")) {
    int version = 0;
    if (!v->empty() && v->size() < 9 &&
        std::all_of(v->begin(), v->end(), [](char c) { return std::isdigit(c) != 0; })) {
      version = std::stoi(*v);
    }
    if (version < 1) Error(root["version"], "version: expected a whole number >= 1");
    def_->version_ = version;
  }
  if (root["description"]) {
    if (auto d = Scalar(root["description"], "description")) def_->description_ = *d;
  }
  if (!root["correlation"]) {
    Error(root, "missing 'correlation' (the key that names an instance, e.g. order_id)");
    def_->keys_.push_back("");
  } else {
    auto c = Scalar(root["correlation"], "correlation");
    def_->keys_.push_back(c.value_or(""));
  }
}

void DefinitionCompiler::CompileEvents(const YAML::Node& node) {
  if (!node || !node.IsMap() || node.size() == 0) {
    Error(node ? node : root_, "events: declare at least one event type with its keys");
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    auto type = Scalar(it->first, "event type");
    if (!type) continue;
    if (def_->fact_index_.count(*type)) {
      Error(it->first, "duplicate name '" + *type + "': the event type is declared twice");
      continue;
    }
    EventSpec e;
    e.type = *type;
    e.line = it->first.Mark().line + 1;
    e.column = it->first.Mark().column + 1;
    if (it->second.IsMap()) CheckFields(it->second, {"keys", "description"}, "event " + *type);
    const YAML::Node keys_node = it->second.IsMap() ? it->second["keys"] : it->second;
    auto keys = ScalarList(keys_node, "event " + *type + " keys");
    if (keys.empty()) {
      Error(it->first, "event " + *type + ": list the correlation keys it carries (keys: [...])");
    }
    for (const auto& k : keys) {
      auto id = def_->FindKey(k.Scalar());
      if (!id) {
        def_->keys_.push_back(k.Scalar());
        id = static_cast<KeyId>(def_->keys_.size() - 1);
      }
      if (std::find(e.keys.begin(), e.keys.end(), *id) == e.keys.end()) e.keys.push_back(*id);
    }
    FactId f = static_cast<FactId>(def_->facts_.size());
    e.fact = f;
    def_->facts_.push_back({e.type, FactKind::kEvent, static_cast<uint16_t>(def_->events_.size())});
    def_->fact_index_[e.type] = f;
    def_->events_.push_back(std::move(e));
    event_nodes_.push_back(it->first);
  }
}

void DefinitionCompiler::CompileSteps(const YAML::Node& node) {
  if (!node) return;
  if (!node.IsSequence()) {
    Error(node, "steps: expected a list of steps (- name: ..., completed_by: ...)");
    return;
  }
  for (const auto& s : node) {
    if (!s.IsMap()) {
      Error(s, "a step is a map with name and completed_by");
      continue;
    }
    CheckFields(s, {"name", "completed_by", "description"}, "step");
    if (!s["name"]) {
      Error(s, "step: missing 'name'");
      continue;
    }
    auto name = Scalar(s["name"], "step name");
    if (!name) continue;
    if (def_->fact_index_.count(*name)) {
      Error(s["name"], "duplicate name '" + *name + "': already used by an event or a step");
      continue;
    }
    StepSpec step;
    step.name = *name;
    if (!s["completed_by"]) {
      Error(s, "step " + *name + ": missing 'completed_by' (the events that complete it)");
    }
    const YAML::Node by = s["completed_by"];
    auto event = [&](const YAML::Node& n) -> std::optional<FactId> {
      auto f = def_->FindFact(n.Scalar());
      if (!f || def_->facts_[*f].kind != FactKind::kEvent) {
        Error(n, "unknown event '" + n.Scalar() + "' (declare it under events:)");
        return std::nullopt;
      }
      return f;
    };
    if (by && by.IsMap()) {
      // {all: [box.delivered, label.delivered]}: completed once every one of them happened.
      CheckFields(by, {"all"}, "completed_by");
      std::vector<FactId> parts;
      bool ok = true;
      for (const auto& n : ScalarList(by["all"], "completed_by.all")) {
        auto f = event(n);
        if (!f) {
          ok = false;
        } else if (std::find(parts.begin(), parts.end(), *f) != parts.end()) {
          Error(n, "step " + *name + ": completed_by.all names " + n.Scalar() + " twice");
          ok = false;
        } else {
          parts.push_back(*f);
        }
      }
      if (!by["all"]) {
        // Another key is reported as unknown; an empty map is reported here.
        if (by.size() == 0) {
          Error(by, "step " + *name + ": completed_by as a map is {all: [event, event, ...]}");
        }
      } else if (ok && parts.size() < 2) {
        Error(by, "step " + *name + ": completed_by.all needs at least two events");
      } else if (ok) {
        step.completed_by.push_back(AllOf(parts));
      }
    } else {
      for (const auto& n : ScalarList(by, "completed_by")) {
        if (auto f = event(n)) step.completed_by.push_back(*f);
      }
    }
    FactId f = static_cast<FactId>(def_->facts_.size());
    step.fact = f;
    def_->facts_.push_back(
        {step.name, FactKind::kStep, static_cast<uint16_t>(def_->steps_.size())});
    def_->fact_index_[step.name] = f;
    def_->steps_.push_back(std::move(step));
  }
}

FactId DefinitionCompiler::AllOf(std::vector<FactId> parts) {
  // One fact, whatever the order its parts are named in: in the order they are declared.
  std::sort(parts.begin(), parts.end());
  std::string name = "latest(";
  for (size_t i = 0; i < parts.size(); ++i) {
    name += (i ? ", " : "") + def_->facts_[parts[i]].name;
  }
  name += ")";
  if (auto f = def_->FindFact(name)) return *f;
  FactId f = static_cast<FactId>(def_->facts_.size());
  def_->facts_.push_back({name, FactKind::kAllOf, 0, parts});
  def_->fact_index_[name] = f;
  def_->all_of_facts_.push_back(f);
  // Facts may be added while actions are compiled, whose checks read the implications.
  CompileImplications();
  return f;
}

std::optional<FactId> DefinitionCompiler::Latest(const std::string& text, const YAML::Node& node) {
  const std::string example = ", e.g. latest(box.delivered, label.delivered)";
  if (!text.ends_with(")")) {
    Error(node, "'" + text + "': latest(...) misses its closing ')'" + example);
    return std::nullopt;
  }
  std::vector<FactId> parts;
  bool ok = true;
  std::istringstream names(text.substr(7, text.size() - 8));  // between "latest(" and ")"
  for (std::string name; std::getline(names, name, ',');) {
    std::string part = Trimmed(name);
    auto f = def_->FindFact(part);
    if (!f) {
      Error(node, "unknown fact '" + part + "' in '" + text +
                      "' (a fact is a declared event type or a step name)");
      ok = false;
    } else if (std::find(parts.begin(), parts.end(), *f) != parts.end()) {
      Error(node, "'" + text + "' names " + part + " twice");
      ok = false;
    } else {
      parts.push_back(*f);
    }
  }
  if (!ok) return std::nullopt;
  if (parts.size() < 2) {
    Error(node, "'" + text + "': latest(...) names at least two facts" + example);
    return std::nullopt;
  }
  return AllOf(parts);
}

void DefinitionCompiler::CompileImplications() {
  size_t n = def_->facts_.size();
  def_->implies_.assign(n * n, false);
  auto at = [&](size_t a, size_t b) { return def_->implies_[a * n + b]; };
  auto set = [&](size_t a, size_t b) { def_->implies_[a * n + b] = true; };
  for (FactId f = 0; f < n; ++f) set(f, f);
  const auto& steps = def_->steps_;
  for (size_t i = 0; i < steps.size(); ++i) {
    for (size_t j = 0; j <= i; ++j) set(steps[i].fact, steps[j].fact);
    for (FactId e : steps[i].completed_by) {
      for (size_t j = 0; j <= i; ++j) set(e, steps[j].fact);
    }
  }
  for (FactId f = 0; f < n; ++f) {
    for (FactId p : def_->facts_[f].parts) set(f, p);
  }
  // Transitively, and an all-of fact is implied by whatever implies each of its parts.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t a = 0; a < n; ++a) {
      for (size_t b = 0; b < n; ++b) {
        if (at(a, b)) continue;
        bool now = false;
        for (size_t c = 0; c < n && !now; ++c) now = at(a, c) && at(c, b);
        const auto& parts = def_->facts_[b].parts;
        now = now || (!parts.empty() &&
                      std::all_of(parts.begin(), parts.end(), [&](FactId p) { return at(a, p); }));
        if (now) {
          set(a, b);
          changed = true;
        }
      }
    }
  }
}

// Bounds the work of compiling (and of judging a run) for an all-of fact over many facts.
constexpr size_t kMaxConditions = 256;

void DefinitionCompiler::CompileConditions() {
  size_t n = def_->facts_.size();
  auto& conditions = def_->conditions_;
  conditions.assign(n, {});
  std::vector<bool> done(n, false);
  // Facts form no cycle (a step depends on later steps and its completing facts, an all-of
  // fact on its parts), so a depth-first walk terminates.
  std::function<void(FactId)> compute = [&](FactId f) {
    if (done[f]) return;
    done[f] = true;
    const FactSpec& spec = def_->facts_[f];
    auto& out = conditions[f];
    // A condition that contains another adds nothing (it never holds earlier): dropped, which
    // keeps a chain of steps at one condition each instead of a product of them.
    auto minimize = [&](std::vector<std::vector<FactId>>& cs) {
      std::sort(cs.begin(), cs.end(), [](const auto& a, const auto& b) {
        return a.size() < b.size() || (a.size() == b.size() && a < b);
      });
      std::vector<std::vector<FactId>> kept;
      for (auto& c : cs) {
        bool covered = std::any_of(kept.begin(), kept.end(), [&](const std::vector<FactId>& k) {
          return std::includes(c.begin(), c.end(), k.begin(), k.end());
        });
        if (!covered) kept.push_back(std::move(c));
      }
      cs = std::move(kept);
      if (cs.size() > kMaxConditions) {
        ErrorAt(YAML::Mark::null_mark(),
                "fact " + spec.name + " can come to hold in more than " +
                    std::to_string(kMaxConditions) +
                    " ways (combinations of events): name fewer facts in its latest(...)");
        cs.resize(kMaxConditions);
      }
    };
    auto add_all = [&](FactId g) {
      compute(g);
      out.insert(out.end(), conditions[g].begin(), conditions[g].end());
      minimize(out);
    };
    switch (spec.kind) {
      case FactKind::kEvent:
        out.push_back({f});
        break;
      case FactKind::kStep: {
        const StepSpec& st = def_->steps_[spec.index];
        for (FactId c : st.completed_by) add_all(c);
        if (spec.index + 1u < def_->steps_.size()) add_all(def_->steps_[spec.index + 1].fact);
        break;
      }
      case FactKind::kAllOf: {
        out.push_back({});
        for (FactId p : spec.parts) {
          compute(p);
          std::vector<std::vector<FactId>> product;
          for (const auto& left : out) {
            for (const auto& right : conditions[p]) {
              std::vector<FactId> c = left;
              for (FactId e : right) {
                if (std::find(c.begin(), c.end(), e) == c.end()) c.push_back(e);
              }
              std::sort(c.begin(), c.end());
              product.push_back(std::move(c));
            }
          }
          minimize(product);
          out = std::move(product);
        }
        break;
      }
    }
  };
  for (FactId f = 0; f < n; ++f) compute(f);
}

void DefinitionCompiler::CompileStart(const YAML::Node& node) {
  if (!node) {
    Error(root_, "missing 'start' (the event that creates an instance)");
    return;
  }
  const YAML::Node on = node.IsMap() ? node["on"] : node;
  if (node.IsMap()) {
    CheckFields(node, {"on", "where"}, "start");
    if (!on) {
      Error(node, "start: missing 'on' (the event type that creates an instance)");
      return;
    }
    if (auto where = node["where"]) {
      if (!where.IsMap()) {
        Error(where, "start.where: expected a map of payload field: value");
      } else {
        for (auto it = where.begin(); it != where.end(); ++it) {
          auto k = Scalar(it->first, "start.where field");
          auto v = Scalar(it->second, "start.where value");
          if (k && v) def_->start_where_.emplace_back(*k, *v);
        }
      }
    }
  }
  auto type = Scalar(on, "start");
  if (!type) return;
  const EventSpec* e = def_->FindEvent(*type);
  if (!e) {
    Error(on, "unknown event '" + *type + "' (declare it under events:)");
    return;
  }
  if (std::find(e->keys.begin(), e->keys.end(), KeyId{0}) == e->keys.end()) {
    Error(on,
          "the start event " + *type + " must carry the correlation key " + def_->primary_key());
  }
  def_->start_fact_ = e->fact;
}

void DefinitionCompiler::CompileCalendar(const YAML::Node& node) {
  if (!node) return;
  if (!node.IsMap()) {
    Error(node, "calendar: expected a map with weekend and holidays");
    return;
  }
  CheckFields(node, {"weekend", "holidays", "time_zone"}, "calendar");
  if (const YAML::Node z = node["time_zone"]) {
    auto zone = z.IsScalar() ? timezone::Zone::Parse(z.Scalar())
                             : Result<timezone::Zone>(InvalidArgument("expected a text"));
    if (zone.ok()) {
      def_->calendar_.SetZone(*zone);
    } else {
      Error(z, "calendar.time_zone: " + zone.status().message());
    }
  }
  if (node["weekend"]) {
    static constexpr std::string_view kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    std::vector<unsigned> days;
    for (const auto& d : ScalarList(node["weekend"], "calendar.weekend")) {
      std::string v = d.Scalar();
      std::transform(v.begin(), v.end(), v.begin(), [](char c) { return std::tolower(c); });
      auto it = std::find(std::begin(kDays), std::end(kDays), v.substr(0, 3));
      if (v.size() < 3 || it == std::end(kDays)) {
        Error(d, "calendar.weekend: unknown weekday '" + d.Scalar() + "' (use mon ... sun)");
        continue;
      }
      days.push_back(static_cast<unsigned>(it - std::begin(kDays)));
    }
    def_->calendar_.SetWeekend(std::move(days));
  }
  for (const auto& h : ScalarList(node["holidays"], "calendar.holidays")) {
    auto t = ParseTime(h.Scalar());
    if (!t.ok() || h.Scalar().size() != 10) {
      Error(h, "calendar.holidays: expected a date like 2026-12-25, got '" + h.Scalar() + "'");
      continue;
    }
    def_->calendar_.AddHoliday(std::chrono::floor<std::chrono::days>(*t));
  }
}

void DefinitionCompiler::CollectActionNames(const YAML::Node& node) {
  if (!node) return;
  if (!node.IsSequence()) {
    Error(node, "actions: expected a list of actions");
    return;
  }
  for (const auto& a : node) {
    ActionSpec spec;
    spec.line = a.Mark().line + 1;
    spec.column = a.Mark().column + 1;
    if (a.IsMap() && a["name"] && a["name"].IsScalar()) {
      spec.name = a["name"].Scalar();
      if (def_->action_index_.count(spec.name)) {
        Error(a["name"], "duplicate name '" + spec.name + "': another action has it");
      } else {
        def_->action_index_[spec.name] = static_cast<ActionId>(def_->actions_.size());
      }
    }
    def_->actions_.push_back(std::move(spec));
  }
}

// `case: {type, team?, priority?, title?}` of an open_case action; only there.
void DefinitionCompiler::CompileOpenCase(const YAML::Node& node, const std::string& what,
                                         ActionSpec* a) {
  const YAML::Node c = node["case"];
  if (a->kind != ActionKind::kOpenCase) {
    if (c) Error(c, what + ": 'case' belongs to an action of kind open_case");
    return;
  }
  if (!c) {
    Error(node, what +
                    ": open_case needs 'case' with at least its type, e.g. "
                    "case: {type: escalation, team: logistics}");
    return;
  }
  if (!c.IsMap()) {
    Error(c, what + ": case is a map with type, team, priority and title");
    return;
  }
  CheckFields(c, {"type", "team", "priority", "title"}, "case");
  OpenCaseSpec spec;
  auto text = [&](const char* field, std::string* out) {
    if (c[field]) {
      if (auto v = Scalar(c[field], field)) *out = *v;
    }
  };
  text("type", &spec.type);
  text("team", &spec.team);
  text("priority", &spec.priority);
  text("title", &spec.title);
  if (spec.type.empty()) Error(c, what + ": case needs a 'type' (e.g. escalation)");
  a->open_case = std::move(spec);
}

void DefinitionCompiler::CompileAction(const YAML::Node& node, ActionSpec* a) {
  if (!node.IsMap()) {
    Error(node, "an action is a map (name, kind, requires, ...)");
    return;
  }
  CheckFields(node,
              {"name", "kind", "audience", "channel", "template", "url", "queue", "case",
               "asks_customer_to", "requires", "unless", "after", "repeat", "expires",
               "compensates", "params", "promise", "description"},
              "action");
  if (!node["name"]) Error(node, "action: missing 'name'");
  std::string what = "action " + a->name;
  if (!node["kind"]) {
    Error(node, what + ": missing 'kind' (message, webhook, task or open_case)");
  } else if (auto k = Scalar(node["kind"], "kind")) {
    if (*k == "message") {
      a->kind = ActionKind::kMessage;
    } else if (*k == "webhook") {
      a->kind = ActionKind::kWebhook;
    } else if (*k == "task") {
      a->kind = ActionKind::kTask;
    } else if (*k == "open_case") {
      a->kind = ActionKind::kOpenCase;
    } else {
      Error(node["kind"],
            what + ": unknown kind '" + *k + "' (message, webhook, task or open_case)");
    }
  }
  a->audience = a->kind == ActionKind::kMessage ? Audience::kCustomer : Audience::kInternal;
  if (node["audience"]) {
    auto au = Scalar(node["audience"], "audience");
    if (au && *au == "customer") {
      a->audience = Audience::kCustomer;
    } else if (au && *au == "internal") {
      a->audience = Audience::kInternal;
    } else if (au) {
      Error(node["audience"], what + ": audience is customer or internal, not '" + *au + "'");
    }
  }
  auto text = [&](const char* field, std::string* out) {
    if (node[field]) {
      if (auto v = Scalar(node[field], field)) *out = *v;
    }
  };
  text("channel", &a->channel);
  text("template", &a->template_name);
  text("url", &a->url);
  text("queue", &a->queue);
  if (a->kind == ActionKind::kMessage && (a->channel.empty() || a->template_name.empty())) {
    Error(node, what + ": a message needs a channel and a template");
  }
  if (a->kind == ActionKind::kWebhook && a->url.empty())
    Error(node, what + ": a webhook needs a url");
  if (a->kind == ActionKind::kTask && a->queue.empty()) {
    Error(node, what + ": a task needs the queue of the agents who work on it");
  }
  CompileOpenCase(node, what, a);
  a->required = Facts(node["requires"], "requires");
  a->unless = Facts(node["unless"], "unless");
  if (auto n = node["asks_customer_to"]) {
    if (auto s = Scalar(n, "asks_customer_to")) {
      auto f = def_->FindFact(*s);
      if (!f || def_->facts_[*f].kind != FactKind::kStep) {
        Error(n, "unknown step '" + *s + "' (asks_customer_to names the step the customer does)");
      } else {
        a->asks_customer_to = *f;
        if (std::find(a->unless.begin(), a->unless.end(), *f) == a->unless.end()) {
          a->unless.push_back(*f);
        }
      }
    }
  }
  if (auto n = node["after"]) a->after = ParseAnchor(n);
  if (auto r = node["repeat"]) {
    if (!r.IsMap()) {
      Error(r, what + ": repeat is a map with every and max");
    } else {
      CheckFields(r, {"every", "max"}, "repeat");
      if (!r["every"]) Error(r, what + ": repeat needs 'every'");
      if (!r["max"]) Error(r, what + ": repetitions must be bounded: repeat needs 'max'");
      if (r["every"]) {
        if (auto d = ParsePositiveDuration(r["every"], "repeat.every")) a->every = *d;
      }
      if (r["max"]) {
        auto m = Scalar(r["max"], "repeat.max");
        int max = 0;
        if (m && !m->empty() && m->size() < 4 &&
            std::all_of(m->begin(), m->end(), [](char c) { return std::isdigit(c) != 0; })) {
          max = std::stoi(*m);
        }
        if (max < 1 || max > 100) {
          Error(r["max"], what + ": repeat.max must be a whole number from 1 to 100");
        } else {
          a->max_occurrences = static_cast<uint16_t>(max);
        }
      }
      if (!node["after"]) Error(r, what + ": repeat needs a timer ('after')");
    }
  }
  if (auto e = node["expires"]) {
    if (auto d = ParsePositiveDuration(e, "expires")) a->expires = *d;
  }
  if (auto c = node["compensates"]) {
    if (auto s = Scalar(c, "compensates")) {
      auto id = def_->FindAction(*s);
      if (!id) {
        Error(c, "unknown action '" + *s + "'");
      } else if (def_->actions_[*id].name == a->name) {
        Error(c, what + ": an action cannot compensate itself");
      } else {
        a->compensates = *id;
      }
    }
  }
  if (auto p = node["params"]) {
    if (!p.IsMap()) {
      Error(p, what + ": params is a map of name: value");
    } else {
      for (auto it = p.begin(); it != p.end(); ++it) {
        auto name = Scalar(it->first, "param name");
        if (!name) continue;
        ParamSpec param;
        param.name = *name;
        if (it->second.IsMap()) {
          CheckFields(it->second, {"date"}, "param " + *name);
          if (!it->second["date"]) {
            Error(it->second, "param " + *name + ": expected {date: '<duration> from <fact>'}");
            continue;
          }
          param.date = ParseAnchor(it->second["date"]);
          if (!param.date) continue;
        } else if (auto v = Scalar(it->second, "param " + *name)) {
          param.literal = *v;
        } else {
          continue;
        }
        a->params.push_back(std::move(param));
      }
    }
  }
  if (auto pr = node["promise"]) {
    // What the message promises in words ("within 10 business days of the kit's arrival"):
    // check holds every date it tells against it, not against the rule that computed the date.
    if (!pr.IsMap() || !pr["within"] || !pr["from"]) {
      Error(pr, what + ": promise is {within: '<duration>', from: <fact>}");
    } else {
      CheckFields(pr, {"within", "from"}, "promise");
      auto within = Scalar(pr["within"], "promise.within");
      auto from = Scalar(pr["from"], "promise.from");
      if (within && from) a->promise = ParseAnchorText(*within + " from " + *from, pr);
    }
  }
  CheckAction(node, *a);
}

// The checks that make an action safe towards the customer.
void DefinitionCompiler::CheckAction(const YAML::Node& node, const ActionSpec& a) {
  const std::string what = "action " + a.name;
  auto fact_name = [&](FactId f) { return def_->facts_[f].name; };
  if (a.on_end && a.after) {
    Error(node["after"], what + " runs when the journey ends (then:), so it cannot have a timer");
  }
  // An unknown name in requires is reported already; an absent or empty list is the mistake.
  const YAML::Node req = node["requires"];
  bool no_requires = !req || req.IsNull() || (req.IsSequence() && req.size() == 0);
  if (a.asks_customer_to != kNoFact && no_requires) {
    Error(node, what + " asks the customer to act (" + fact_name(a.asks_customer_to) +
                    ") but has no 'requires': say what must hold before the customer can act");
  }
  for (FactId r : a.required) {
    for (FactId u : a.unless) {
      if (def_->Implies(r, u)) {
        Error(node["requires"], what + " can never fire: it requires " + fact_name(r) +
                                    ", which implies " + fact_name(u) + " (unless)");
      }
    }
  }
  if (a.after) {
    const YAML::Node at = node["after"];
    FactId anchor = a.after->fact;
    std::string never;
    for (FactId u : a.unless) {
      if (never.empty() && def_->Implies(anchor, u)) {
        never = "which cannot happen while the action is still wanted (once it holds, " +
                fact_name(u) + " holds and cancels the action)";
      }
    }
    for (const auto& end : def_->end_states_) {
      for (FactId w : end.when) {
        if (never.empty() && def_->Implies(anchor, w)) {
          never = "which cannot happen in a running instance: it ends the journey (end state " +
                  end.name + ")";
        }
      }
    }
    if (!never.empty()) {
      Error(at, what + ": timer anchored to " + fact_name(anchor) + ", " + never);
    }
  }
  if (a.promise) {
    bool dated = std::any_of(a.params.begin(), a.params.end(),
                             [](const ParamSpec& p) { return p.date.has_value(); });
    if (a.kind != ActionKind::kMessage || !dated) {
      Error(node["promise"], what +
                                 ": a promise belongs to a message that tells a date (a "
                                 "param {date: ...})");
    }
  }
  for (const auto& p : a.params) {
    if (!p.date) continue;
    // Known when the anchor or a required fact implies it; an all-of fact when each of its
    // parts is known so.
    auto implied = [&](FactId f) {
      bool known = a.after && def_->Implies(a.after->fact, f);
      for (FactId r : a.required) known = known || def_->Implies(r, f);
      return known;
    };
    const auto& parts = def_->facts_[p.date->fact].parts;
    bool known = implied(p.date->fact) ||
                 (!parts.empty() && std::all_of(parts.begin(), parts.end(), implied));
    if (!known) {
      Error(node["params"][p.name], what + ": param " + p.name + " is computed from " +
                                        fact_name(p.date->fact) +
                                        ", which need not hold when the action fires; add it to "
                                        "requires");
    }
  }
}

void DefinitionCompiler::CompileEndStates(const YAML::Node& node) {
  if (!node || !node.IsSequence() || node.size() == 0) {
    Error(node ? node : root_,
          "end_states: declare at least one end state (- name: completed, when: ...)");
    return;
  }
  std::set<std::string> names;
  for (const auto& e : node) {
    if (!e.IsMap()) {
      Error(e, "an end state is a map with name and when");
      continue;
    }
    CheckFields(e, {"name", "when", "after", "unless", "outcome", "then", "description"},
                "end state");
    if (e["unless"] && !e["after"]) {
      Error(e["unless"], "end state: 'unless' belongs to a timed end ('after')");
    }
    EndStateSpec spec;
    if (!e["name"]) {
      Error(e, "end state: missing 'name'");
    } else if (auto n = Scalar(e["name"], "name")) {
      spec.name = *n;
      if (!names.insert(*n).second) Error(e["name"], "duplicate name '" + *n + "': end state");
    }
    if (!e["when"] && !e["after"]) {
      Error(e, "end state " + spec.name +
                   ": missing 'when' (the facts that end it) or 'after' (a time that does)");
    }
    if (e["when"]) spec.when = Facts(e["when"], "when");
    if (auto at = e["after"]) {
      // A journey that waits for an answer that may never come (a survey) ends by itself.
      spec.after = ParseAnchor(at);
      if (spec.after && def_->action_index_.count("end:" + spec.name)) {
        Error(at, "end state " + spec.name + ": its timer is named end:" + spec.name +
                      ", which an action has already");
      } else if (spec.after) {
        ActionSpec timer;
        timer.name = "end:" + spec.name;
        timer.kind = ActionKind::kEnd;
        timer.audience = Audience::kInternal;
        timer.after = spec.after;
        timer.required = {spec.after->fact};
        if (e["unless"]) timer.unless = Facts(e["unless"], "unless");
        timer.ends_in = static_cast<int16_t>(def_->end_states_.size());
        timer.line = at.Mark().line + 1;
        timer.column = at.Mark().column + 1;
        def_->action_index_[timer.name] = static_cast<ActionId>(def_->actions_.size());
        def_->actions_.push_back(std::move(timer));
      }
    }
    if (auto o = e["outcome"]) {
      auto v = Scalar(o, "outcome");
      if (v && *v == "failure") {
        spec.success = false;
      } else if (v && *v != "success") {
        Error(o, "end state " + spec.name + ": outcome is success or failure");
      }
    }
    for (const auto& n : ScalarList(e["then"], "then")) {
      auto id = def_->FindAction(n.Scalar());
      if (!id) {
        Error(n, "unknown action '" + n.Scalar() + "'");
        continue;
      }
      spec.then.push_back(*id);
      def_->actions_[*id].on_end = true;
    }
    def_->end_states_.push_back(std::move(spec));
  }
}

// Every event must be able to reach an instance: it carries the correlation key, or an alias
// that some event binds together with the correlation key.
void DefinitionCompiler::CheckRouting() {
  std::vector<bool> bindable(def_->keys_.size(), false);
  bindable[0] = true;
  for (const auto& e : def_->events_) {
    if (std::find(e.keys.begin(), e.keys.end(), KeyId{0}) == e.keys.end()) continue;
    for (KeyId k : e.keys) bindable[k] = true;
  }
  for (size_t i = 0; i < def_->events_.size(); ++i) {
    const auto& e = def_->events_[i];
    if (e.keys.empty()) continue;  // reported already
    bool routable = std::any_of(e.keys.begin(), e.keys.end(), [&](KeyId k) { return bindable[k]; });
    if (!routable) {
      Error(event_nodes_[i],
            "event " + e.type + " cannot happen in an instance: it carries neither " +
                def_->primary_key() +
                " nor a key that an event binds to it (add the key to an event that also carries " +
                def_->primary_key() + ")");
    }
  }
}

DefinitionPtr DefinitionCompiler::Compile(std::string_view yaml) {
  errors_at_start_ = diags_->size();
  def_ = std::make_shared<JourneyDefinition>();
  def_->file_ = file_;
  def_->fingerprint_ = Hash64(yaml);
  if (auto problem = FindYamlTextProblem(yaml)) {
    YAML::Mark at;
    at.line = problem->line - 1;
    at.column = problem->column - 1;
    ErrorAt(at, "the definition holds " + problem->message);
    return nullptr;
  }
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    root_.reset(root);
    if (!root.IsMap()) {
      Error(root, "a journey definition is a YAML map (journey:, version:, events:, ...)");
      return nullptr;
    }
    CompileHeader(root);
    CompileEvents(root["events"]);
    CompileSteps(root["steps"]);
    CompileImplications();
    CompileStart(root["start"]);
    CompileCalendar(root["calendar"]);
    CollectActionNames(root["actions"]);
    CompileEndStates(root["end_states"]);
    if (root["actions"] && root["actions"].IsSequence()) {
      size_t i = 0;
      for (const auto& a : root["actions"]) CompileAction(a, &def_->actions_[i++]);
    }
    if (!def_->events_.empty()) CheckRouting();
    CompileConditions();
  } catch (const YAML::Exception& e) {
    ErrorAt(e.mark, "YAML: " + e.msg);
  } catch (const std::exception& e) {
    ErrorAt(YAML::Mark::null_mark(), std::string("cannot read the definition: ") + e.what());
  }
  if (diags_->size() > errors_at_start_) {
    std::stable_sort(diags_->begin() + static_cast<std::ptrdiff_t>(errors_at_start_), diags_->end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                       return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    return nullptr;
  }
  return def_;
}

DefinitionPtr CompileDefinition(std::string_view yaml, std::string_view file,
                                std::vector<Diagnostic>* diagnostics) {
  DefinitionCompiler compiler(file, diagnostics);
  return compiler.Compile(yaml);
}

Result<DefinitionPtr> LoadDefinition(std::string_view yaml, std::string_view file) {
  std::vector<Diagnostic> diags;
  DefinitionPtr def = CompileDefinition(yaml, file, &diags);
  if (def) return def;
  if (diags.empty()) return Internal("definition rejected without a diagnostic");
  const Diagnostic& d = diags.front();
  std::string msg = d.message;
  if (diags.size() > 1) msg += " (and " + std::to_string(diags.size() - 1) + " more problems)";
  std::string where = d.file;
  if (d.line > 0) where += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
  return InvalidArgument(std::move(msg), std::move(where));
}

Result<DefinitionPtr> LoadDefinitionFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read journey definition", path);
  std::stringstream buf;
  buf << in.rdbuf();
  return LoadDefinition(buf.str(), path);
}

Json DefinitionToJson(const JourneyDefinition& def) {
  auto names = [&](const std::vector<FactId>& fs) {
    Json a = Json::array();
    for (FactId f : fs) a.push_back(def.facts()[f].name);
    return a;
  };
  Json j;
  j["journey"] = def.name();
  j["version"] = def.version();
  j["file"] = def.file();
  j["fingerprint"] = Hex64(def.fingerprint());
  if (!def.description().empty()) j["description"] = def.description();
  j["correlation"] = def.primary_key();
  j["keys"] = def.keys();
  Json where = Json::object();
  for (const auto& [k, v] : def.start_where()) where[k] = v;
  j["start"] = {{"on", def.facts()[def.start_fact()].name}, {"where", where}};
  Json facts = Json::array();
  for (const FactSpec& f : def.facts()) {
    Json fj = {{"name", f.name}, {"kind", FactKindName(f.kind)}};
    if (!f.parts.empty()) fj["parts"] = names(f.parts);
    facts.push_back(std::move(fj));
  }
  j["facts"] = std::move(facts);
  Json steps = Json::array();
  for (const StepSpec& st : def.steps()) {
    steps.push_back({{"name", st.name}, {"completed_by", names(st.completed_by)}});
  }
  j["steps"] = std::move(steps);
  Json actions = Json::array();
  for (const ActionSpec& a : def.actions()) {
    Json aj = {{"name", a.name},
               {"kind", ActionKindName(a.kind)},
               {"audience", AudienceName(a.audience)},
               {"requires", names(a.required)},
               {"unless", names(a.unless)},
               {"max_occurrences", a.max_occurrences}};
    if (!a.channel.empty()) aj["channel"] = a.channel;
    if (!a.template_name.empty()) aj["template"] = a.template_name;
    if (!a.url.empty()) aj["url"] = a.url;
    if (!a.queue.empty()) aj["queue"] = a.queue;
    if (a.open_case) {
      aj["case"] = {{"type", a.open_case->type},
                    {"team", a.open_case->team},
                    {"priority", a.open_case->priority},
                    {"title", a.open_case->title}};
    }
    if (a.asks_customer_to != kNoFact)
      aj["asks_customer_to"] = def.facts()[a.asks_customer_to].name;
    if (a.after) aj["after"] = def.AnchorText(*a.after);
    if (a.every.count() > 0) aj["every"] = FormatDuration(a.every);
    if (a.expires.count() > 0) aj["expires"] = FormatDuration(a.expires);
    if (a.compensates != kNoAction) aj["compensates"] = def.actions()[a.compensates].name;
    if (a.on_end) aj["on_end"] = true;
    actions.push_back(std::move(aj));
  }
  j["actions"] = std::move(actions);
  Json ends = Json::array();
  for (const EndStateSpec& e : def.end_states()) {
    Json then = Json::array();
    for (ActionId id : e.then) then.push_back(def.actions()[id].name);
    ends.push_back({{"name", e.name},
                    {"when", names(e.when)},
                    {"outcome", e.success ? "success" : "failure"},
                    {"then", then}});
  }
  j["end_states"] = std::move(ends);
  return j;
}

}  // namespace rapport::journey
