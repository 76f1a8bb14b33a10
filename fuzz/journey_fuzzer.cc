// Journey definitions and deviation models (YAML from users). The input is compiled as a
// definition and, against the trade-in journey, as a deviation model; whatever compiles is
// also checked (bounded) and simulated, so that the checker and the simulator meet odd but
// valid definitions and models too.
#include <cstdint>
#include <string_view>
#include <vector>

#include "journey/definition.h"
#include "journey/verify/check.h"
#include "journey/verify/deviations.h"
#include "journey/verify/simulate.h"

namespace {

// examples/journeys/trade-in.yaml without comments and calendar, so the fuzzer needs no file.
constexpr std::string_view kTradeIn = R"(journey: trade-in
version: 1
correlation: order_id
start: {on: order.placed, where: {trade_in: true}}
events:
  order.placed: {keys: [order_id]}
  kit.label_created: {keys: [order_id, shipment_id]}
  kit.picked_up: {keys: [shipment_id]}
  kit.delivered: {keys: [shipment_id]}
  device.shipped: {keys: [order_id]}
  device.received: {keys: [order_id]}
  device.inspected: {keys: [order_id]}
  payout.made: {keys: [order_id]}
  order.cancelled: {keys: [order_id]}
steps:
  - {name: ordered, completed_by: order.placed}
  - {name: kit_shipped, completed_by: kit.label_created}
  - {name: kit_picked_up, completed_by: kit.picked_up}
  - {name: kit_delivered, completed_by: kit.delivered}
  - {name: device_sent, completed_by: device.shipped}
  - {name: device_received, completed_by: device.received}
  - {name: device_inspected, completed_by: device.inspected}
  - {name: paid, completed_by: payout.made}
actions:
  - {name: confirm_trade_in, kind: message, channel: email, template: c, requires: [ordered]}
  - {name: create_return_label, kind: webhook, url: "https://x/l", requires: [ordered],
     unless: [kit_shipped]}
  - name: send_back_reminder
    kind: message
    channel: email
    template: r
    asks_customer_to: device_sent
    requires: [kit.delivered]
    after: 10d from kit.delivered
    repeat: {every: 2d, max: 2}
    expires: 2d
    params: {deadline: {date: 14d from kit.delivered}}
  - {name: escalate_lost_kit, kind: task, queue: q, after: 7 business days from kit.label_created,
     unless: [kit_delivered]}
  - {name: request_payout, kind: webhook, url: "https://x/p", requires: [device_inspected],
     unless: [paid]}
end_states:
  - {name: completed, when: paid}
  - {name: cancelled, when: order.cancelled, outcome: failure}
)";

void Exercise(const rapport::journey::JourneyDefinition& def,
              const rapport::journey::DeviationModel& model) {
  rapport::journey::CheckOptions check;
  check.max_states = 2000;
  auto report = rapport::journey::CheckJourney(def, model, check);
  (void)rapport::journey::CheckReportToText(def, report);
  for (const auto& v : report.violations) (void)rapport::journey::CounterexampleNdjson(v);
  rapport::journey::SimulateOptions sim;
  sim.customers = 3;
  auto s = rapport::journey::Simulate(def, model, sim);
  if (s.customers != 3) __builtin_trap();
  (void)rapport::journey::SimulateReportToSvg(def, s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<rapport::journey::Diagnostic> diags;
  auto def = rapport::journey::CompileDefinition(text, "fuzz.yaml", &diags);
  if (def) {
    if (!diags.empty()) __builtin_trap();  // compiled means no problems
    Exercise(*def, rapport::journey::DefaultDeviations(*def));
  } else if (diags.empty()) {
    __builtin_trap();  // rejected without saying why
  }
  static const rapport::journey::DefinitionPtr trade_in = [] {
    std::vector<rapport::journey::Diagnostic> d;
    return rapport::journey::CompileDefinition(kTradeIn, "trade-in.yaml", &d);
  }();
  if (!trade_in) __builtin_trap();
  diags.clear();
  auto model = rapport::journey::CompileDeviations(*trade_in, text, "fuzz.yaml", &diags);
  if (model) {
    Exercise(*trade_in, *model);
  } else if (diags.empty()) {
    __builtin_trap();
  }
  return 0;
}
