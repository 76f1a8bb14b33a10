// Routes of the privacy ledger: source and recipient registries, retention rules, provenance,
// consents, the disclosure register, exports and partner reads (both through the disclosure
// check), leak findings, the access report and erasure.
#include "api/handlers.h"

namespace rapport::api {

namespace {

using auth::Role;

const std::vector<Role> kAdmins = {Role::kAdmin};
const std::vector<Role> kStaff = {Role::kAdmin, Role::kAgent, Role::kAnalyst};
const std::vector<Role> kWriters = {Role::kAdmin, Role::kAgent};
const std::vector<Role> kOverseers = {Role::kAdmin, Role::kAnalyst};

template <typename Fn>
Response Guarded(Fn&& fn) {
  Result<Response> r = fn();
  if (!r.ok()) return ErrorResponse(r.status());
  return std::move(r).value();
}

Result<Json> Body(const Request& req) {
  if (req.body.empty()) return InvalidArgument("expected a JSON object", "body");
  return ParseJson(req.body);
}

// "a,b,c" → {"a","b","c"} (empty items dropped).
std::vector<std::string> CommaList(const Request& req, const std::string& name) {
  std::vector<std::string> out;
  auto it = req.query.find(name);
  if (it == req.query.end()) return out;
  const std::string& s = it->second;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Result<std::string> RequiredQuery(const Request& req, const std::string& name) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) {
    return InvalidArgument("give ?" + name + "=", name);
  }
  return it->second;
}

}  // namespace

