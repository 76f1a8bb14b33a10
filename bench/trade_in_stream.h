// The trade-in event stream shared by the journey benchmarks (runtime in memory, service on
// SQLite).
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/model.h"

namespace rapport::bench {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::seconds;

inline const Time kStart = ParseTime("2026-11-02T09:00:00Z").value();

inline Event Ev(std::string id, const char* type, Fields keys, Time t) {
  Event e;
  e.id = std::move(id);
  e.type = type;
  e.keys = std::move(keys);
  e.occurred_at = t;
  e.received_at = t;
  return e;
}

// The whole trade-in of `customers` customers starting one second apart, sorted by time:
// 9 events each (one duplicate delivery scan); every fifth customer sends the device late, so
// reminders fire; the others cancel them.
inline std::vector<Event> TradeInStream(int customers) {
  std::vector<Event> out;
  out.reserve(static_cast<size_t>(customers) * 9);
  for (int i = 0; i < customers; ++i) {
    std::string o = "O-" + std::to_string(i), sh = "S-" + std::to_string(i);
    Time t = kStart + seconds(i);
    Time device = t + (i % 5 == 0 ? days(13) : days(5));
    Event placed = Ev(o + "a", "order.placed", {{"order_id", o}}, t);
    placed.payload = {{"trade_in", true}};
    out.push_back(std::move(placed));
    out.push_back(
        Ev(o + "b", "kit.label_created", {{"order_id", o}, {"shipment_id", sh}}, t + hours(6)));
    out.push_back(Ev(o + "c", "kit.picked_up", {{"shipment_id", sh}}, t + days(1)));
    out.push_back(Ev(o + "d", "kit.delivered", {{"shipment_id", sh}}, t + days(2)));
    out.push_back(Ev(o + "d", "kit.delivered", {{"shipment_id", sh}}, t + days(2) + hours(1)));
    out.push_back(Ev(o + "e", "device.shipped", {{"order_id", o}}, device));
    out.push_back(Ev(o + "f", "device.received", {{"order_id", o}}, device + days(2)));
    out.push_back(Ev(o + "g", "device.inspected", {{"order_id", o}}, device + days(3)));
    out.push_back(Ev(o + "h", "payout.made", {{"order_id", o}}, device + days(4)));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Event& a, const Event& b) { return a.received_at < b.received_at; });
  return out;
}

}  // namespace rapport::bench
