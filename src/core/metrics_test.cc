#include "core/metrics.h"

#include <gtest/gtest.h>

namespace rapport {
namespace {

TEST(MetricsTest, RendersCountersGaugesAndCumulativeHistograms) {
  MetricsRegistry m;
  m.GetCounter("rapport_events_total", "Events stored").Add(3);
  m.GetCounter("rapport_http_requests_total", "Requests", R"(status="200")").Add();
  m.SetGauge("rapport_up", "1 when serving", 1);
  Histogram& h = m.GetHistogram("rapport_http_seconds", "Latency", R"(route="/health")");
  h.Observe(0.0001);
  h.Observe(0.003);
  h.Observe(20);
  std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE rapport_events_total counter\nrapport_events_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("rapport_http_requests_total{status=\"200\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("rapport_up 1\n"), std::string::npos);
  EXPECT_NE(text.find("rapport_http_seconds_bucket{route=\"/health\",le=\"0.0005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("rapport_http_seconds_bucket{route=\"/health\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("rapport_http_seconds_bucket{route=\"/health\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("rapport_http_seconds_count{route=\"/health\"} 3\n"), std::string::npos);
}

TEST(MetricsTest, GaugesWithLabelsAreOneSeriesEach) {
  MetricsRegistry m;
  m.SetGauge("rapport_cases_open", "Open cases", 2, R"(team="billing")");
  m.SetGauge("rapport_cases_open", "Open cases", 0, R"(team="tech")");
  m.SetGauge("rapport_cases_open", "Open cases", 3, R"(team="billing")");
  std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE rapport_cases_open gauge\n"
                      "rapport_cases_open{team=\"billing\"} 3\n"
                      "rapport_cases_open{team=\"tech\"} 0\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace rapport
