// Routes of the service network: catalogue and partners (staff), assets, work orders, service
// records and the technician briefing. Partners call the same routes as staff; what they see
// is decided by src/service (their own work orders), never by the route.
#include "api/handlers.h"

namespace rapport::api {

namespace {

using auth::Role;

const std::vector<Role> kStaff = {Role::kAdmin, Role::kAgent, Role::kAnalyst};
const std::vector<Role> kWriters = {Role::kAdmin, Role::kAgent};
const std::vector<Role> kEveryone = {Role::kAdmin, Role::kAgent, Role::kAnalyst, Role::kPartner};
const std::vector<Role> kRecorders = {Role::kAdmin, Role::kAgent, Role::kPartner};

template <typename Fn>
Response Guarded(Fn&& fn) {
  Result<Response> r = fn();
  if (!r.ok()) return ErrorResponse(r.status());
  return std::move(r).value();
}

std::string Query(const Request& req, const std::string& name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? "" : it->second;
}

// A route whose handler turns the body into a JSON answer with `status`.
Handler JsonBody(int status, std::function<Result<Json>(const Json&, Request&)> fn) {
  return [status, fn = std::move(fn)](Request& req) {
    return Guarded([&]() -> Result<Response> {
      ASSIGN_OR_RETURN(Json body, ParseJson(req.body.empty() ? "{}" : req.body));
      ASSIGN_OR_RETURN(Json out, fn(body, req));
      return JsonResponse(status, out);
    });
  };
}

Handler JsonRead(std::function<Result<Json>(Request&)> fn) {
  return [fn = std::move(fn)](Request& req) {
    return Guarded([&]() -> Result<Response> {
      ASSIGN_OR_RETURN(Json out, fn(req));
      return JsonResponse(200, out);
    });
  };
}

}  // namespace

void AddServiceRoutes(Router& router, app::App& app) {
  service::ServiceNetwork& net = app.service();

  router.Add({"POST", "/v1/catalog/models", kWriters, false,
              "Add or replace a model of the catalogue: {model, family, product_line, parts}",
              JsonBody(200, [&net](const Json& b, Request&) { return net.PutModel(b); })});
  router.Add({"GET", "/v1/catalog/models/{model}", kEveryone, false,
              "A model of the catalogue with its part list",
              JsonRead([&net](Request& r) { return net.GetModel(r.params["model"]); })});

  router.Add({"POST",
              "/v1/partners",
              {Role::kAdmin},
              false,
              "Add or replace a partner organisation: {org, name, product_lines, regions, "
              "technicians}; org is the organisation of its partner tokens",
              JsonBody(200, [&net](const Json& b, Request&) { return net.PutPartner(b); })});
  router.Add({"GET", "/v1/partners", kStaff, false, "Partner organisations and certifications",
              JsonRead([&net](Request&) { return net.ListPartners(); })});

  router.Add({"POST", "/v1/assets", kWriters, false,
              "Register an appliance: {model, serial, purchased, installed?, owner?, "
              "location: {region, postcode?, city?, street?}}",
              JsonBody(201, [&net](const Json& b, Request& r) {
                return net.CreateAsset(b, r.principal);
              })});
  router.Add({"GET", "/v1/assets", kEveryone, false,
              "Find appliances by ?serial= or ?owner=; a partner finds only those it holds a "
              "work order for",
              JsonRead([&net](Request& r) {
                return net.FindAssets(Query(r, "serial"), Query(r, "owner"), r.principal);
              })});
  router.Add({"GET", "/v1/assets/{id}", kEveryone, false,
              "An appliance with its owner's contact data; for a partner only while it holds an "
              "open (or recently closed) work order for it, else 404. Audited",
              JsonRead([&net](Request& r) { return net.GetAsset(r.params["id"], r.principal); })});
  router.Add({"GET", "/v1/assets/{id}/history", kEveryone, false,
              "Service records of all partners, oldest first (access as for the asset). Audited",
              JsonRead([&net](Request& r) { return net.History(r.params["id"], r.principal); })});

  router.Add({"POST", "/v1/work-orders", kWriters, false,
              "Open a work order from an online report or by an agent: {asset, symptom, "
              "category?, source: online|agent, partner?}; without partner the first certified "
              "one gets it",
              JsonBody(201, [&net](const Json& b, Request& r) {
                return net.CreateWorkOrder(b, r.principal);
              })});
  router.Add({"GET", "/v1/work-orders", kEveryone, false,
              "Work orders (?status=open|closed&limit=); a partner sees its own",
              JsonRead([&net](Request& r) -> Result<Json> {
                ASSIGN_OR_RETURN(int64_t limit, QueryInt(r, "limit", 100, 1, 1000));
                return net.ListWorkOrders(Query(r, "status"), static_cast<int>(limit), r.principal);
              })});
  router.Add({"GET", "/v1/work-orders/{id}", kEveryone, false,
              "A work order (a partner: only its own, else 404)", JsonRead([&net](Request& r) {
                return net.GetWorkOrder(r.params["id"], r.principal);
              })});
  router.Add({"POST", "/v1/work-orders/{id}/close", kRecorders, false,
              "Close a work order: {outcome?}; the partner keeps access for the access window",
              JsonBody(200, [&net](const Json& b, Request& r) {
                return net.CloseWorkOrder(r.params["id"], b, r.principal);
              })});
  router.Add({"GET", "/v1/work-orders/{id}/briefing", kEveryone, false,
              "Technician briefing: the appliance's full history from all partners, the "
              "reported symptom and the parts likely needed, ranked with probabilities and the "
              "history each rests on. Audited",
              JsonRead([&net](Request& r) { return net.Briefing(r.params["id"], r.principal); })});

  router.Add({"POST", "/v1/service-records", kRecorders, false,
              "Record a maintenance or repair: {asset, work_order?, date, kind: "
              "repair|maintenance, findings?, symptom?, category?, parts_used, labour_minutes?, "
              "outcome, technician?}",
              JsonBody(201, [&net](const Json& b, Request& r) {
                return net.AddServiceRecord(b, r.principal);
              })});
}

}  // namespace rapport::api
