// Many synthetic customers through the real Runtime (see simulate.h). World events wait in one
// time-ordered queue; the runtime's timers run in between with the replay rule (an event at a
// timer's due time is applied first). Each action the runtime fires is judged against what
// really happened to that customer, and may cause world events (a label, a payout).
#include "journey/verify/simulate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <memory>
#include <queue>
#include <sstream>

#include "journey/instance.h"
#include "journey/runtime.h"
#include "journey/verify/check.h"

namespace rapport::journey {
namespace {

// Flag(c, i) marks the anomaly kNames[i].
constexpr const char* kNames[] = {kAnomalyPremature, kAnomalyShortDeadline, kAnomalyDuplicate,
                                  kAnomalyAfterDone, kAnomalyRaced,         kAnomalySilentWait,
                                  kAnomalyNotEnded,  kAnomalyBrokenPromise};

constexpr int64_t kNever = INT64_MAX;
constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kDayUs = 86'400'000'000;

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

enum Purpose : uint64_t { kStart = 1, kHappens, kDelay, kMissing, kLate, kDup, kDupLate };

struct Item {
  int64_t at;
  uint64_t seq;
  uint32_t customer;
  uint16_t entry;
  uint8_t kind;  // 0 occurs, 1 received
  uint8_t copy;
  int64_t occurred;
  bool operator>(const Item& o) const {
    if (at != o.at) return at > o.at;
    if (kind != o.kind) return kind > o.kind;
    return seq > o.seq;
  }
};

class Simulator {
 public:
  Simulator(const JourneyDefinition& def, const DeviationModel& m, const SimulateOptions& o)
      : def_(def), m_(m), o_(o) {
    ne_ = m.events.size();
    na_ = def.actions().size();
    entry_of_fact_.assign(def.facts().size(), -1);
    for (size_t i = 0; i < ne_; ++i) entry_of_fact_[m.events[i].fact] = static_cast<int>(i);
  }

  SimulateReport Run();

 private:
  double Uniform(uint32_t c, uint64_t entry, Purpose p) const {
    uint64_t h = Mix(o_.seed ^ Mix(c + 1) ^ Mix((entry + 1) * 1315423911ULL + p));
    return static_cast<double>(h >> 11) * 0x1.0p-53;
  }
  int64_t Draw(int64_t lo, int64_t hi, double u) const {
    if (hi <= lo) return lo;
    int64_t span = (hi - lo) / kMinute;  // whole minutes, so that times stay readable
    if (span == 0) return lo + static_cast<int64_t>(u * static_cast<double>(hi - lo));
    return lo + kMinute * std::min<int64_t>(span, static_cast<int64_t>(u * (span + 1)));
  }
  void Push(Item it) {
    it.seq = seq_++;
    q_.push(it);
  }
  void Cause(uint32_t c, bool by_action, uint16_t id, int64_t t);
  void Occur(const Item& it);
  void Receive(const Item& it);
  void Drain();
  void Judge(uint32_t c, const OutboxAction& o, ActionId id);
  // Keeps customer c as a sample of each anomaly it had, up to three per anomaly.
  void Sample(uint32_t c, const InstanceState& s, SimulateReport& r);
  void Flag(uint32_t c, int anomaly) { anomalies_[size_t{c} * kAnomalies + anomaly] = 1; }
  int64_t& Occurred(uint32_t c, size_t e) { return occurred_[c * ne_ + e]; }
  int64_t& Received(uint32_t c, size_t e) { return received_[c * ne_ + e]; }
  int64_t& FirstFired(uint32_t c, size_t a) { return first_fired_[c * na_ + a]; }
  // By event fact: kNever if the model does not make it happen.
  int64_t OccurredFact(uint32_t c, FactId f) {
    return entry_of_fact_[f] < 0 ? kNever : Occurred(c, static_cast<size_t>(entry_of_fact_[f]));
  }
  int64_t ReceivedFact(uint32_t c, FactId f) {
    return entry_of_fact_[f] < 0 ? kNever : Received(c, static_cast<size_t>(entry_of_fact_[f]));
  }
  int16_t& LastOcc(uint32_t c, size_t a) { return last_occ_[c * na_ + a]; }

  static constexpr int kAnomalies = std::size(kNames);

