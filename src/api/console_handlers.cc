// Routes the web console needs besides the domain routes: its own files (embedded, or a
// directory while developing), who the caller is, and the journeys' instance list, check and
// simulation over deployed definitions.
#include <fstream>
#include <sstream>

#include "api/console_assets.h"
#include "api/handlers.h"
#include "journey/verify/check.h"
#include "journey/verify/simulate.h"

namespace rapport::api {

namespace {

using auth::Role;

const std::vector<Role> kStaff = {Role::kAdmin, Role::kAgent, Role::kAnalyst};
const std::vector<Role> kEveryone = {Role::kAdmin, Role::kAgent, Role::kAnalyst, Role::kPartner};

std::string_view ContentTypeOf(std::string_view path) {
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

// A console file: from `dir` when set (development), else from the binary.
std::optional<std::string> ConsoleFile(const std::string& dir, const std::string& path) {
  if (!dir.empty()) {
    // Only names Vite writes: no "..", no hidden files.
    if (path.find("..") != std::string::npos || path.find("/.") != std::string::npos) {
      return std::nullopt;
    }
    std::ifstream in(dir + path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  for (const auto& a : EmbeddedConsole()) {
    if (path == a.path) return std::string(reinterpret_cast<const char*>(a.data), a.size);
  }
  return std::nullopt;
}

Response ConsoleResponse(const std::string& dir, const std::string& path) {
  auto body = ConsoleFile(dir, path);
  if (!body) {
    if (path == "/index.html") {
      return ErrorResponse(NotFound(
          dir.empty() ? "this binary was built without the console (-DRAPPORT_CONSOLE=OFF)"
                      : "no index.html in the console directory '" + dir + "' (run vite build)"));
    }
    return ErrorResponse(NotFound("no console file " + path));
  }
  Response r;
  r.content_type = std::string(ContentTypeOf(path));
  r.body = std::move(*body);
  // Vite names assets by their content hash: they never change under one name.
  bool hashed = path.rfind("/assets/", 0) == 0;
  r.headers.emplace_back("Cache-Control",
                         hashed ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (!hashed) {
    // The console talks only to this server; uPlot sizes its canvas with style attributes.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data:; style-src 'self' "
                           "'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'");
  }
  return r;
}

template <typename Fn>
Response Guarded(Fn&& fn) {
  Result<Response> r = fn();
  if (!r.ok()) return ErrorResponse(r.status());
  return std::move(r).value();
}

// The latest deployed definition of a journey, read back from its stored text.
Result<journey::DefinitionPtr> LatestDefinition(app::App& app, const std::string& name) {
  for (const auto& j : app.journeys().ListJourneys()) {
    if (j.value("name", "") != name) continue;
    std::string id = name + "@" + std::to_string(j.value("latest_version", 0));
    ASSIGN_OR_RETURN(auto doc, app.store().GetDocument("journey-definition", id));
    if (!doc) break;
    ASSIGN_OR_RETURN(Json stored, ParseJson(doc->body));
    return journey::LoadDefinition(stored.value("text", ""), stored.value("file", id));
  }
  return NotFound("no journey '" + name + "' is deployed", "name");
}

// The deviation model's YAML of a request body {"deviations": "<yaml>"}, if any.
Result<std::optional<std::string>> DeviationsText(const Request& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
    return std::optional<std::string>();
  }
  ASSIGN_OR_RETURN(Json body, ParseJson(req.body));
  return OptionalString(body, "deviations");
}

// The deviation model of a request body {"deviations": "<yaml>"}, or the built-in one.
Result<journey::DeviationModel> DeviationsOf(const Request& req,
                                             const journey::JourneyDefinition& def) {
  ASSIGN_OR_RETURN(auto yaml, DeviationsText(req));
  if (!yaml) return journey::DefaultDeviations(def);
  return journey::LoadDeviations(def, *yaml, "deviations");
}

}  // namespace

void AddConsoleRoutes(Router& router, app::App& app, std::string console_dir) {
  router.Add({"GET",
              "/",
              {},
              true,
              "The web console (no token needed; it asks for one)",
              [console_dir](Request&) { return ConsoleResponse(console_dir, "/index.html"); }});
  router.Add({"GET",
              "/assets/{file}",
              {},
              true,
              "The web console's scripts and styles",
              [console_dir](Request& req) {
                return ConsoleResponse(console_dir, "/assets/" + req.params["file"]);
              }});

  router.Add({"GET", "/v1/whoami", kEveryone, false,
              "The caller's role, organisation and token name (for the console)", [](Request& req) {
                return JsonResponse(200, {{"role", store::RoleName(req.principal.role)},
                                          {"org", req.principal.org},
                                          {"name", req.principal.name},
                                          {"token_id", req.principal.token_id}});
              }});

  router.Add(
      {"GET", "/v1/journeys/{name}/instances", kStaff, false,
       "Instances of a journey in key order: ?after=<key>&limit=<1..1000>", [&app](Request& req) {
         return Guarded([&]() -> Result<Response> {
           ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 100, 1, 1000));
           std::string prefix = req.params["name"] + "/";
           auto after = req.query.find("after");
           std::string after_id =
               after == req.query.end() || after->second.empty() ? "" : prefix + after->second;
           // The instance documents of journey/service/journey_service.h.
           ASSIGN_OR_RETURN(auto docs,
                            app.store().ListDocuments("journey-instance", prefix, after_id, limit));
           Json items = Json::array();
           for (const auto& d : docs) {
             ASSIGN_OR_RETURN(Json stored, ParseJson(d.body));
             const Json& st = stored.contains("state") ? stored["state"] : stored;
             Json item = {
                 {"key", d.id.substr(prefix.size())},  {"version", stored.value("version", 0)},
                 {"status", st.value("status", "")},   {"end_state", st.value("end_state", "")},
                 {"subject", st.value("subject", "")}, {"started_at", st.value("started_at", "")}};
             items.push_back(std::move(item));
           }
           Json body = {{"instances", items}};
           body["next_after"] =
               static_cast<int>(docs.size()) == limit ? Json(items.back()["key"]) : Json(nullptr);
           return JsonResponse(200, body);
         });
       }});

  router.Add({"POST", "/v1/journeys/{name}/check", kStaff, false,
              "Check the deployed journey against a deviation model ({\"deviations\":yaml}, "
              "default: the built-in one): pass, or each violated property's counterexample",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(auto def, LatestDefinition(app, req.params["name"]));
                  ASSIGN_OR_RETURN(auto deviations, DeviationsText(req));
                  ASSIGN_OR_RETURN(auto report, app.CheckForRequest(*def, deviations));
                  return JsonResponse(200, journey::CheckReportToJson(*def, report));
                });
              }});

  router.Add({"POST", "/v1/journeys/{name}/simulate", kStaff, false,
              "Simulate synthetic customers through the deployed journey: "
              "?customers=<1..20000>&seed=, body {\"deviations\":yaml} optional",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(auto def, LatestDefinition(app, req.params["name"]));
                  ASSIGN_OR_RETURN(auto model, DeviationsOf(req, *def));
                  journey::SimulateOptions options;
                  ASSIGN_OR_RETURN(int64_t customers, QueryInt(req, "customers", 1000, 1, 20000));
                  ASSIGN_OR_RETURN(int64_t seed, QueryInt(req, "seed", 1, 0, 1 << 30));
                  options.customers = static_cast<uint64_t>(customers);
                  options.seed = static_cast<uint64_t>(seed);
                  auto report = journey::Simulate(*def, model, options);
                  return JsonResponse(200, journey::SimulateReportToJson(report));
                });
              }});
}

}  // namespace rapport::api
