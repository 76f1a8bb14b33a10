// Customer analytics over HTTP: the KPI report of src/analytics as JSON or CSV.
#include <cmath>
#include <functional>

#include "analytics/kpi_service.h"
#include "api/handlers.h"
#include "core/csv.h"

namespace rapport::api {

namespace {

using auth::Role;

// Agents too: the customers at risk are the list they open cases from.
const std::vector<Role> kReaders = {Role::kAdmin, Role::kAgent, Role::kAnalyst};

// A day ("2026-11-02", midnight UTC) or an RFC 3339 time.
Result<Time> TimeParam(const std::string& text, const std::string& name) {
  std::string t = text.size() == 10 ? text + "T00:00:00Z" : text;
  auto parsed = ParseTime(t);
  if (!parsed.ok()) {
    return InvalidArgument("expected a day (2026-11-02) or an RFC 3339 time, got '" + text + "'",
                           name);
  }
  return *parsed;
}

Result<analytics::KpiRequest> RequestOf(const Request& req, Time now) {
  analytics::KpiRequest r;
  auto get = [&](const char* k) {
    auto it = req.query.find(k);
    return it == req.query.end() ? std::string() : it->second;
  };
  // Default: the four weeks up to the end of today.
  r.to = analytics::BucketStart(now, analytics::Bucket::kDay) + std::chrono::hours(24);
  r.from = r.to - std::chrono::hours(24 * 28);
  if (!get("to").empty()) {
    ASSIGN_OR_RETURN(r.to, TimeParam(get("to"), "to"));
  }
  if (!get("from").empty()) {
    ASSIGN_OR_RETURN(r.from, TimeParam(get("from"), "from"));
  }
  ASSIGN_OR_RETURN(r.bucket, analytics::ParseBucket(get("bucket")));
  if (std::string price = get("letter_price"); !price.empty()) {
    char* end = nullptr;
    r.letter_price = std::strtod(price.c_str(), &end);
    if (*end != '\0' || !std::isfinite(r.letter_price)) {
      return InvalidArgument("expected a price in EUR such as 0.85, got '" + price + "'",
                             "letter_price");
    }
  }
  return r;
}

Json DurationJson(const analytics::DurationStats& d) {
  auto secs = [](const std::optional<Duration>& v) {
    return v ? Json(std::chrono::duration<double>(*v).count()) : Json(nullptr);
  };
  return {{"count", d.count}, {"median_seconds", secs(d.median)}, {"p90_seconds", secs(d.p90)}};
}

// A sum of prices in EUR, to the cent (0.85 * 205 is 174.24999999999997 in binary).
double Cents(double eur) { return std::round(eur * 100) / 100; }

Json ReportJson(const analytics::KpiReport& r) {
  using analytics::Series;
  Json mailings = Json::array();
  for (const auto& m : r.s2.mailings) {
    mailings.push_back({{"name", m.name},
                        {"segment", m.segment},
                        {"sent_at", FormatTime(m.sent_at)},
                        {"source_customers", m.counts.source_customers},
                        {"persons", m.counts.persons},
                        {"households", m.counts.households},
                        {"without_address", m.counts.without_address},
                        {"letters_avoided", m.letters_avoided},
                        {"cost_avoided_eur", Cents(m.cost_avoided)}});
  }
  Json recipients = Json::object();
  for (const auto& [name, f] : r.s4.recipients) {
    recipients[name] = {{"disclosed", f.disclosed}, {"refused", f.refused}, {"leaks", f.leaks}};
  }
  Json columns = Json::array({"start"});
  for (int i = 0; i < analytics::kSeriesCount; ++i) {
    columns.push_back(analytics::SeriesName(static_cast<Series>(i)));
  }
  Json rows = Json::array();
  for (const auto& b : r.buckets) {
    Json row = Json::array({FormatTime(b.start)});
    for (int64_t v : b.values) row.push_back(v);
    rows.push_back(std::move(row));
  }
  Json at_risk = Json::array();
  for (const auto& a : r.at_risk) {
    at_risk.push_back({{"person", a.person},
                       {"kind", a.kind},
                       {"reason", a.reason},
                       {"at", FormatTime(a.at)},
                       {"ref", a.ref}});
  }
  Json forecast = nullptr;
  if (r.s6.forecast) {
    forecast = {{"top3_recall", r.s6.forecast->top3},
                {"top1_recall", r.s6.forecast->top1},
                {"test_repairs", r.s6.forecast->test_repairs}};
  }
  return {{"from", FormatTime(r.request.from)},
          {"to", FormatTime(r.request.to)},
          {"bucket", analytics::BucketName(r.request.bucket)},
          {"letter_price_eur", r.request.letter_price},
          {"s1",
           {{"messages_sent", r.s1.messages_sent},
            {"held_back", r.s1.held_back},
            {"premature", r.s1.premature},
            {"duplicates", r.s1.duplicates},
            {"deadlines_moved", r.s1.deadlines_moved},
            {"broken_promises", r.s1.broken_promises},
            {"asked_after_done", r.s1.asked_after_done}}},
          {"s2",
           {{"records", r.s2.profiles.records},
            {"persons", r.s2.profiles.persons},
            {"households", r.s2.profiles.households},
            {"duplicates_found", r.s2.duplicates_found},
            {"letters_avoided", r.s2.letters_avoided},
            {"cost_avoided_eur", Cents(r.s2.cost_avoided)},
            {"mailings", mailings}}},
          {"s3",
           {{"cases_opened", r.s3.cases_opened},
            {"handovers", r.s3.handovers},
            {"asked_twice", r.s3.asked_twice},
            {"resolved", r.s3.resolved},
            {"resolved_first_contact", r.s3.resolved_first_contact},
            {"first_contact_resolution", r.s3.first_contact_resolution},
            {"time_to_resolution", DurationJson(r.s3.time_to_resolution)}}},
          {"s4",
           {{"recipients", recipients},
            {"access_reports", r.s4.access_reports},
            {"erasures", r.s4.erasures},
            {"access_report_duration", DurationJson(r.s4.access_report_duration)},
            {"erasure_duration", DurationJson(r.s4.erasure_duration)}}},
          {"s5",
           {{"feedback_cases", r.s5.feedback_cases},
            {"first_contact_slas", r.s5.first_contact_slas},
            {"first_contact_within_sla", r.s5.first_contact_within_sla},
            {"first_contact_within_sla_rate", r.s5.first_contact_within_sla_rate},
            {"preferences_applied", r.s5.preferences_applied}}},
          {"s6",
           {{"repairs", r.s6.repairs},
            {"fixed_first_time", r.s6.fixed_first_time},
            {"first_time_fix_rate", r.s6.first_time_fix_rate},
            {"forecast", forecast}}},
          {"series", {{"columns", columns}, {"rows", rows}}},
          {"at_risk", at_risk}};
}

std::string SeriesCsv(const analytics::KpiReport& r) {
  std::string out = "start";
  for (int i = 0; i < analytics::kSeriesCount; ++i) {
    out += ",";
    out += analytics::SeriesName(static_cast<analytics::Series>(i));
  }
  out += "\r\n";
  for (const auto& b : r.buckets) {
    out += FormatTime(b.start);
    for (int64_t v : b.values) out += "," + std::to_string(v);
    out += "\r\n";
  }
  return out;
}

// Every scenario's figures as rows "scenario,figure,value" (a spreadsheet's pivot table reads
// them): the JSON report's s1..s6, nested objects and lists named by their path.
std::string TotalsCsv(const Json& report) {
  std::string out = "scenario,figure,value\r\n";
  std::function<void(const std::string&, const std::string&, const Json&)> add =
      [&](const std::string& scenario, const std::string& path, const Json& v) {
        if (v.is_object()) {
          for (const auto& [k, child] : v.items())
            add(scenario, path.empty() ? k : path + "." + k, child);
        } else if (v.is_array()) {
          for (size_t i = 0; i < v.size(); ++i) {
            const Json& item = v[i];
            std::string name = item.is_object() && item.contains("name")
                                   ? item["name"].get<std::string>()
                                   : std::to_string(i);
            add(scenario, path + "." + name, item);
          }
        } else {
          out += CsvCell(scenario) + "," + CsvCell(path) + "," +
                 CsvCell(v.is_string() ? v.get<std::string>() : v.dump()) + "\r\n";
        }
      };
  for (const char* scenario : {"s1", "s2", "s3", "s4", "s5", "s6"}) {
    add(scenario, "", report[scenario]);
  }
  return out;
}

std::string AtRiskCsv(const analytics::KpiReport& r) {
  std::string out = "person,kind,reason,at,ref\r\n";
  for (const auto& a : r.at_risk) {
    out += CsvCell(a.person) + "," + CsvCell(a.kind) + "," + CsvCell(a.reason) + "," +
           FormatTime(a.at) + "," + CsvCell(a.ref) + "\r\n";
  }
  return out;
}

}  // namespace

void AddAnalyticsRoutes(Router& router, app::App& app) {
  router.Add(
      {"GET", "/v1/analytics/kpis", kReaders, false,
       "Customer KPIs per scenario computed from the logs, per day or week, and the customers "
       "at risk: ?from=&to=&bucket=day|week&letter_price=0.85&format=json|csv&table=series|"
       "totals|at_risk",
       [&app](Request& req) {
         Result<analytics::KpiRequest> request = RequestOf(req, app.clock().Now());
         if (!request.ok()) return ErrorResponse(request.status());
         std::string format = req.query.count("format") ? req.query["format"] : "json";
         std::string table = req.query.count("table") ? req.query["table"] : "series";
         if (format != "json" && format != "csv") {
           return ErrorResponse(InvalidArgument("format must be json or csv", "format"));
         }
         if (table != "series" && table != "at_risk" && table != "totals") {
           return ErrorResponse(
               InvalidArgument("table must be series, totals or at_risk", "table"));
         }
         cases::ConfigPtr cases_config = app.cases().config();
         analytics::KpiService kpis(app.store(), app.profiles(), app.service(), app.audit(),
                                    cases_config ? cases_config->feedback : cases::FeedbackRules{});
         auto report = kpis.Compute(*request);
         if (!report.ok()) return ErrorResponse(report.status());
         if (format == "json") return JsonResponse(200, ReportJson(*report));
         Response r;
         r.content_type = "text/csv; charset=utf-8";
         r.body = table == "series"   ? SeriesCsv(*report)
                  : table == "totals" ? TotalsCsv(ReportJson(*report))
                                      : AtRiskCsv(*report);
         r.headers.emplace_back("Content-Disposition",
                                "attachment; filename=\"rapport-kpis-" + table + ".csv\"");
         return r;
       }});
}

}  // namespace rapport::api
