// Cases configurations (YAML from users: teams, routing rules, SLAs on business calendars,
// feedback words, preferences). Whatever loads is also used: a text routed and classified
// through it, and the input itself routed through the default configuration, so that the
// rules meet odd but valid configurations and odd customer texts.
#include <cstdint>
#include <string>
#include <string_view>

#include "cases/config.h"
#include "cases/rules.h"
#include "core/text.h"

namespace {

void Exercise(const rapport::cases::CasesConfig& config, std::string_view text) {
  rapport::cases::RoutingInput input;
  input.text = std::string(text);
  input.event_type = "feedback.submitted";
  input.attributes = {{"topic", "invoice"}, {"segment", "business"}};
  auto decision = rapport::cases::Route(config, input);
  if (decision.team.empty()) __builtin_trap();  // every text reaches a team
  (void)decision.ToJson().dump();
  // An SLA clock over the configured calendar: 3 business days from a Saturday night.
  const rapport::Time start = rapport::Time(std::chrono::seconds(1764460800));
  const rapport::Time due = config.calendar.Add(start, std::chrono::hours(72));
  if (due < start || config.calendar.Between(start, due) > std::chrono::hours(72)) {
    __builtin_trap();
  }
  for (std::optional<int> rating : {std::optional<int>(), std::optional<int>(1)}) {
    (void)rapport::cases::ClassifyFeedback(config.feedback, text, rating).ToJson().dump();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = rapport::cases::LoadConfig(text, "fuzz.yaml");
  if (config.ok()) {
    Exercise(**config, "Die Rechnung ist falsch, bitte nicht mehr anrufen");
  } else if (config.status().message().empty()) {
    __builtin_trap();  // rejected without saying why
  }
  static const rapport::cases::ConfigPtr fallback = [] {
    auto c = rapport::cases::LoadConfig(rapport::cases::DefaultConfigYaml(), "default.yaml");
    if (!c.ok()) __builtin_trap();
    return *c;
  }();
  // Customer texts arrive inside JSON bodies, which are UTF-8 by the time they get here.
  if (rapport::IsValidUtf8(text)) Exercise(*fallback, text);
  return 0;
}
