// The configuration of cases: fields an agent may collect, teams with their skills, routing
// rules, SLA policies, the business calendar, feedback classification and the preferences a
// customer can have. Loaded from YAML (examples/cases/cases.yaml); every problem is reported
// as "file:line:column: message" at the YAML node that causes it.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cases/calendar.h"
#include "core/clock.h"
#include "core/status.h"

namespace rapport::cases {

struct FieldSpec {
  std::string name;   // e.g. "device", "order_id", "problem_category"
  std::string label;  // for the agent's view
};

struct Team {
  std::string id;
  std::string name;
  std::vector<std::string> skills;
  std::vector<std::string> needs;  // fields this team works with (the view shows the missing)
  std::string org;                 // a partner organisation's team; "" for our own staff
};

// A rule matches when every condition it names holds; the first matching rule picks the team.
struct RoutingRule {
  std::string id;
  std::string team;
  std::vector<std::string> keywords;     // any, normalized (German and English), word-prefix
  std::vector<std::string> event_types;  // any; "order.*" matches a prefix
  std::vector<std::string> case_types;   // any
  std::map<std::string, std::string> attributes;  // all, exact (after normalization)
  int line = 0;                                   // where the rule is written, for the reason
};

struct SlaPolicy {
  std::string case_type;  // "*" for any
  std::string priority;   // "*" for any
  std::optional<Duration> first_contact;
  std::optional<Duration> resolution;
  Duration warn_before{0};
  std::string escalate_to;     // team that takes over a breached case ("" keeps the team)
  bool business_hours = true;  // false: counted around the clock
};

struct FeedbackRules {
  std::vector<std::string> event_types;  // events that carry ratings / free text
  // The payload keys read, first present wins: senders name a rating "rating" or "stars"
  // (the demo's shop does), and a key nobody reads would silently open nothing.
  std::vector<std::string> rating_fields = {"rating", "stars"};
  std::vector<std::string> text_fields = {"text", "comment"};
  int lowest = 1;  // a rating outside lowest..scale is refused, not clamped
  int scale = 5;
  int negative_at_or_below = 2;
  int positive_at_or_above = 4;
  // topic → keywords, in order (a tie goes to the topic listed first).
  std::vector<std::pair<std::string, std::vector<std::string>>> topics;
  std::vector<std::string> negative_words;
  std::vector<std::string> positive_words;
  std::string case_type = "feedback";
  std::map<int, std::string> priority_by_rating;  // rating → priority
};

// Events that open a case (besides negative feedback), e.g. a journey's escalation event.
struct CaseRule {
  std::string id;
  std::vector<std::string> event_types;  // any; "journey.*" matches a prefix
  std::string type = "inquiry";
  std::string priority = "normal";
};

struct PreferenceSpec {
  std::string name;                     // e.g. "invoice_format"
  std::vector<std::string> values;      // allowed values; empty: any text
  std::vector<std::string> applies_to;  // event types it annotates ("order.*")
};

struct CasesConfig {
  std::vector<FieldSpec> fields;
  std::vector<Team> teams;
  std::string default_team;
  std::vector<RoutingRule> rules;
  std::vector<SlaPolicy> slas;
  BusinessCalendar calendar = BusinessCalendar::AlwaysOpen();
  FeedbackRules feedback;
  std::vector<PreferenceSpec> preferences;
  std::vector<CaseRule> case_rules;  // the first matching rule opens the case
  std::vector<std::string> priorities = {"low", "normal", "high", "urgent"};
  std::string text;  // the YAML it was loaded from
  std::string file;

  const Team* FindTeam(std::string_view id) const;
  const FieldSpec* FindField(std::string_view name) const;
  const PreferenceSpec* FindPreference(std::string_view name) const;
  // The first policy for (type, priority), exact before "*"; nullptr if none.
  const SlaPolicy* FindSla(std::string_view case_type, std::string_view priority) const;
  bool IsPriority(std::string_view p) const;
};
using ConfigPtr = std::shared_ptr<const CasesConfig>;

// kInvalidArgument with where = "file:line:column" naming the first problem.
Result<ConfigPtr> LoadConfig(std::string_view yaml, std::string_view file);
// The configuration used until one is given: one team "general", the default feedback words.
std::string_view DefaultConfigYaml();

// "order.*" matches "order.placed"; anything else matches exactly.
bool EventTypeMatches(std::string_view pattern, std::string_view type);

}  // namespace rapport::cases
