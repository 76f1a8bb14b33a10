// Loads the cases YAML. Each check reports at the node it concerns; a problem ends the load
// (the first one is what the user fixes first), thrown as ConfigError inside this file only.
#include "cases/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "core/text.h"

namespace rapport::cases {

namespace {

struct ConfigError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void Fail(const YAML::Node& node, std::string message) {
  throw ConfigError{node.IsDefined() ? node.Mark() : YAML::Mark::null_mark(), std::move(message)};
}

std::string Scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) Fail(node, what + " must be a text");
  return node.Scalar();
}

// An id others refer to (a team, a rule): a text that is not empty, or nothing could name it
// (found by cases_fuzzer: `id: !` is an empty tagged scalar, and a team without a name got
// every case).
std::string Id(const YAML::Node& node, const std::string& what) {
  std::string id = Scalar(node, what);
  if (id.empty()) Fail(node, what + " must not be empty");
  return id;
}

std::vector<std::string> StringList(const YAML::Node& node, const std::string& what) {
  std::vector<std::string> out;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (node.IsScalar()) return {node.Scalar()};
  if (!node.IsSequence()) Fail(node, what + " must be a list of texts");
  for (const auto& item : node) out.push_back(Scalar(item, what + " entry"));
  return out;
}

Duration DurationOf(const YAML::Node& node, const std::string& what) {
  auto d = ParseDuration(Scalar(node, what));
  if (!d.ok()) Fail(node, what + ": " + d.status().message());
  return *d;
}

void CheckKeys(const YAML::Node& map, const std::string& what, std::set<std::string> allowed) {
  if (!map.IsMap()) Fail(map, what + " must be a mapping");
  for (const auto& kv : map) {
    std::string key = kv.first.Scalar();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Fail(kv.first, "unknown key '" + key + "' in " + what + " (expected one of: " + list + ")");
    }
  }
}