void AddPrivacyRoutes(Router& router, app::App& app) {
  router.Add({"PUT", "/v1/privacy/sources/{name}", kAdmins, false,
              "Register a source's provenance defaults (a new version from now on): "
              "{\"channel\",\"organisation\",\"purposes\",\"legal_basis\",\"consent_ref\"}",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, Body(req));
                  ASSIGN_OR_RETURN(
                      Json doc, app.privacy().PutSource(req.params["name"], body, req.principal));
                  return JsonResponse(200, doc);
                });
              }});
  router.Add({"GET", "/v1/privacy/sources", kStaff, false,
              "The source registry with every version (unregistered sources included)",
              [&app](Request&) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json out, app.privacy().ListSources());
                  return JsonResponse(200, out);
                });
              }});
  router.Add({"PUT", "/v1/privacy/recipients/{name}", kAdmins, false,
              "Register a third party: {\"organisation\",\"legal_basis\",\"purposes\","
              "\"endpoints\",\"mail_domains\"}",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, Body(req));
                  ASSIGN_OR_RETURN(Json doc, app.privacy().PutRecipient(req.params["name"], body,
                                                                        req.principal));
                  return JsonResponse(200, doc);
                });
              }});
  router.Add({"GET", "/v1/privacy/recipients", kStaff, false, "The registered third parties",
              [&app](Request&) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json out, app.privacy().ListRecipients());
                  return JsonResponse(200, out);
                });
              }});
  router.Add({"PUT", "/v1/privacy/retention/{purpose}", kAdmins, false,
              "Retention of data collected for a purpose: {\"days\": n}", [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, Body(req));
                  ASSIGN_OR_RETURN(Json doc, app.privacy().PutRetention(req.params["purpose"], body,
                                                                        req.principal));
                  return JsonResponse(200, doc);
                });
              }});
  router.Add({"GET", "/v1/privacy/retention", kStaff, false, "Retention rules per purpose",
              [&app](Request&) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json out, app.privacy().ListRetention());
                  return JsonResponse(200, out);
                });
              }});
  router.Add({"POST", "/v1/privacy/retention/run", kAdmins, false,
              "Apply the retention rules now: erase every person whose data is past retention",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json out, app.privacy().RunRetention(req.principal));
                  return JsonResponse(200, out);
                });
              }});
  router.Add({"GET", "/v1/records/{id}/provenance", kStaff, false,
              "Where a source record's data came from: source, channel, organisation, "
              "purposes, legal basis or consent, collection time",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(SourceRecord r, app.store().GetRecord(req.params["id"]));
                  ASSIGN_OR_RETURN(Json p,
                                   app.privacy().Provenance(r.source, r.received_at, r.fields));
                  p["record"] = r.id;
                  return JsonResponse(200, p);
                });
              }});
  router.Add({"POST", "/v1/persons/{id}/consents", kWriters, false,
              "Record a consent: {\"purposes\",\"recipients\",\"proof\":{\"text_version\","
              "\"channel\",\"reference\"},\"given_at\"}",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, Body(req));
                  ASSIGN_OR_RETURN(
                      Json c, app.privacy().GiveConsent(req.params["id"], body, req.principal));
                  return JsonResponse(201, c);
                });
              }});
  router.Add({"GET", "/v1/persons/{id}/consents", kStaff, false,
              "A person's consents with their history (withdrawn ones included)",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json view, app.profiles().GetPerson(req.params["id"], 0));
                  ASSIGN_OR_RETURN(Json out, app.privacy().ListConsents(view["id"]));
                  return JsonResponse(200, out);
                });
              }});
  router.Add({"POST", "/v1/persons/{id}/consents/{consent}/withdraw", kWriters, false,
              "Withdraw a consent (kept in the history)", [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(
                      Json c, app.privacy().WithdrawConsent(req.params["id"], req.params["consent"],
                                                            req.principal));
                  return JsonResponse(200, c);
                });
              }});
  router.Add({"GET", "/v1/persons/{id}/disclosures", kStaff, false,
              "The disclosure register of a person: every hand-over and every refusal",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json view, app.profiles().GetPerson(req.params["id"], 0));
                  ASSIGN_OR_RETURN(Json out, app.privacy().ListDisclosures(view["id"]));
                  return JsonResponse(200, out);
                });
              }});
  router.Add({"GET", "/v1/persons/{id}/access-report", kWriters, false,
              "GDPR Art. 15 access report: every datum with source, purposes, legal basis, "
              "recipients and retention (JSON; ?format=html for a printable page)",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json report,
                                   app.privacy().AccessReport(req.params["id"], req.principal));
                  if (req.query.count("format") && req.query["format"] == "html") {
                    Response r;
                    r.content_type = "text/html; charset=utf-8";
                    r.body = privacy::AccessReportHtml(report);
                    return r;
                  }
                  return JsonResponse(200, report);
                });
              }});
  router.Add({"POST", "/v1/persons/{id}/erasure", kAdmins, false,
              "GDPR Art. 17 erasure: {\"reason\"}; removes the person's data from records, "
              "persons, events, search, journeys, the outbox and its file, cases and "
              "appliances; keeps an erasure record",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  Json body = Json::object();
                  if (!req.body.empty()) {
                    ASSIGN_OR_RETURN(body, ParseJson(req.body));
                  }
                  ASSIGN_OR_RETURN(auto reason, OptionalString(body, "reason"));
                  ASSIGN_OR_RETURN(Json out,
                                   app.privacy().Erase(req.params["id"], req.principal,
                                                       reason.value_or("request of the person")));
                  return JsonResponse(200, out);
                });
              }});
  router.Add({"GET", "/v1/exports/persons", kOverseers, false,
              "Export persons to a third party through the disclosure check: "
              "?recipient=&purpose=&fields=a,b&person=id (refusals are listed and recorded)",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(std::string recipient, RequiredQuery(req, "recipient"));
                  ASSIGN_OR_RETURN(std::string purpose, RequiredQuery(req, "purpose"));
                  ASSIGN_OR_RETURN(
                      Json out, app.privacy().Export(recipient, purpose, CommaList(req, "fields"),
                                                     CommaList(req, "person"), req.principal));
                  return JsonResponse(200, out);
                });
              }});
  router.Add({"GET",
              "/v1/partner/persons/{id}",
              {Role::kPartner},
              false,
              "A partner reads a person's data for a purpose (?purpose=&fields=), through the "
              "disclosure check, only for a person it holds a work order (within the access "
              "window), a case or a consent naming it of; e-mail comes as the partner's own "
              "alias. A refused read is recorded and answers exactly as an unknown person "
              "does (404)",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(std::string purpose, RequiredQuery(req, "purpose"));
                  if (req.principal.org.empty()) {
                    return PermissionDenied("this partner token names no organisation");
                  }
                  const std::string& id = req.params["id"];
                  auto out = app.privacy().PartnerReadPerson(
                      {id, "", purpose, CommaList(req, "fields"), "GET /v1/partner/persons/{id}"},
                      req.principal);
                  // Issue 9: a partner must not learn that a person it may not read exists,
                  // so a refusal (recorded in the register) and an unknown id answer alike.
                  if (!out.ok() && (out.status().code() == StatusCode::kPermissionDenied ||
                                    out.status().code() == StatusCode::kNotFound)) {
                    return NotFound("no person " + id, "id");
                  }
                  RETURN_IF_ERROR(out.status());
                  return JsonResponse(200, *out);
                });
              }});
  router.Add({"GET", "/v1/privacy/leaks", kOverseers, false,
              "Leak findings: mail to a recipient's alias from a sender that never received it",
              [&app](Request&) {
                return Guarded([&]() -> Result<Response> {
                  RETURN_IF_ERROR(app.privacy().ScanInboundMail().status());
                  ASSIGN_OR_RETURN(Json out, app.privacy().ListLeaks());
                  return JsonResponse(200, out);
                });
              }});
}

}  // namespace rapport::api
