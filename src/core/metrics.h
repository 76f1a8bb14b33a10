// Process-wide counters and histograms, rendered in the Prometheus text format by
// GET /metrics. Thread-safe; hot paths keep the returned references (lookups lock).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rapport {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Latency histogram in seconds with fixed buckets (0.5 ms .. 10 s).
class Histogram {
 public:
  Histogram();
  void Observe(double seconds);
  std::vector<double> bounds() const { return bounds_; }
  std::vector<uint64_t> counts() const;  // cumulative per bound, then +Inf
  double sum() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> sum_micros_{0};
};

class MetricsRegistry {
 public:
  // `labels` is the inside of {...}, e.g. R"(route="/v1/events",status="200")", or empty.
  Counter& GetCounter(const std::string& name, const std::string& help,
                      const std::string& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const std::string& labels = {});
  // A gauge whose value is read when rendering; `labels` as for counters (one series each).
  void SetGauge(const std::string& name, const std::string& help, double value,
                const std::string& labels = {});
  std::string RenderPrometheus() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    std::map<std::string, double> gauges;  // by labels
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

}  // namespace rapport