const char* const kWeekdays[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

BusinessCalendar LoadCalendar(const YAML::Node& node) {
  CheckKeys(node, "calendar", {"time_zone", "utc_offset", "hours", "holidays"});
  std::array<std::vector<WorkingHours>, 7> hours;
  const YAML::Node h = node["hours"];
  if (!h.IsDefined()) Fail(node, "calendar needs 'hours' (e.g. mon: \"08:00-18:00\")");
  if (h.IsScalar()) {
    // One text for Monday to Friday.
    auto parsed = ParseWorkingHours(h.Scalar());
    if (!parsed.ok()) Fail(h, parsed.status().message());
    for (int d = 1; d <= 5; ++d) hours[d] = *parsed;
  } else {
    CheckKeys(h, "calendar.hours", {"sun", "mon", "tue", "wed", "thu", "fri", "sat", "weekdays"});
    for (const auto& kv : h) {
      auto parsed = ParseWorkingHours(Scalar(kv.second, "working hours"));
      if (!parsed.ok()) Fail(kv.second, parsed.status().message());
      std::string key = kv.first.Scalar();
      for (int d = 0; d < 7; ++d) {
        if (key == kWeekdays[d] || (key == "weekdays" && d >= 1 && d <= 5)) hours[d] = *parsed;
      }
    }
  }
  std::vector<std::chrono::sys_days> holidays;
  if (const YAML::Node list = node["holidays"]; list.IsDefined()) {
    if (!list.IsSequence()) Fail(list, "calendar.holidays must be a list of dates");
    for (const auto& day : list) {
      auto t = ParseTime(Scalar(day, "holiday"));
      if (!t.ok()) Fail(day, "holiday: " + t.status().message());
      holidays.push_back(std::chrono::floor<std::chrono::days>(*t));
    }
  }
  // time_zone: an IANA id (daylight saving included) or an offset; utc_offset is the older
  // spelling of a fixed offset and still accepted.
  timezone::Zone zone;
  const YAML::Node zone_node = node["time_zone"], offset_node = node["utc_offset"];
  if (zone_node.IsDefined() && offset_node.IsDefined()) {
    Fail(offset_node, "calendar: give either time_zone or utc_offset, not both");
  }
  if (const YAML::Node z = zone_node.IsDefined() ? zone_node : offset_node; z.IsDefined()) {
    auto parsed = timezone::Zone::Parse(Scalar(z, "time_zone"));
    if (!parsed.ok()) Fail(z, parsed.status().message());
    zone = *parsed;
  }
  auto cal = BusinessCalendar::Create(std::move(hours), std::move(holidays), std::move(zone));
  if (!cal.ok()) Fail(node, cal.status().message());
  return *cal;
}

std::shared_ptr<CasesConfig> Compile(const YAML::Node& root) {
  auto c = std::make_shared<CasesConfig>();
  if (root.IsNull() || !root.IsDefined()) Fail(root, "the cases configuration is empty");
  CheckKeys(root, "the cases configuration",
            {"fields", "teams", "routing", "sla", "calendar", "feedback", "preferences",
             "priorities", "case_rules"});
  if (const YAML::Node p = root["priorities"]; p.IsDefined()) {
    c->priorities = StringList(p, "priorities");
    if (c->priorities.empty()) Fail(p, "priorities must not be empty");
  }
  for (const auto& f : root["fields"]) {
    FieldSpec spec;
    if (f.IsScalar()) {
      spec.name = Id(f, "field name");
    } else {
      CheckKeys(f, "a field", {"name", "label"});
      spec.name = Id(f["name"], "field name");
      if (f["label"].IsDefined()) spec.label = Scalar(f["label"], "field label");
    }
    if (c->FindField(spec.name)) Fail(f, "field '" + spec.name + "' is declared twice");
    c->fields.push_back(std::move(spec));
  }
  const YAML::Node teams = root["teams"];
  if (!teams.IsSequence() || teams.size() == 0)
    Fail(teams.IsDefined() ? teams : root, "give at least one team under 'teams'");
  for (const auto& t : teams) {
    CheckKeys(t, "a team", {"id", "name", "skills", "needs", "org"});
    Team team;
    team.id = Id(t["id"], "team id");
    if (c->FindTeam(team.id)) Fail(t["id"], "team '" + team.id + "' is declared twice");
    team.name = t["name"].IsDefined() ? Scalar(t["name"], "team name") : team.id;
    team.skills = StringList(t["skills"], "skills");
    team.needs = StringList(t["needs"], "needs");
    for (size_t i = 0; i < team.needs.size(); ++i) {
      if (!c->FindField(team.needs[i])) {
        Fail(t["needs"].IsSequence() ? t["needs"][i] : t["needs"],
             "team '" + team.id + "' needs unknown field '" + team.needs[i] +
                 "' (declare it under 'fields')");
      }
    }
    if (t["org"].IsDefined()) team.org = Scalar(t["org"], "org");
    c->teams.push_back(std::move(team));
  }
  auto check_team = [&](const YAML::Node& node, const std::string& id) {
    if (!c->FindTeam(id)) Fail(node, "unknown team '" + id + "'");
  };
  if (const YAML::Node r = root["routing"]; r.IsDefined()) {
    CheckKeys(r, "routing", {"default_team", "rules"});
    if (r["default_team"].IsDefined()) {
      c->default_team = Scalar(r["default_team"], "default_team");
      check_team(r["default_team"], c->default_team);
    }
    std::set<std::string> ids;
    for (const auto& rn : r["rules"]) {
      CheckKeys(rn, "a routing rule",
                {"id", "team", "keywords", "event_types", "case_types", "attributes"});
      RoutingRule rule;
      rule.id = Id(rn["id"], "rule id");
      if (!ids.insert(rule.id).second) Fail(rn["id"], "rule '" + rule.id + "' is declared twice");
      rule.team = Scalar(rn["team"], "rule team");
      check_team(rn["team"], rule.team);
      rule.keywords = StringList(rn["keywords"], "keywords");
      rule.event_types = StringList(rn["event_types"], "event_types");
      rule.case_types = StringList(rn["case_types"], "case_types");
      if (const YAML::Node a = rn["attributes"]; a.IsDefined()) {
        if (!a.IsMap()) Fail(a, "attributes must be a mapping of name: value");
        for (const auto& kv : a)
          rule.attributes[kv.first.Scalar()] = Scalar(kv.second, "attribute");
      }
      rule.line = rn.Mark().line + 1;
      c->rules.push_back(std::move(rule));
    }
  }
  if (c->default_team.empty()) c->default_team = c->teams.front().id;
  if (const YAML::Node cal = root["calendar"]; cal.IsDefined()) c->calendar = LoadCalendar(cal);
  for (const auto& s : root["sla"]) {
    CheckKeys(s, "an SLA policy",
              {"case_type", "priority", "first_contact", "resolution", "warn_before", "escalate_to",
               "hours"});
    SlaPolicy p;
    p.case_type = s["case_type"].IsDefined() ? Scalar(s["case_type"], "case_type") : "*";
    p.priority = s["priority"].IsDefined() ? Scalar(s["priority"], "priority") : "*";
    if (p.priority != "*" && !c->IsPriority(p.priority)) {
      Fail(s["priority"], "unknown priority '" + p.priority + "'");
    }
    if (s["first_contact"].IsDefined())
      p.first_contact = DurationOf(s["first_contact"], "first_contact");
    if (s["resolution"].IsDefined()) p.resolution = DurationOf(s["resolution"], "resolution");
    if (!p.first_contact && !p.resolution)
      Fail(s, "an SLA policy needs first_contact or resolution");
    if (s["warn_before"].IsDefined()) p.warn_before = DurationOf(s["warn_before"], "warn_before");
    if (s["escalate_to"].IsDefined()) {
      p.escalate_to = Scalar(s["escalate_to"], "escalate_to");
      check_team(s["escalate_to"], p.escalate_to);
    }
    if (s["hours"].IsDefined()) {
      std::string h = Scalar(s["hours"], "hours");
      if (h != "business" && h != "always")
        Fail(s["hours"], "hours must be 'business' or 'always'");
      p.business_hours = h == "business";
    }
    c->slas.push_back(std::move(p));
  }
  if (const YAML::Node f = root["feedback"]; f.IsDefined()) {
    CheckKeys(f, "feedback",
              {"event_types", "rating_fields", "text_fields", "lowest", "scale",
               "negative_at_or_below", "positive_at_or_above", "topics", "negative_words",
               "positive_words", "case_type", "priority_by_rating"});
    FeedbackRules& fr = c->feedback;
    fr.event_types = StringList(f["event_types"], "event_types");
    // Given lists replace the defaults; an empty one would read nothing, which is the silent
    // failure these keys exist to prevent.
    for (auto [key, list] : {std::pair{"rating_fields", &fr.rating_fields},
                             std::pair{"text_fields", &fr.text_fields}}) {
      if (!f[key].IsDefined()) continue;
      *list = StringList(f[key], key);
      if (list->empty()) Fail(f[key], std::string(key) + " must name at least one payload key");
    }
    auto int_of = [](const YAML::Node& n, const std::string& what) {
      try {
        return n.as<int>();
      } catch (const YAML::Exception&) {
        Fail(n, what + " must be a whole number");
      }
    };
    if (f["scale"].IsDefined()) fr.scale = int_of(f["scale"], "scale");
    if (f["lowest"].IsDefined()) fr.lowest = int_of(f["lowest"], "lowest");
    if (fr.lowest >= fr.scale) Fail(f, "lowest must be below scale");
    if (f["negative_at_or_below"].IsDefined())
      fr.negative_at_or_below = int_of(f["negative_at_or_below"], "negative_at_or_below");
    if (f["positive_at_or_above"].IsDefined())
      fr.positive_at_or_above = int_of(f["positive_at_or_above"], "positive_at_or_above");
    if (const YAML::Node t = f["topics"]; t.IsDefined()) {
      if (!t.IsMap()) Fail(t, "topics must map a topic to its keywords");
      for (const auto& kv : t)
        fr.topics.emplace_back(kv.first.Scalar(), StringList(kv.second, "topic keywords"));
    }
    fr.negative_words = StringList(f["negative_words"], "negative_words");
    fr.positive_words = StringList(f["positive_words"], "positive_words");
    if (f["case_type"].IsDefined()) fr.case_type = Scalar(f["case_type"], "case_type");
    if (const YAML::Node p = f["priority_by_rating"]; p.IsDefined()) {
      if (!p.IsMap()) Fail(p, "priority_by_rating must map a rating to a priority");
      for (const auto& kv : p) {
        std::string prio = Scalar(kv.second, "priority");
        if (!c->IsPriority(prio)) Fail(kv.second, "unknown priority '" + prio + "'");
        fr.priority_by_rating[int_of(kv.first, "rating")] = prio;
      }
    }
  }
  std::set<std::string> case_rule_ids;
  for (const auto& r : root["case_rules"]) {
    CheckKeys(r, "a case rule", {"id", "event_types", "type", "priority"});
    CaseRule rule;
    rule.id = Id(r["id"], "case rule id");
    if (!case_rule_ids.insert(rule.id).second) {
      Fail(r["id"], "case rule '" + rule.id + "' is declared twice");
    }
    rule.event_types = StringList(r["event_types"], "event_types");
    if (rule.event_types.empty()) Fail(r, "case rule '" + rule.id + "' needs event_types");
    if (r["type"].IsDefined()) rule.type = Scalar(r["type"], "type");
    if (r["priority"].IsDefined()) {
      rule.priority = Scalar(r["priority"], "priority");
      if (!c->IsPriority(rule.priority))
        Fail(r["priority"], "unknown priority '" + rule.priority + "'");
    }
    c->case_rules.push_back(std::move(rule));
  }
  for (const auto& p : root["preferences"]) {
    CheckKeys(p, "a preference", {"name", "values", "applies_to"});
    PreferenceSpec spec;
    spec.name = Id(p["name"], "preference name");
    spec.values = StringList(p["values"], "values");
    spec.applies_to = StringList(p["applies_to"], "applies_to");
    c->preferences.push_back(std::move(spec));
  }
  return c;
}

}  // namespace

