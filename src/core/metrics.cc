#include "core/metrics.h"

#include <cstdio>

namespace rapport {

Histogram::Histogram()
    : bounds_{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10},
      counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i] = 0;
}

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    acc += counts_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

double Histogram::sum() const { return static_cast<double>(sum_micros_.load()) / 1e6; }

Counter& MetricsRegistry::GetCounter(const std::string& name, const std::string& help,
                                     const std::string& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.help = help;
  f.type = "counter";
  auto& slot = f.counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& MetricsRegistry::GetHistogram(const std::string& name, const std::string& help,
                                         const std::string& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.help = help;
  f.type = "histogram";
  auto& slot = f.histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

void MetricsRegistry::SetGauge(const std::string& name, const std::string& help, double value,
                               const std::string& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.help = help;
  f.type = "gauge";
  f.gauges[labels] = value;
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  char num[64];
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n";
    for (const auto& [labels, value] : f.gauges) {
      std::snprintf(num, sizeof num, "%.17g", value);
      out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + num + "\n";
    }
    for (const auto& [labels, c] : f.counters) {
      out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(c->value()) +
             "\n";
    }
    for (const auto& [labels, h] : f.histograms) {
      auto counts = h->counts();
      auto bounds = h->bounds();
      std::string sep = labels.empty() ? "" : labels + ",";
      for (size_t i = 0; i < bounds.size(); ++i) {
        std::snprintf(num, sizeof num, "%g", bounds[i]);
        out += name + "_bucket{" + sep + "le=\"" + num + "\"} " + std::to_string(counts[i]) + "\n";
      }
      out += name + "_bucket{" + sep + "le=\"+Inf\"} " + std::to_string(counts.back()) + "\n";
      std::snprintf(num, sizeof num, "%.6f", h->sum());
      std::string lb = labels.empty() ? "" : "{" + labels + "}";
      out += name + "_sum" + lb + " " + num + "\n";
      out += name + "_count" + lb + " " + std::to_string(counts.back()) + "\n";
    }
  }
  return out;
}

}  // namespace rapport
