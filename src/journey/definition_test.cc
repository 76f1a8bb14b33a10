// Loading and validating journey definitions: the worked example compiles, and every kind of
// mistake is reported at the file, line and column of the node that causes it.
#include "journey/definition.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace rapport::journey {
namespace {

std::string SourceDir() {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return d ? d : ".";
}

// A small valid definition; tests replace one line to introduce one mistake.
constexpr std::string_view kBase = R"(journey: kit
version: 2
correlation: order_id
start: order.placed
events:
  order.placed: {keys: [order_id]}
  kit.shipped: {keys: [order_id, shipment_id]}
  kit.delivered: {keys: [shipment_id]}
  device.received: {keys: [order_id]}
steps:
  - name: kit_shipped
    completed_by: kit.shipped
  - name: kit_delivered
    completed_by: kit.delivered
  - name: device_received
    completed_by: device.received
actions:
  - name: reminder
    kind: message
    channel: email
    template: send_back
    asks_customer_to: device_received
    requires: [kit.delivered]
    after: 10d from kit.delivered
    repeat: {every: 2d, max: 3}
    params:
      deadline: {date: 14d from kit.delivered}
end_states:
  - name: done
    when: device_received
)";

std::string Replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string s(text);
  size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << "test bug: '" << from << "' not in the base text";
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

struct Pos {
  int line;
  int column;
};

