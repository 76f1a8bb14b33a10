// An in-memory driver for journey instances: many instances keyed by journey and correlation
// key, a timer queue and an outbox, all on an injected Clock. Used by `rapport journey run`, the
// unit tests, the simulator and the benchmark. The server keeps the same data in the store and
// calls the step functions of instance.h itself; this class is the reference for how to do that.
//
// Thread-safety: none; use one Runtime per thread (the simulator shards customers by key).
// Ownership: the Runtime keeps every deployed definition alive for as long as it exists.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/model.h"
#include "core/status.h"
#include "journey/definition.h"
#include "journey/instance.h"

namespace rapport::journey {

struct RuntimeOptions {
  bool record_timeline = true;  // keep every timeline entry (timeline())
  bool keep_outbox = true;      // keep every outbox action (outbox())
  // Parked events whose instance did not appear within this time are dropped (RunDue sweeps
  // once per clock day), so keys that never start a journey do not grow memory for ever.
  Duration park_for = std::chrono::days(30);
};

// A timeline entry together with the instance it belongs to.
struct RecordedEntry {
  std::string journey;
  std::string key;
  TimelineEntry entry;
};

class Runtime {
 public:
  explicit Runtime(const Clock& clock, RuntimeOptions options = {});
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Deploys a definition. New instances of its journey use the highest deployed version;
  // running instances stay on theirs. kAlreadyExists if this name and version is deployed with
  // a different text; kInvalidArgument if the correlation key differs from earlier versions.
  Status Deploy(DefinitionPtr def);

  // Routes one event to every journey that declares its type, at clock.Now():
  //  - with the correlation key: to that instance, creating it if it is a start event;
  //  - with an alias key only (e.g. shipment_id): to the instance that learnt that key;
  //  - otherwise the event is parked and applied as soon as an instance starts or learns the key
  //    (so "kit.delivered" before "kit.label_created" is kept, not lost), for park_for at most.
  //    A start event whose payload does not match start.where is not parked: it starts nothing.
  // It does not run due timers: after downtime, ingest the backlog first and then RunDue(), so
  // overdue timers are decided on the facts known now. kInvalidArgument for an event without id.
  Status Ingest(const Event& e);

  // Decides every timer due at or before clock.Now(), earliest first. Returns how many were
  // processed.
  size_t RunDue();
  // The earliest pending timer, if any.
  std::optional<Time> NextDue();

  // nullptr when there is no such instance.
  const InstanceState* Find(std::string_view journey, std::string_view key) const;
  const JourneyDefinition* DefinitionOf(std::string_view journey, std::string_view key) const;
  // StateToJson of one instance; kNotFound if absent.
  Result<Json> InstanceJson(std::string_view journey, std::string_view key) const;
  // Calls f(definition, state) for every instance, in creation order.
  template <typename F>
  void ForEachInstance(F&& f) const {
    for (const auto& i : instances_) f(*i.def, i.state);
  }

  size_t instance_count() const { return instances_.size(); }
  size_t pending_timers() const { return live_timers_; }
  size_t parked_events() const { return parked_count_; }
  size_t dropped_parked_events() const { return dropped_parked_; }
  uint64_t events_ingested() const { return events_ingested_; }

  std::vector<OutboxAction>& outbox() { return outbox_; }
  // A deque: entries stay where they are while the timeline grows.
  std::deque<RecordedEntry>& timeline() { return timeline_; }

 private:
  struct Instance {
    const JourneyDefinition* def;
    InstanceState state;
  };
  struct Parked {
    Time at;  // clock time when parked
    Event event;
  };
  struct Journey {
    std::vector<DefinitionPtr> versions;  // ascending
    StringMap<uint32_t> by_key;
    StringMap<uint32_t> by_alias;           // "key\x1fvalue"
    StringMap<std::vector<Parked>> parked;  // "key\x1fvalue"
  };
  struct TimerEntry {
    int64_t due_us;
    uint32_t instance;
    ActionId action;
    uint16_t occurrence;
    bool operator>(const TimerEntry& o) const {
      return due_us != o.due_us ? due_us > o.due_us : instance > o.instance;
    }
  };
  struct Work {
    Journey* journey;
    Event event;
  };

  Status Deliver(Journey& j, const Event& e, std::deque<Work>* more);
  void Absorb(Journey& j, uint32_t instance, std::deque<Work>* more);
  void Park(Journey& j, const std::string& slot, const Event& e);
  void Unpark(Journey& j, const std::string& slot, std::deque<Work>* more);
  bool Pending(const TimerEntry& t) const;
  void SweepParked(Time now);

  const Clock& clock_;
  RuntimeOptions options_;
  std::map<std::string, Journey, std::less<>> journeys_;
  std::vector<Instance> instances_;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  size_t live_timers_ = 0;
  size_t parked_count_ = 0;
  size_t dropped_parked_ = 0;
  Time last_sweep_{};
  uint64_t events_ingested_ = 0;
  Effects fx_;
  std::vector<OutboxAction> outbox_;
  std::deque<RecordedEntry> timeline_;
};

}  // namespace rapport::journey
