#include "api/handlers.h"

#include <charconv>

namespace rapport::api {

namespace {

using auth::Role;

const std::vector<Role> kStaff = {Role::kAdmin, Role::kAgent, Role::kAnalyst};
const std::vector<Role> kWriters = {Role::kAdmin, Role::kAgent};
const std::vector<Role> kAdmins = {Role::kAdmin};
const std::vector<Role> kEveryone = {Role::kAdmin, Role::kAgent, Role::kAnalyst, Role::kPartner};

Result<ingest::BodyFormat> BodyFormatOf(const Request& req) {
  std::string_view ct = req.content_type;
  ct = ct.substr(0, ct.find(';'));
  if (ct == "application/x-ndjson" || ct == "application/ndjson" || ct == "application/jsonl") {
    return ingest::BodyFormat::kNdjson;
  }
  if (ct.empty() || ct == "application/json") return ingest::BodyFormat::kJson;
  return Status(StatusCode::kInvalidArgument,
                "unsupported Content-Type '" + std::string(ct) +
                    "' (use application/json or application/x-ndjson)",
                "Content-Type");
}

std::string QueryString(const Request& req, const std::string& name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? "" : it->second;
}

// Runs `fn`, turning an error Status into its JSON error response.
template <typename Fn>
Response Guarded(Fn&& fn) {
  Result<Response> r = fn();
  if (!r.ok()) return ErrorResponse(r.status());
  return std::move(r).value();
}

Json TokenJson(const store::TokenRecord& t) {
  Json j = {{"id", t.id},
            {"role", store::RoleName(t.role)},
            {"org", t.org},
            {"name", t.name},
            {"created_at", FormatTime(t.created_at)}};
  j["revoked_at"] = t.revoked_at ? Json(FormatTime(*t.revoked_at)) : Json(nullptr);
  j["expires_at"] = t.expires_at ? Json(FormatTime(*t.expires_at)) : Json(nullptr);
  return j;
}

}  // namespace

void AddCoreRoutes(Router& router, app::App& app) {
  router.Add(
      {"GET", "/health", {}, true, "Liveness and store check (no token needed)", [&app](Request&) {
         auto stats = app.store().Stats();
         if (!stats.ok()) return ErrorResponse(stats.status().WithContext("store check"));
         return JsonResponse(200, {{"status", "ok"},
                                   {"version", RAPPORT_VERSION},
                                   {"store", app.store().Backend()},
                                   {"clock", app.clock().IsManual() ? "manual" : "system"},
                                   {"now", FormatTime(app.clock().Now())}});
       }});

  router.Add({"GET",
              "/metrics",
              {Role::kAdmin, Role::kAnalyst},
              false,
              "Prometheus metrics",
              [&app](Request&) {
                auto stats = app.store().Stats();
                if (stats.ok()) {
                  app.metrics().SetGauge("rapport_store_events", "Events in the log",
                                         static_cast<double>(stats->events));
                  app.metrics().SetGauge("rapport_store_records", "Source records stored",
                                         static_cast<double>(stats->records));
                }
                Response r;
                r.content_type = "text/plain; version=0.0.4";
                r.body = app.metrics().RenderPrometheus();
                return r;
              }});

  router.Add(
      {"GET", "/openapi.json", kEveryone, false, "This API's OpenAPI 3.0 document", [](Request&) {
         Response r;
         r.body = OpenApiDocument();
         return r;
       }});

  router.Add({"POST", "/v1/records", kWriters, false,
              "Store source records: one JSON object, a JSON array, or NDJSON (all or nothing)",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(auto format, BodyFormatOf(req));
                  ASSIGN_OR_RETURN(
                      auto records,
                      ingest::ParseRecords(req.body, format, app.clock().Now(), app.ids()));
                  ASSIGN_OR_RETURN(auto accepted, app.ingestor().AcceptRecords(records));
                  Json results = Json::array();
                  for (size_t i = 0; i < accepted.results.size(); ++i) {
                    const store::RecordPut& r = accepted.results[i];
                    Json item = {{"id", r.id}, {"created", r.created}};
                    // Resolved while storing: the person the record landed on.
                    if (!accepted.persons[i].empty()) item["person"] = accepted.persons[i];
                    results.push_back(std::move(item));
                  }
                  bool single = format == ingest::BodyFormat::kJson && records.size() == 1 &&
                                req.body.find_first_not_of(" \t\r\n") != std::string::npos &&
                                req.body[req.body.find_first_not_of(" \t\r\n")] == '{';
                  if (single) return JsonResponse(accepted.created ? 201 : 200, results[0]);
                  return JsonResponse(200, {{"received", records.size()},
                                            {"created", accepted.created},
                                            {"duplicates", accepted.duplicates},
                                            {"results", results}});
                });
              }});

  router.Add({"GET", "/v1/records/{id}", kStaff, false, "One source record as delivered",
              [&app](Request& req) {
                auto r = app.store().GetRecord(req.params["id"]);
                if (!r.ok()) return ErrorResponse(r.status());
                Status audited = AuditRead(app, req, "record.read", r->id);
                if (!audited.ok()) return ErrorResponse(audited);
                return JsonResponse(200, RecordToJson(*r));
              }});

  router.Add({"POST", "/v1/events", kWriters, false,
              "Append events: one JSON object, a JSON array, or NDJSON (all or nothing; "
              "idempotent by id)",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(auto format, BodyFormatOf(req));
                  ASSIGN_OR_RETURN(auto events,
                                   ingest::ParseEvents(req.body, format, app.clock().Now()));
                  ASSIGN_OR_RETURN(auto accepted, app.ingestor().AcceptEvents(events));
                  if (accepted.created > 0) app.Poke();  // journeys pick them up from the log
                  Json results = Json::array();
                  for (const auto& r : accepted.results) {
                    results.push_back({{"id", r.id}, {"seq", r.seq}, {"created", r.created}});
                  }
                  size_t first = req.body.find_first_not_of(" \t\r\n");
                  bool single = format == ingest::BodyFormat::kJson && first != std::string::npos &&
                                req.body[first] == '{';
                  if (single) return JsonResponse(accepted.created ? 201 : 200, results[0]);
                  return JsonResponse(200, {{"received", events.size()},
                                            {"created", accepted.created},
                                            {"duplicates", accepted.duplicates},
                                            {"results", results}});
                });
              }});

  router.Add({"GET", "/v1/events", kStaff, false,
              "Events in log order: ?subject=&type=&after=<cursor>&limit=<1..1000>",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  store::EventQuery q;
                  q.subject = QueryString(req, "subject");
                  q.type = QueryString(req, "type");
                  ASSIGN_OR_RETURN(q.after, QueryInt(req, "after", 0, 0, INT64_MAX));
                  ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 100, 1, 1000));
                  q.limit = static_cast<int>(limit);
                  ASSIGN_OR_RETURN(auto page, app.store().ListEvents(q));
                  Json events = Json::array();
                  for (const auto& e : page.events) events.push_back(EventToJson(e));
                  Json body = {{"events", std::move(events)}};
                  body["next_after"] = page.next_after ? Json(page.next_after) : Json(nullptr);
                  return JsonResponse(200, body);
                });
              }});

  router.Add({"GET", "/v1/events/{id}", kStaff, false, "One event by id", [&app](Request& req) {
                auto e = app.store().GetEvent(req.params["id"]);
                if (!e.ok()) return ErrorResponse(e.status());
                return JsonResponse(200, EventToJson(*e));
              }});

  router.Add({"GET", "/v1/clock", kEveryone, false, "The server's current time and clock kind",
              [&app](Request&) {
                return JsonResponse(200, {{"now", FormatTime(app.clock().Now())},
                                          {"manual", app.clock().IsManual()}});
              }});

  router.Add({"POST", "/v1/admin/clock", kAdmins, false,
              "Move a manual clock forward: {\"advance\":\"3d\"} or {\"to\":\"<RFC 3339>\"}",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, ParseJson(req.body));
                  ASSIGN_OR_RETURN(auto advance, OptionalString(body, "advance"));
                  ASSIGN_OR_RETURN(auto to, OptionalTime(body, "to"));
                  if (!advance == !to) {
                    return InvalidArgument("give exactly one of 'advance' or 'to'", "advance");
                  }
                  std::optional<Duration> by;
                  if (advance) {
                    auto d = ParseDuration(*advance);
                    if (!d.ok()) return d.status().WithWhere("advance");
                    by = *d;
                  }
                  ASSIGN_OR_RETURN(Time now, app.AdvanceClock(by, to));
                  // Everything due by the new time happens before the answer, so a test that
                  // moves the clock sees the consequences at once.
                  RETURN_IF_ERROR(app.ProcessNow());
                  return JsonResponse(200, {{"now", FormatTime(now)}, {"manual", true}});
                });
              }});

  router.Add({"POST", "/v1/admin/tokens", kAdmins, false,
              "Create an API token: {\"role\",\"org\"(partners),\"name\",\"expires\"(e.g. "
              "\"90d\"; none: until revoked)}; the token is shown once",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, ParseJson(req.body));
                  ASSIGN_OR_RETURN(std::string role_name, RequiredString(body, "role"));
                  ASSIGN_OR_RETURN(auth::Role role, store::ParseRole(role_name));
                  ASSIGN_OR_RETURN(auto org, OptionalString(body, "org"));
                  ASSIGN_OR_RETURN(auto name, OptionalString(body, "name"));
                  ASSIGN_OR_RETURN(auto expires, OptionalString(body, "expires"));
                  std::optional<Duration> lifetime;
                  if (expires) {
                    auto d = ParseDuration(*expires);
                    if (!d.ok()) return d.status().WithWhere("expires");
                    lifetime = *d;
                  }
                  ASSIGN_OR_RETURN(auto created,
                                   app.tokens().Create(role, org.value_or(""), name.value_or(""),
                                                       /*replace=*/false, lifetime));
                  Json j = TokenJson(created.record);
                  j["token"] = created.token;
                  return JsonResponse(201, j);
                });
              }});

  router.Add({"GET", "/v1/admin/tokens", kAdmins, false, "All API tokens (without secrets)",
              [&app](Request&) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(auto tokens, app.store().ListTokens());
                  Json arr = Json::array();
                  for (const auto& t : tokens) arr.push_back(TokenJson(t));
                  return JsonResponse(200, {{"tokens", arr}});
                });
              }});

  router.Add({"DELETE", "/v1/admin/tokens/{id}", kAdmins, false, "Revoke a token at once",
              [&app](Request& req) {
                Status s = app.tokens().Revoke(req.params["id"]);
                if (!s.ok()) return ErrorResponse(s);
                return JsonResponse(200, {{"id", req.params["id"]}, {"revoked", true}});
              }});
}

void AddAllRoutes(Router& router, app::App& app, std::string console_dir) {
  AddCoreRoutes(router, app);
  AddJourneyRoutes(router, app);
  AddProfileRoutes(router, app);
  AddCaseRoutes(router, app);
  AddAuditRoutes(router, app);
  AddPrivacyRoutes(router, app);
  AddServiceRoutes(router, app);
  AddAnalyticsRoutes(router, app);
  AddConsoleRoutes(router, app, std::move(console_dir));
}

}  // namespace rapport::api