// 1-based line and column of the first occurrence of `needle` (the node we expect blamed).
Pos PositionOf(std::string_view text, std::string_view needle) {
  size_t p = text.find(needle);
  EXPECT_NE(p, std::string::npos) << needle;
  Pos pos{1, 1};
  for (size_t i = 0; i < p; ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

std::vector<Diagnostic> Problems(const std::string& yaml) {
  std::vector<Diagnostic> diags;
  DefinitionPtr def = CompileDefinition(yaml, "bad.yaml", &diags);
  EXPECT_EQ(def, nullptr);
  return diags;
}

// Expects exactly one diagnostic, at `needle`, whose message contains `words`.
void ExpectOneProblemAt(const std::string& yaml, std::string_view needle, std::string_view words) {
  auto diags = Problems(yaml);
  ASSERT_EQ(diags.size(), 1u) << (diags.empty() ? "" : diags[0].ToString() + " ...");
  Pos want = PositionOf(yaml, needle);
  EXPECT_EQ(diags[0].file, "bad.yaml");
  EXPECT_EQ(diags[0].line, want.line) << diags[0].ToString();
  EXPECT_EQ(diags[0].column, want.column) << diags[0].ToString();
  EXPECT_NE(diags[0].message.find(words), std::string::npos) << diags[0].ToString();
}

TEST(DefinitionTest, BaseDefinitionCompiles) {
  std::vector<Diagnostic> diags;
  DefinitionPtr def = CompileDefinition(kBase, "base.yaml", &diags);
  ASSERT_NE(def, nullptr) << (diags.empty() ? "" : diags[0].ToString());
  EXPECT_EQ(def->name(), "kit");
  EXPECT_EQ(def->version(), 2);
  EXPECT_EQ(def->primary_key(), "order_id");
  ASSERT_EQ(def->keys().size(), 2u);
  EXPECT_EQ(def->keys()[1], "shipment_id");
  const ActionSpec& a = def->actions()[0];
  ASSERT_TRUE(a.after.has_value());
  EXPECT_EQ(def->facts()[a.after->fact].name, "kit.delivered");
  EXPECT_EQ(a.after->offset, std::chrono::days(10));
  EXPECT_EQ(a.every, std::chrono::days(2));
  EXPECT_EQ(a.max_occurrences, 3);
  // asks_customer_to becomes an explicit unless guard.
  ASSERT_EQ(a.unless.size(), 1u);
  EXPECT_EQ(def->facts()[a.unless[0]].name, "device_received");
}

TEST(DefinitionTest, ImplicationFollowsStepOrder) {
  auto def = LoadDefinition(kBase, "base.yaml");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  auto f = [&](std::string_view n) { return *(*def)->FindFact(n); };
  EXPECT_TRUE((*def)->Implies(f("kit.delivered"), f("kit_delivered")));
  EXPECT_TRUE((*def)->Implies(f("kit.delivered"), f("kit_shipped")));
  EXPECT_TRUE((*def)->Implies(f("device_received"), f("kit_shipped")));
  EXPECT_FALSE((*def)->Implies(f("kit_shipped"), f("kit_delivered")));
  EXPECT_FALSE((*def)->Implies(f("kit_delivered"), f("kit.delivered")));
}

TEST(DefinitionTest, TradeInExampleCompiles) {
  auto def = LoadDefinitionFile(SourceDir() + "/examples/journeys/trade-in.yaml");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ((*def)->name(), "trade-in");
  auto reminder = (*def)->FindAction("send_back_reminder");
  ASSERT_TRUE(reminder.has_value());
  const ActionSpec& a = (*def)->actions()[*reminder];
  EXPECT_NE(a.asks_customer_to, kNoFact);
  ASSERT_FALSE(a.required.empty());
  EXPECT_EQ((*def)->facts()[a.required[0]].name, "kit.delivered");
  auto lost = (*def)->FindAction("escalate_lost_kit");
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ((*def)->actions()[*lost].audience, Audience::kInternal);
  EXPECT_EQ((*def)->actions()[*lost].after->business_days, 7);
}

TEST(DefinitionTest, DefinitionToJsonNamesGuardsAndTimers) {
  auto def = LoadDefinition(kBase, "base.yaml");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  Json j = DefinitionToJson(**def);
  EXPECT_EQ(j["journey"], "kit");
  EXPECT_EQ(j["start"]["on"], "order.placed");
  ASSERT_EQ(j["actions"].size(), 1u);
  EXPECT_EQ(j["actions"][0]["after"], "10d from kit.delivered");
  EXPECT_EQ(j["actions"][0]["requires"][0], "kit.delivered");
  EXPECT_EQ(j["actions"][0]["asks_customer_to"], "device_received");
  EXPECT_EQ(j["end_states"][0]["when"][0], "device_received");
}

TEST(DefinitionTest, UnknownEventIsReportedAtItsName) {
  std::string y = Replace(kBase, "completed_by: kit.delivered", "completed_by: kit.deliverd");
  ExpectOneProblemAt(y, "kit.deliverd", "unknown event 'kit.deliverd'");
}

TEST(DefinitionTest, UnknownFactIsReportedAtItsName) {
  std::string y = Replace(kBase, "requires: [kit.delivered]", "requires: [kit.arrived]");
  ExpectOneProblemAt(y, "kit.arrived", "unknown fact 'kit.arrived'");
}

TEST(DefinitionTest, UnknownStepIsReportedAtItsName) {
  std::string y =
      Replace(kBase, "asks_customer_to: device_received", "asks_customer_to: device_returned");
  ExpectOneProblemAt(y, "device_returned", "unknown step 'device_returned'");
}

TEST(DefinitionTest, TimerAnchoredToAFactThatCancelsItCannotHappen) {
  std::string y =
      Replace(kBase, "after: 10d from kit.delivered", "after: 10d from device.received");
  ExpectOneProblemAt(y, "10d from device.received", "cannot happen");
}

TEST(DefinitionTest, TimerAnchoredToAnEndStateCannotHappen) {
  std::string y = Replace(kBase, R"(    asks_customer_to: device_received
    requires: [kit.delivered]
    after: 10d from kit.delivered)",
                          R"(    requires: [kit.delivered]
    after: 10d from device_received)");
  ExpectOneProblemAt(y, "10d from device_received", "ends the journey");
}

TEST(DefinitionTest, EventThatCannotReachAnInstanceIsRejected) {
  std::string y = Replace(kBase, "kit.delivered: {keys: [shipment_id]}",
                          "kit.delivered: {keys: [tracking_no]}");
  ExpectOneProblemAt(y, "kit.delivered: {keys", "cannot happen in an instance");
}

TEST(DefinitionTest, AskingTheCustomerToActNeedsRequires) {
  std::string y = Replace(kBase, "    requires: [kit.delivered]\n", "");
  auto diags = Problems(y);
  ASSERT_FALSE(diags.empty());
  Pos action = PositionOf(y, "name: reminder");
  EXPECT_EQ(diags[0].line, action.line);
  EXPECT_EQ(diags[0].column, action.column);
  EXPECT_NE(diags[0].message.find("asks the customer to act"), std::string::npos)
      << diags[0].ToString();
}

TEST(DefinitionTest, DateParamFromAFactThatNeedNotHoldIsRejected) {
  std::string y = Replace(kBase, "deadline: {date: 14d from kit.delivered}",
                          "deadline: {date: 14d from device.received}");
  ExpectOneProblemAt(y, "{date: 14d from device.received}", "need not hold");
}

TEST(DefinitionTest, DuplicateActionNameIsRejected) {
  std::string y = std::string(kBase) + R"(actions2: x
)";
  // Unknown top-level field first, to show that several problems are all reported.
  auto diags = Problems(y);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("unknown field 'actions2'"), std::string::npos);
  std::string dup = Replace(kBase, "end_states:", R"(  - name: reminder
    kind: task
    queue: agents
end_states:)");
  auto d2 = Problems(dup);
  ASSERT_EQ(d2.size(), 1u);
  Pos second = PositionOf(dup, "reminder\n    kind: task");
  EXPECT_EQ(d2[0].line, second.line);
  EXPECT_EQ(d2[0].column, second.column);
  EXPECT_NE(d2[0].message.find("duplicate name 'reminder'"), std::string::npos);
}