const Team* CasesConfig::FindTeam(std::string_view id) const {
  for (const auto& t : teams)
    if (t.id == id) return &t;
  return nullptr;
}

const FieldSpec* CasesConfig::FindField(std::string_view name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

const PreferenceSpec* CasesConfig::FindPreference(std::string_view name) const {
  for (const auto& p : preferences)
    if (p.name == name) return &p;
  return nullptr;
}

const SlaPolicy* CasesConfig::FindSla(std::string_view type, std::string_view priority) const {
  const SlaPolicy* best = nullptr;
  int best_score = -1;
  for (const auto& p : slas) {
    bool type_ok = p.case_type == type || p.case_type == "*";
    bool prio_ok = p.priority == priority || p.priority == "*";
    if (!type_ok || !prio_ok) continue;
    int score = (p.case_type == type ? 2 : 0) + (p.priority == priority ? 1 : 0);
    if (score > best_score) {
      best = &p;
      best_score = score;
    }
  }
  return best;
}

bool CasesConfig::IsPriority(std::string_view p) const {
  return std::find(priorities.begin(), priorities.end(), p) != priorities.end();
}

bool EventTypeMatches(std::string_view pattern, std::string_view type) {
  if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == ".*") {
    return type.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
  }
  return pattern == "*" || pattern == type;
}