  const JourneyDefinition& def_;
  const DeviationModel& m_;
  SimulateOptions o_;
  // One runtime per chunk of customers: they do not interact, and a small runtime keeps its
  // maps and timer heap in cache (1,000,000 customers in one took 5x longer than in chunks).
  static constexpr uint32_t kChunk = 10000;
  std::unique_ptr<ManualClock> clock_holder_;
  std::unique_ptr<Runtime> rt_holder_;
  ManualClock* clock_ = nullptr;
  Runtime* rt_ = nullptr;
  uint64_t events_ = 0;
  size_t ne_ = 0, na_ = 0;
  std::vector<int> entry_of_fact_;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> q_;
  uint64_t seq_ = 0;
  std::vector<int64_t> occurred_, received_, first_fired_, start_;
  std::vector<int16_t> last_occ_;
  std::vector<uint8_t> anomalies_, faults_, sent_since_event_;
  uint64_t actions_ = 0;
};

void Simulator::Cause(uint32_t c, bool by_action, uint16_t id, int64_t t) {
  for (size_t i = 0; i < ne_; ++i) {
    const EventModel& em = m_.events[i];
    if (by_action) {
      if (em.after_action != id) continue;
    } else {
      // Caused by events: once the last of them occurred (this one).
      const auto& causes = em.after_events;
      if (std::find(causes.begin(), causes.end(), id) == causes.end()) continue;
      if (!std::all_of(causes.begin(), causes.end(),
                       [&](FactId f) { return OccurredFact(c, f) != kNever; })) {
        continue;
      }
    }
    if (em.optional && Uniform(c, i, kHappens) >= em.probability) continue;
    if (em.lost && Uniform(c, i, kHappens) < em.weight) {
      faults_[c] = 1;
      continue;
    }
    int64_t at;
    double u = Uniform(c, i, kDelay);
    if (em.business_days) {
      int days = em.min_days + std::min(em.max_days - em.min_days,
                                        static_cast<int>(u * (em.max_days - em.min_days + 1)));
      at = ToMicros(days == 0 ? FromMicros(t)
                              : def_.calendar().AddBusinessDays(FromMicros(t), days));
    } else {
      at = t + Draw(em.min_delay.count(), em.max_delay.count(), u);
    }
    Push({at, 0, c, static_cast<uint16_t>(i), 0, 0, at});
  }
}

void Simulator::Occur(const Item& it) {
  const EventModel& em = m_.events[it.entry];
  uint32_t c = it.customer;
  if (Occurred(c, it.entry) == kNever) Occurred(c, it.entry) = it.at;
  Cause(c, false, em.fact, it.at);
  if (em.missing && Uniform(c, it.entry, kMissing) < em.weight) {
    faults_[c] = 1;
    return;
  }
  int64_t late = Draw(em.min_late.count(), em.max_late.count(), Uniform(c, it.entry, kLate));
  Push({it.at + late, 0, c, it.entry, 1, 0, it.at});
  if (em.duplicate && Uniform(c, it.entry, kDup) < em.weight) {
    int64_t again =
        Draw(em.min_late.count(), em.max_late.count() + kDayUs, Uniform(c, it.entry, kDupLate));
    Push({it.at + again, 0, c, it.entry, 1, 1, it.at});
  }
}

void Simulator::Receive(const Item& it) {
  uint32_t c = it.customer;
  if (Received(c, it.entry) == kNever) Received(c, it.entry) = it.at;
  // Only an event that adds a fact starts a new wait (as in check): a second report, or one
  // parked before the instance can take it, leaves the wait as it was told about.
  const std::string key = "C-" + std::to_string(c);
  Event e = ModelEvent(def_, m_.events[it.entry].fact, key, it.copy + 1, FromMicros(it.occurred),
                       FromMicros(it.at));
  const InstanceState* s = rt_->Find(def_.name(), key);
  size_t before = s ? s->facts.size() : 0;
  bool existed = s != nullptr;
  (void)rt_->Ingest(e);  // refusals cannot happen for model events; nothing to report
  s = rt_->Find(def_.name(), key);
  if (!existed || !s || s->facts.size() != before) sent_since_event_[c] = 0;
  Drain();
}

void Simulator::Judge(uint32_t c, const OutboxAction& o, ActionId id) {
  const ActionSpec& a = def_.actions()[id];
  if (LastOcc(c, id) >= static_cast<int>(o.occurrence)) Flag(c, 2);
  LastOcc(c, id) = static_cast<int16_t>(o.occurrence);
  if (a.audience != Audience::kCustomer) return;
  int64_t now = ToMicros(clock_->Now());
  if (a.promise) {
    int64_t from =
        def_.HoldsSince(a.promise->fact, kNever, [&](FactId e) { return OccurredFact(c, e); });
    if (from <= now) {
      Time promised = def_.Resolve(*a.promise, FromMicros(from));
      for (const ParamSpec& p : a.params) {
        auto it = p.date ? o.params.find(p.name) : o.params.end();
        if (it == o.params.end() || !it->is_string()) continue;
        auto told = ParseTime(it->get<std::string>());
        if (told.ok() && *told < promised) Flag(c, 7);
      }
    }
  }
  FactId asks = m_.asks[id];
  if (asks == kNoFact) return;
  // When the customer could act (as check judges it).
  std::optional<int64_t> able = m_.AbleSince<int64_t>(
      def_, asks, [&](FactId f) { return OccurredFact(c, f); },
      [&](ActionId action) { return FirstFired(c, action); });
  if (able && *able > now) Flag(c, 0);
  int64_t done = def_.HoldsSince(asks, kNever, [&](FactId e) { return ReceivedFact(c, e); });
  if (done <= now) {
    Flag(c, 3);
  } else if (def_.HoldsSince(asks, kNever, [&](FactId e) { return OccurredFact(c, e); }) <= now) {
    Flag(c, 4);
  }
  if (!able || *able == kNever) return;
  for (const ParamSpec& p : a.params) {
    if (!p.date) continue;
    auto it = o.params.find(p.name);
    if (it == o.params.end() || !it->is_string()) continue;
    auto told = ParseTime(it->get<std::string>());
    if (told.ok() && *told < def_.Resolve(*p.date, FromMicros(*able))) Flag(c, 1);
  }
}

void Simulator::Sample(uint32_t c, const InstanceState& s, SimulateReport& r) {
  std::optional<SampleCustomer> sample;
  for (int a = 0; a < kAnomalies; ++a) {
    if (!anomalies_[size_t{c} * kAnomalies + a]) continue;
    auto& list = r.samples[kNames[a]];
    if (list.size() >= 3) continue;
    if (!sample) {
      std::vector<std::pair<int64_t, std::string>> lines;
      for (size_t i = 0; i < ne_; ++i) {
        int64_t occurred = Occurred(c, i);
        if (occurred == kNever) continue;
        int64_t received = Received(c, i);
        lines.emplace_back(
            occurred, m_.events[i].type + " occurred " + FormatTime(FromMicros(occurred)) +
                          (received == kNever ? std::string(", never reported")
                                              : ", received " + FormatTime(FromMicros(received))));
      }
      std::sort(lines.begin(), lines.end());
      sample = SampleCustomer{"C-" + std::to_string(c), {}, ""};
      for (auto& [at, line] : lines) sample->history.push_back(std::move(line));
      sample->outcome = s.status == InstanceStatus::kEnded
                            ? "ended: " + def_.end_states()[s.end_state].name
                            : std::string("running");
    }
    list.push_back(*sample);
  }
}

void Simulator::Drain() {
  auto& out = rt_->outbox();
  for (const OutboxAction& o : out) {
    ++actions_;
    uint32_t c = static_cast<uint32_t>(std::stoul(o.instance_key.substr(2)));
    auto id = def_.FindAction(o.action);
    if (!id) continue;
    sent_since_event_[c] = 1;
    Judge(c, o, *id);
    if (FirstFired(c, *id) == kNever) {
      FirstFired(c, *id) = ToMicros(clock_->Now());
      Cause(c, true, *id, ToMicros(clock_->Now()));
    }
  }
  out.clear();
}

SimulateReport Simulator::Run() {
  auto t0 = std::chrono::steady_clock::now();
  SimulateReport r;
  uint32_t n = static_cast<uint32_t>(o_.customers);
  occurred_.assign(size_t{n} * ne_, kNever);
  received_.assign(size_t{n} * ne_, kNever);
  first_fired_.assign(size_t{n} * na_, kNever);
  last_occ_.assign(size_t{n} * na_, -1);
  anomalies_.assign(size_t{n} * kAnomalies, 0);
  faults_.assign(n, 0);
  sent_since_event_.assign(n, 1);
  start_.resize(n);
  std::vector<int64_t> completion;
  std::vector<std::vector<uint64_t>> days(def_.steps().size() + 1);
  auto bin = [&](std::vector<uint64_t>& v, int64_t d) {
    size_t day = static_cast<size_t>(std::max<int64_t>(0, d / kDayUs));
    if (day > 3650) day = 3650;
    if (v.size() <= day) v.resize(day + 1, 0);
    ++v[day];
  };
  int start_entry = entry_of_fact_[def_.start_fact()];
  for (uint32_t c0 = 0; c0 < n; c0 += kChunk) {
    uint32_t c1 = std::min(n, c0 + kChunk);
    clock_holder_ = std::make_unique<ManualClock>(m_.start);
    clock_ = clock_holder_.get();
    rt_holder_.reset();
    rt_holder_ = std::make_unique<Runtime>(*clock_, RuntimeOptions{false, true});
    rt_ = rt_holder_.get();
    (void)rt_->Deploy(std::shared_ptr<const JourneyDefinition>(&def_, [](const auto*) {}));
    for (uint32_t c = c0; c < c1; ++c) {
      start_[c] = ToMicros(m_.start) + Draw(0, m_.spread.count(), Uniform(c, 0, kStart));
      if (start_entry >= 0) {
        Push({start_[c], 0, c, static_cast<uint16_t>(start_entry), 0, 0, start_[c]});
      }
    }
    while (true) {
      std::optional<Time> due = rt_->NextDue();
      if (due && (q_.empty() || ToMicros(*due) < q_.top().at)) {
        if (*due > clock_->Now()) (void)clock_->AdvanceTo(*due);
        rt_->RunDue();
        Drain();
        continue;
      }
      if (q_.empty()) break;
      Item it = q_.top();
      q_.pop();
      if (FromMicros(it.at) > clock_->Now()) (void)clock_->AdvanceTo(FromMicros(it.at));
      if (it.kind == 0) {
        Occur(it);
      } else {
        Receive(it);
      }
    }
    // Outcomes of this chunk's customers.
    for (uint32_t c = c0; c < c1; ++c) {
      const InstanceState* s = rt_->Find(def_.name(), "C-" + std::to_string(c));
      if (!s) continue;
      if (s->status != InstanceStatus::kEnded) {
        Flag(c, 6);
        if (!sent_since_event_[c] && s->timers.empty()) Flag(c, 5);
      }
      Sample(c, *s, r);
      for (size_t i = 0; i < def_.steps().size(); ++i) {
        if (const HeldFact* h = s->Fact(def_.steps()[i].fact)) {
          bin(days[i], ToMicros(h->at) - start_[c]);
        }
      }
      if (s->status == InstanceStatus::kEnded) {
        const EndStateSpec& end = def_.end_states()[s->end_state];
        ++r.end_states[end.name];
        int64_t took = ToMicros(s->ended_at) - start_[c];
        bin(days.back(), took);
        if (end.success) completion.push_back(took);
      } else {
        ++r.running;
      }
    }
    events_ += rt_->events_ingested();
  }
  for (int a = 0; a < kAnomalies; ++a) r.anomalies[kNames[a]] = 0;
  for (uint32_t c = 0; c < n; ++c) {
    for (int a = 0; a < kAnomalies; ++a)
      r.anomalies[kNames[a]] += anomalies_[size_t{c} * kAnomalies + a];
  }
  std::sort(completion.begin(), completion.end());
  if (!completion.empty()) {
    auto pct = [&](double p) {
      size_t i = static_cast<size_t>(std::ceil(p * completion.size())) - 1;
      return Duration(completion[std::min(i, completion.size() - 1)]);
    };
    r.completion = {{"p50", pct(0.5)},
                    {"p90", pct(0.9)},
                    {"p99", pct(0.99)},
                    {"max", Duration(completion.back())}};
  }
  for (size_t i = 0; i < def_.steps().size(); ++i)
    r.days.emplace_back(def_.steps()[i].name, days[i]);
  r.days.emplace_back("(ended)", days.back());
  r.customers = n;
  r.events = events_;
  r.actions = actions_;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string Days(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fd", static_cast<double>(d.count()) / kDayUs);
  return buf;
}

}  // namespace

SimulateReport Simulate(const JourneyDefinition& def, const DeviationModel& model,
                        const SimulateOptions& options) {
  return Simulator(def, model, options).Run();
}

const std::vector<std::string>& AnomalyNames() {
  static const std::vector<std::string> names(std::begin(kNames), std::end(kNames));
  return names;
}

Json SimulateReportToJson(const SimulateReport& r) {
  Json j;
  j["customers"] = r.customers;
  j["events"] = r.events;
  j["actions"] = r.actions;
  j["seconds"] = r.seconds;
  Json an = Json::object();
  for (const auto& [k, v] : r.anomalies) {
    an[k] = {
        {"customers", v},
        {"rate", r.customers ? static_cast<double>(v) / static_cast<double>(r.customers) : 0.0}};
  }
  j["anomalies"] = std::move(an);
  Json samples = Json::object();
  for (const auto& [k, list] : r.samples) {
    for (const auto& c : list) {
      samples[k].push_back({{"customer", c.key}, {"history", c.history}, {"outcome", c.outcome}});
    }
  }
  j["samples"] = std::move(samples);
  j["end_states"] = r.end_states;
  j["running"] = r.running;
  Json comp = Json::object();
  for (const auto& [k, v] : r.completion)
    comp[k] = FormatDuration(std::chrono::duration_cast<std::chrono::minutes>(v));
  j["completion"] = std::move(comp);
  Json days = Json::object();
  for (const auto& [k, v] : r.days) days[k] = v;
  j["days"] = std::move(days);
  return j;
}

std::string SimulateReportToText(const JourneyDefinition& def, const SimulateReport& r) {
  std::ostringstream out;
  out << def.name() << " v" << def.version() << ": " << r.customers << " customers, " << r.events
      << " events, " << r.actions << " actions";
  char buf[64];
  std::snprintf(buf, sizeof buf, " in %.2f s", r.seconds);
  out << buf << "\n\nanomalies (customers affected, rate):\n";
  for (const auto& [k, v] : r.anomalies) {
    std::snprintf(
        buf, sizeof buf, "%.4f%%",
        r.customers ? 100.0 * static_cast<double>(v) / static_cast<double>(r.customers) : 0.0);
    out << "  " << k << std::string(k.size() < 16 ? 16 - k.size() : 1, ' ') << v << "  " << buf
        << "\n";
  }
  for (const auto& [k, list] : r.samples) {
    out << "\n" << k << ", e.g.:\n";
    for (const auto& c : list) {
      out << "  " << c.key << " (" << c.outcome << ")\n";
      for (const auto& line : c.history) out << "    " << line << "\n";
    }
  }
  out << "\nend states:\n";
  for (const auto& [k, v] : r.end_states) out << "  " << k << "  " << v << "\n";
  out << "  (running)  " << r.running << "\n";
  out << "\ntime to completion (success end states):";
  if (r.completion.empty()) out << " none completed";
  for (const auto& [k, v] : r.completion) out << "  " << k << " " << Days(v);
  out << "\n";
  return out.str();
}

std::string SimulateReportToSvg(const JourneyDefinition& def, const SimulateReport& r) {
  size_t max_day = 1;
  for (const auto& [name, v] : r.days) max_day = std::max(max_day, v.size());
  const int left = 170, top = 40, row = 28, width = 760;
  double px = static_cast<double>(width) / static_cast<double>(max_day);
  int height = top + static_cast<int>(r.days.size()) * row + 50;
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << left + width + 20 << "\" height=\""
    << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<title>" << def.name() << " v" << def.version() << ": when each step completes ("
    << r.customers << " simulated customers)</title>\n";
  s << "<text x=\"10\" y=\"20\" font-size=\"14\">" << def.name() << " v" << def.version()
    << ": day each step completes, " << r.customers << " customers</text>\n";
  for (size_t i = 0; i < r.days.size(); ++i) {
    const auto& [name, v] = r.days[i];
    int y = top + static_cast<int>(i) * row;
    uint64_t peak = 1;
    for (uint64_t c : v) peak = std::max(peak, c);
    s << "<text x=\"10\" y=\"" << y + row / 2 + 4 << "\">" << name << "</text>\n";
    for (size_t d = 0; d < v.size(); ++d) {
      if (v[d] == 0) continue;
      double h = (row - 6) * static_cast<double>(v[d]) / static_cast<double>(peak);
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#3b7dd8\">"
                    "<title>day %zu: %llu</title></rect>\n",
                    left + d * px, y + (row - 4) - h, std::max(px - 1, 1.0), h, d,
                    static_cast<unsigned long long>(v[d]));
      s << buf;
    }
  }
  int axis = top + static_cast<int>(r.days.size()) * row;
  s << "<line x1=\"" << left << "\" y1=\"" << axis << "\" x2=\"" << left + width << "\" y2=\""
    << axis << "\" stroke=\"#333\"/>\n";
  size_t step = max_day > 60 ? 14 : 7;
  for (size_t d = 0; d <= max_day; d += step) {
    s << "<text x=\"" << left + d * px << "\" y=\"" << axis + 15 << "\">" << d << "d</text>\n";
  }
  for (const auto& [k, v] : r.completion) {
    if (k == "max") continue;
    double x = left + static_cast<double>(v.count()) / kDayUs * px;
    s << "<line x1=\"" << x << "\" y1=\"" << top << "\" x2=\"" << x << "\" y2=\"" << axis
      << "\" stroke=\"#d83b3b\" stroke-dasharray=\"4 3\"/>\n<text x=\"" << x + 2 << "\" y=\""
      << axis + 30 << "\" fill=\"#d83b3b\">" << k << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace rapport::journey