TEST(DefinitionTest, DuplicateEventTypeIsRejected) {
  std::string y =
      Replace(kBase, "  device.received: {keys: [order_id]}\n",
              "  device.received: {keys: [order_id]}\n  kit.shipped: {keys: [order_id]}\n");
  ExpectOneProblemAt(y, "kit.shipped: {keys: [order_id]}", "duplicate name 'kit.shipped'");
}

TEST(DefinitionTest, StepNamedLikeAnEventIsADuplicate) {
  std::string y = Replace(kBase, "  - name: kit_shipped", "  - name: kit.shipped");
  // completed_by of kit_shipped is fine, but the name collides with the event type.
  auto diags = Problems(y);
  ASSERT_FALSE(diags.empty());
  Pos want = PositionOf(y, "kit.shipped\n    completed_by");
  EXPECT_EQ(diags[0].line, want.line);
  EXPECT_EQ(diags[0].column, want.column);
  EXPECT_NE(diags[0].message.find("duplicate name"), std::string::npos);
}

TEST(DefinitionTest, BadDurationIsReportedAtTheValue) {
  std::string y = Replace(kBase, "after: 10d from kit.delivered", "after: 10x from kit.delivered");
  ExpectOneProblemAt(y, "10x from", "not a duration: '10x'");
  std::string every = Replace(kBase, "every: 2d", "every: soon");
  ExpectOneProblemAt(every, "soon", "repeat.every");
}

TEST(DefinitionTest, UnboundedRepetitionIsRejected) {
  std::string y = Replace(kBase, "repeat: {every: 2d, max: 3}", "repeat: {every: 2d}");
  ExpectOneProblemAt(y, "{every: 2d}", "repeat needs 'max'");
}

TEST(DefinitionTest, YamlSyntaxErrorHasLineAndColumn) {
  std::string y = Replace(kBase, "events:\n", "events:\n  bad: [unclosed\n");
  auto diags = Problems(y);
  ASSERT_FALSE(diags.empty());
  EXPECT_GT(diags[0].line, 0);
  EXPECT_GT(diags[0].column, 0);
  EXPECT_NE(diags[0].message.find("YAML"), std::string::npos);
}

// Names from the definition end up in JSON answers and counterexamples, which must be UTF-8
// (journey_fuzzer crashed the serializer with a byte 0xFF in an event name).
TEST(DefinitionTest, TextThatIsNotUtf8IsRefusedAtItsPosition) {
  std::string y = Replace(kBase, "requires: [kit.delivered]", "requires: [kit.deliver\xFF]");
  ExpectOneProblemAt(y, "\xFF", "not UTF-8");
  ExpectOneProblemAt(Replace(kBase, "version: 2", std::string("version: 2\0", 11)),
                     std::string_view("\0", 1), "control character 0");
}

TEST(DefinitionTest, LoadDefinitionNamesFileLineAndColumn) {
  std::string y = Replace(kBase, "requires: [kit.delivered]", "requires: [kit.arrived]");
  auto r = LoadDefinition(y, "trade.yaml");
  ASSERT_FALSE(r.ok());
  Pos p = PositionOf(y, "kit.arrived");
  EXPECT_EQ(r.status().where(),
            "trade.yaml:" + std::to_string(p.line) + ":" + std::to_string(p.column));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(DefinitionTest, MissingVersionIsRejected) {
  std::string y = Replace(kBase, "version: 2\n", "");
  auto diags = Problems(y);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("missing 'version'"), std::string::npos);
}

// Untrusted YAML never crashes or throws: every prefix of the example and a few hundred
// deterministic byte mutations give a definition or positioned diagnostics.
TEST(DefinitionTest, NeverThrowsOnTruncatedOrMangledText) {
  std::ifstream in(SourceDir() + "/examples/journeys/trade-in.yaml");
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  ASSERT_FALSE(text.empty());
  auto check = [](const std::string& y) {
    std::vector<Diagnostic> diags;
    DefinitionPtr def = CompileDefinition(y, "m.yaml", &diags);
    EXPECT_TRUE(def != nullptr || !diags.empty());
    for (const auto& d : diags) EXPECT_FALSE(d.message.empty());
  };
  for (size_t n = 0; n < text.size(); n += 13) check(text.substr(0, n));
  std::mt19937 rng(42);
  const std::string alphabet = ":-[]{},#&*!|>'\"%@` \nabc0123.";
  for (int i = 0; i < 400; ++i) {
    std::string y = text;
    for (int k = 0; k < 3; ++k) y[rng() % y.size()] = alphabet[rng() % alphabet.size()];
    check(y);
  }
}

