// Routes of the journey runtime: deploy and list definitions, inspect and cancel instances,
// read the outbox.
#include "api/handlers.h"
#include "journey/verify/check.h"
#include "journey/verify/deviations.h"

namespace rapport::api {

namespace {

using auth::Role;

const std::vector<Role> kStaff = {Role::kAdmin, Role::kAgent, Role::kAnalyst};

template <typename Fn>
Response Guarded(Fn&& fn) {
  Result<Response> r = fn();
  if (!r.ok()) return ErrorResponse(r.status());
  return std::move(r).value();
}

}  // namespace

void AddJourneyRoutes(Router& router, app::App& app) {
  router.Add({"POST",
              "/v1/journeys",
              {Role::kAdmin},
              false,
              "Deploy a journey definition: the YAML text (Content-Type application/yaml) or "
              "{\"yaml\",\"file\",\"deviations\"}. It is checked first (journey check with "
              "the built-in model, or the deviations given): a violation answers 422 with the "
              "report; ?force=true deploys anyway, recording who forced it and the report in "
              "the audit log",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  std::string yaml = req.body;
                  std::string file = "request";
                  std::optional<std::string> deviations;
                  if (req.content_type.rfind("application/json", 0) == 0) {
                    ASSIGN_OR_RETURN(Json body, ParseJson(req.body));
                    ASSIGN_OR_RETURN(yaml, RequiredString(body, "yaml"));
                    ASSIGN_OR_RETURN(auto f, OptionalString(body, "file"));
                    if (f) file = *f;
                    ASSIGN_OR_RETURN(deviations, OptionalString(body, "deviations"));
                  }
                  auto force = req.query.find("force");
                  const bool forced = force != req.query.end() && force->second == "true";
                  if (force != req.query.end() && !forced && force->second != "false") {
                    return InvalidArgument("force must be true or false", "query.force");
                  }
                  ASSIGN_OR_RETURN(
                      app::CheckedDeploy deployed,
                      app.DeployChecked(yaml, file, deviations, forced, req.principal));
                  const journey::CheckReport& report = deployed.report;
                  if (!deployed.outcome) {
                    Response refused = ErrorResponse(FailedPrecondition(
                        "journey check finds " + std::to_string(report.violations.size()) +
                            " violated propert" + (report.violations.size() == 1 ? "y" : "ies") +
                            " (first: " + report.violations.front().property + ": " +
                            report.violations.front().message +
                            "); fix the definition, or deploy with ?force=true",
                        "definition"));
                    Json body = *ParseJson(refused.body);
                    body["check"] = journey::CheckReportToJson(*deployed.definition, report);
                    return JsonResponse(422, body);
                  }
                  const journey::DeployOutcome& outcome = *deployed.outcome;
                  Json secrets = Json::object();
                  for (const auto& [action, secret] : outcome.webhook_secrets)
                    secrets[action] = secret;
                  return JsonResponse(outcome.created ? 201 : 200,
                                      {{"name", outcome.definition->name()},
                                       {"version", outcome.definition->version()},
                                       {"created", outcome.created},
                                       {"webhook_secrets", secrets},
                                       {"check",
                                        {{"pass", report.pass()},
                                         {"forced", deployed.forced},
                                         {"model", report.model},
                                         {"complete", report.complete},
                                         {"exact", report.not_exact.empty()}}}});
                });
              }});

  router.Add({"GET", "/v1/journeys", kStaff, false, "Deployed journeys and their versions",
              [&app](Request&) {
                return JsonResponse(200, {{"journeys", app.journeys().ListJourneys()}});
              }});

  router.Add({"GET", "/v1/journeys/{name}/instances/{key}", kStaff, false,
              "One instance: state, facts, pending timers, timeline with reasons, actions",
              [&app](Request& req) {
                auto j = app.journeys().Instance(req.params["name"], req.params["key"]);
                if (!j.ok()) return ErrorResponse(j.status());
                return JsonResponse(200, *j);
              }});

  router.Add({"POST",
              "/v1/journeys/{name}/instances/{key}/cancel",
              {Role::kAdmin, Role::kAgent},
              false,
              "Cancel an instance through its journey's cancellation end state",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  std::string reason = "cancelled through the API";
                  if (!req.body.empty()) {
                    ASSIGN_OR_RETURN(Json body, ParseJson(req.body));
                    ASSIGN_OR_RETURN(auto r, OptionalString(body, "reason"));
                    if (r) reason = *r;
                  }
                  ASSIGN_OR_RETURN(Json inst, app.journeys().Cancel(req.params["name"],
                                                                    req.params["key"], reason));
                  app.Poke();
                  return JsonResponse(200, inst);
                });
              }});

  router.Add({"GET",
              "/v1/outbox/held",
              {Role::kAdmin, Role::kAnalyst},
              false,
              "Messages held instead of sent (no person, no contact point for the channel, no "
              "consent for the purpose), with the reason: ?after=<idempotency key>&limit=",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 100, 1, 1000));
                  auto after = req.query.find("after");
                  ASSIGN_OR_RETURN(auto held, app.outbox().ListHeld(
                                                  after == req.query.end() ? "" : after->second,
                                                  static_cast<int>(limit)));
                  Json body = {{"held", held}};
                  body["next_after"] = static_cast<int64_t>(held.size()) == limit
                                           ? Json(held.back()["idempotency_key"])
                                           : Json(nullptr);
                  return JsonResponse(200, body);
                });
              }});

  router.Add({"GET",
              "/v1/outbox",
              {Role::kAdmin, Role::kAnalyst},
              false,
              "Every action the journeys created, in order: ?after=<seq>&limit=",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(int64_t after, QueryInt(req, "after", 0, 0, INT64_MAX));
                  ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 100, 1, 1000));
                  ASSIGN_OR_RETURN(auto lines, app.store().ReadLog("outbox", "", after, limit));
                  Json actions = Json::array();
                  for (const auto& l : lines) {
                    ASSIGN_OR_RETURN(Json a, ParseJson(l.body));
                    a["seq"] = l.seq;
                    actions.push_back(std::move(a));
                  }
                  Json body = {{"actions", actions}};
                  body["next_after"] = static_cast<int>(lines.size()) == limit
                                           ? Json(lines.back().seq)
                                           : Json(nullptr);
                  return JsonResponse(200, body);
                });
              }});
}

}  // namespace rapport::api