Result<ConfigPtr> LoadConfig(std::string_view yaml, std::string_view file) {
  auto where = [&](const YAML::Mark& m) {
    std::string w(file);
    if (m.line >= 0) w += ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    return w;
  };
  if (auto problem = FindYamlTextProblem(yaml)) {
    return InvalidArgument("the configuration holds " + problem->message,
                           std::string(file) + ":" + std::to_string(problem->line) + ":" +
                               std::to_string(problem->column));
  }
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    auto config = Compile(root);
    config->text = std::string(yaml);
    config->file = std::string(file);
    return ConfigPtr(std::move(config));
  } catch (const ConfigError& e) {
    return InvalidArgument(e.message, where(e.mark));
  } catch (const YAML::Exception& e) {
    return InvalidArgument(e.msg, where(e.mark));
  }
}

std::string_view DefaultConfigYaml() {
  return R"(# Used until `rapport serve --cases FILE` gives a configuration.
fields: [order_id, device, problem_category, description]
teams:
  - id: general
    name: General support
routing:
  default_team: general
feedback:
  event_types: [feedback.submitted, rating.submitted]
  rating_fields: [rating, stars]
  text_fields: [text, comment]
  topics:
    invoice: [rechnung, invoice, finanzamt, tax office, vat, ust, umsatzsteuer, billing]
    delivery: [lieferung, delivery, paket, parcel, versand, shipping, zustell, carrier]
    product: [produkt, product, defekt, broken, kaputt, quality, qualitaet]
    service: [hotline, service, support, mitarbeiter, agent, warteschleife, unfreundlich, rude]
  negative_words: [schlecht, bad, abgelehnt, rejected, aerger, angry, falsch, wrong, nie, never]
  positive_words: [gut, good, great, super, danke, thanks, schnell, fast, zufrieden, happy]
preferences:
  - name: invoice_format
    applies_to: [order.*, invoice.*]
  - name: contact_channel
    applies_to: [order.*]
  - name: language
    applies_to: [order.*]
)";
}

}  // namespace rapport::cases