TEST(BusinessCalendarTest, SkipsWeekendsAndHolidays) {
  using namespace std::chrono;
  BusinessCalendar cal;
  sys_days friday = 2026y / November / 20;
  Time fri_10 = friday + hours(10);
  // One business day after Friday is Monday, same time of day.
  EXPECT_EQ(cal.AddBusinessDays(fri_10, 1), friday + days(3) + hours(10));
  cal.AddHoliday(friday + days(3));
  EXPECT_EQ(cal.AddBusinessDays(fri_10, 1), friday + days(4) + hours(10));
  EXPECT_EQ(cal.AddBusinessDays(fri_10, 0), fri_10);
}

TEST(BusinessCalendarTest, KeepsTheLocalTimeOfDayAcrossDaylightSavingChanges) {
  using namespace std::chrono;
  BusinessCalendar cal;
  cal.SetZone(*timezone::Zone::Parse("Europe/Berlin"));
  // Friday 2026-03-27 10:00 CET (09:00Z) + 1 business day = Monday 10:00 CEST (08:00Z): 71 h.
  Time fri = sys_days(2026y / March / 27) + hours(9);
  EXPECT_EQ(cal.AddBusinessDays(fri, 1), sys_days(2026y / March / 30) + hours(8));
  // Friday 2026-10-23 10:00 CEST (08:00Z) + 1 = Monday 10:00 CET (09:00Z): 73 h.
  Time fri_oct = sys_days(2026y / October / 23) + hours(8);
  EXPECT_EQ(cal.AddBusinessDays(fri_oct, 1), sys_days(2026y / October / 26) + hours(9));
  // The local day decides: 23:30Z on Friday is already Saturday 00:30 in Berlin, so the next
  // business day is Monday 00:30 local, not Monday 23:30Z as in UTC.
  Time fri_late = sys_days(2026y / November / 20) + hours(23) + minutes(30);
  EXPECT_EQ(cal.AddBusinessDays(fri_late, 1),
            sys_days(2026y / November / 22) + hours(23) + minutes(30));
  // Holidays are local days too.
  cal.AddHoliday(sys_days(2026y / March / 30));
  EXPECT_EQ(cal.AddBusinessDays(fri, 1), sys_days(2026y / March / 31) + hours(8));
}

TEST(DefinitionTest, OpenCaseActionNeedsItsCaseType) {
  const std::string lost_kit = R"(  - name: lost_kit
    kind: open_case
    case: {type: lost_kit, team: logistics, priority: high}
    after: 7d from kit.shipped
    unless: [kit_delivered]
    params:
      problem_category: lost kit
end_states:)";
  std::string y = Replace(kBase, "end_states:", lost_kit);
  auto def = LoadDefinition(y, "base.yaml");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  const ActionSpec& a = (*def)->actions()[*(*def)->FindAction("lost_kit")];
  EXPECT_EQ(a.kind, ActionKind::kOpenCase);
  EXPECT_EQ(a.audience, Audience::kInternal);
  ASSERT_TRUE(a.open_case);
  EXPECT_EQ(a.open_case->type, "lost_kit");
  EXPECT_EQ(a.open_case->team, "logistics");
  EXPECT_EQ(a.open_case->priority, "high");
  ExpectOneProblemAt(Replace(y, "{type: lost_kit, team: logistics, priority: high}",
                             "{team: logistics, priority: high}"),
                     "{team: logistics", "needs a 'type'");
  ExpectOneProblemAt(Replace(y, "priority: high}", "priority: high, colour: red}"), "colour",
                     "colour");
  ExpectOneProblemAt(
      Replace(y, "    case: {type: lost_kit, team: logistics, priority: high}\n", ""),
      "name: lost_kit", "open_case needs 'case'");
  ExpectOneProblemAt(
      Replace(kBase, "    template: send_back\n", "    template: send_back\n    case: {type: x}\n"),
      "{type: x}", "belongs to an action of kind open_case");
}

TEST(DefinitionTest, CalendarTimeZoneIsLoadedAndCheckedAtItsPosition) {
  std::string y = Replace(kBase, "events:\n", "calendar:\n  time_zone: Europe/Berlin\nevents:\n");
  auto def = LoadDefinition(y, "base.yaml");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ((*def)->calendar().zone().name(), "Europe/Berlin");
  std::string bad = Replace(kBase, "events:\n", "calendar:\n  time_zone: Mars/Olympus\nevents:\n");
  ExpectOneProblemAt(bad, "Mars/Olympus", "unknown time zone");
}

}  // namespace
}  // namespace rapport::journey
