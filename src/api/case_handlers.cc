// Routes of cases: open, read (audited), collect, verify, message, hand over, change state;
// preferences; event annotations; configuration and dry runs of routing and classification.
// Agents and admins work cases; analysts read; a partner token reaches only cases of its own
// organisation, and any other case answers 404 as if it did not exist.
#include "api/handlers.h"
#include "cases/rules.h"

namespace rapport::api {

namespace {

using auth::Role;

const std::vector<Role> kWorkers = {Role::kAdmin, Role::kAgent};
const std::vector<Role> kPartnerWorkers = {Role::kAdmin, Role::kAgent, Role::kPartner};
const std::vector<Role> kReaders = {Role::kAdmin, Role::kAgent, Role::kAnalyst, Role::kPartner};
const std::vector<Role> kStaff = {Role::kAdmin, Role::kAgent, Role::kAnalyst};

template <typename Fn>
Response Guarded(Fn&& fn) {
  Result<Response> r = fn();
  if (!r.ok()) return ErrorResponse(r.status());
  return std::move(r).value();
}

cases::Actor ActorOf(const Request& req) {
  return {req.principal.token_id, std::string(store::RoleName(req.principal.role)),
          req.principal.org, req.principal.name};
}

Result<Json> BodyObject(const Request& req) {
  ASSIGN_OR_RETURN(Json body, ParseJson(req.body));
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object", "body");
  return body;
}

Result<std::optional<int64_t>> ExpectedRevision(const Json& body) {
  if (!body.contains("expected_revision")) return std::optional<int64_t>();
  const Json& r = body["expected_revision"];
  if (!r.is_number_integer() || r.get<int64_t>() < 1) {
    return InvalidArgument("expected_revision must be a positive whole number",
                           "expected_revision");
  }
  return std::optional<int64_t>(r.get<int64_t>());
}

// {"name": "value", ...} → pairs, in the order given.
Result<std::vector<std::pair<std::string, std::string>>> FieldMap(const Json& body,
                                                                  const std::string& key) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!body.contains(key)) return out;
  if (!body[key].is_object()) {
    return InvalidArgument(key + " must be an object of field name to value", key);
  }
  for (const auto& [name, value] : body[key].items()) {
    if (value.is_object() || value.is_array() || value.is_null()) {
      return InvalidArgument("a field value must be a text, number or boolean", key + "." + name);
    }
    out.emplace_back(name, ScalarText(value));
  }
  return out;
}

// A case read hands out personal data: agents' and partners' reads go to the audit log.
Status AuditCaseRead(app::App& app, const Request& req, const Json& c, const char* what) {
  if (req.principal.role != Role::kAgent && req.principal.role != Role::kPartner) {
    return OkStatus();
  }
  Json fields = Json::array();
  if (c.contains("fields") && c["fields"].is_object()) {
    for (const auto& [name, _] : c["fields"].items()) fields.push_back(name);
  }
  if (c.contains("known")) {
    for (const auto& k : c["known"]) fields.push_back(k.value("field", ""));
  }
  return AuditRead(app, req, what, c.value("id", c.value("case", "")),
                   {{"person", c.value("person", "")}, {"fields", fields}});
}

// Issue 7: a case a partner reads (the person's fields, the customer's words in the
// timeline) is handed to the partner's organisation, so it passes the privacy ledger's gate
// first (purpose "case-handling"): recorded in the disclosure register, refused with the
// reason (403, also recorded) when no consent or legal basis covers it. A case whose person
// the ledger does not know is refused as well: nothing about a person leaves unchecked.
Status DiscloseToPartner(app::App& app, const Request& req, const Json& c, const char* via) {
  if (req.principal.role != Role::kPartner) return OkStatus();
  privacy::DisclosureRequest r;
  r.person = c.value("person", "");
  if (r.person.empty()) return OkStatus();  // no person, no personal data
  r.purpose = privacy::kCaseHandlingPurpose;
  r.via = via;
  r.data.push_back("case");
  if (c.contains("fields") && c["fields"].is_object()) {
    for (const auto& [name, _] : c["fields"].items()) r.data.push_back("case.fields." + name);
  }
  auto granted = app.privacy().PartnerRead(std::move(r), req.principal);
  if (!granted.ok() && granted.status().code() == StatusCode::kNotFound) {
    return PermissionDenied(
        "the case's person is unknown to the privacy ledger, so nothing "
        "of the case is disclosed to a partner");
  }
  return granted.status();
}

using MutationFn = std::function<Result<Json>(const Json& body, std::optional<int64_t> rev,
                                              const cases::Actor& actor)>;

// A mutation answers with the whole case: a partner's passes the disclosure gate once the body,
// the revision and the change's own checks passed (so a refused one is not recorded as a
// hand-over), and before it is written (so a change the gate refuses is not made).
Response Mutation(app::App& app, const Request& req, const MutationFn& fn) {
  return Guarded([&]() -> Result<Response> {
    ASSIGN_OR_RETURN(Json body, BodyObject(req));
    ASSIGN_OR_RETURN(auto rev, ExpectedRevision(body));
    cases::Actor actor = ActorOf(req);
    if (req.principal.role == Role::kPartner) {
      actor.before_write = [&app, &req](const Json& c) {
        return DiscloseToPartner(app, req, c, "POST /v1/cases/{id}/...");
      };
    }
    ASSIGN_OR_RETURN(Json c, fn(body, rev, actor));
    return JsonResponse(200, c);
  });
}

}  // namespace

void AddCaseRoutes(Router& router, app::App& app) {
  router.Add(
      {"POST", "/v1/cases", kPartnerWorkers, false,
       "Open a case: {person, text (what the customer said; routes it), type, priority, title, "
       "team (skips routing), channel, fields{}, attributes{}}",
       [&app](Request& req) {
         return Guarded([&]() -> Result<Response> {
           ASSIGN_OR_RETURN(Json body, BodyObject(req));
           cases::OpenCaseRequest r;
           ASSIGN_OR_RETURN(r.person, RequiredString(body, "person"));
           ASSIGN_OR_RETURN(auto text, OptionalString(body, "text"));
           ASSIGN_OR_RETURN(auto type, OptionalString(body, "type"));
           ASSIGN_OR_RETURN(auto priority, OptionalString(body, "priority"));
           ASSIGN_OR_RETURN(auto title, OptionalString(body, "title"));
           ASSIGN_OR_RETURN(auto team, OptionalString(body, "team"));
           ASSIGN_OR_RETURN(auto channel, OptionalString(body, "channel"));
           ASSIGN_OR_RETURN(r.fields, FieldMap(body, "fields"));
           ASSIGN_OR_RETURN(auto attributes, FieldMap(body, "attributes"));
           r.text = text.value_or("");
           r.type = type.value_or("inquiry");
           r.priority = priority.value_or("normal");
           r.title = title.value_or("");
           r.team = team.value_or("");
           r.channel = channel.value_or("phone");
           for (auto& [k, v] : attributes) r.attributes[k] = v;
           if (body.contains("in_contact")) {
             if (!body["in_contact"].is_boolean()) {
               return InvalidArgument("in_contact must be true or false", "in_contact");
             }
             r.in_contact = body["in_contact"].get<bool>();
           }
           if (req.principal.role == Role::kPartner) {
             // Issue 7: the case comes back to the partner, so it passes the gate of a
             // partner's read of it; after the checks that could still refuse the open, so the
             // register holds no hand-over of a case that was never opened.
             RETURN_IF_ERROR(app.cases().CheckOpen(r, ActorOf(req)));
             Json to_open = {{"person", r.person}, {"fields", Json::object()}};
             for (const auto& [name, value] : r.fields) to_open["fields"][name] = value;
             RETURN_IF_ERROR(DiscloseToPartner(app, req, to_open, "POST /v1/cases"));
           }
           ASSIGN_OR_RETURN(Json c, app.cases().Open(r, ActorOf(req)));
           return JsonResponse(201, c);
         });
       }});

  router.Add({"GET", "/v1/cases", kReaders, false,
              "Cases (a partner sees its organisation's only): ?team=&state=&person=&type=&limit=",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  cases::CaseFilter f;
                  f.team = req.query.count("team") ? req.query["team"] : "";
                  f.state = req.query.count("state") ? req.query["state"] : "";
                  f.person = req.query.count("person") ? req.query["person"] : "";
                  f.type = req.query.count("type") ? req.query["type"] : "";
                  if (req.query.count("limit")) {
                    ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 100, 1, 1000));
                    f.limit = static_cast<int>(limit);
                  }
                  ASSIGN_OR_RETURN(Json list, app.cases().List(f, ActorOf(req)));
                  if (req.principal.role == Role::kPartner) {
                    // Each listed case (its person, its title) through the gate; a refused
                    // one is left out, as an export leaves a refused person out.
                    Json shown = Json::array();
                    for (auto& c : list["cases"]) {
                      Status s = DiscloseToPartner(app, req, c, "GET /v1/cases");
                      if (s.code() == StatusCode::kPermissionDenied) continue;
                      RETURN_IF_ERROR(s);
                      shown.push_back(std::move(c));
                    }
                    list["cases"] = std::move(shown);
                  }
                  return JsonResponse(200, list);
                });
              }});

  router.Add({"GET", "/v1/cases/{id}", kReaders, false,
              "One case with its fields, verification, SLAs and timeline (reads are audited)",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json c, app.cases().Get(req.params["id"], ActorOf(req)));
                  RETURN_IF_ERROR(DiscloseToPartner(app, req, c, "GET /v1/cases/{id}"));
                  RETURN_IF_ERROR(AuditCaseRead(app, req, c, "case.read"));
                  return JsonResponse(200, c);
                });
              }});

  router.Add({"GET", "/v1/cases/{id}/view", kReaders, false,
              "The receiving agent's view: what is known (do not ask again), what the team "
              "still needs, whether the verification is valid, handovers",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json v, app.cases().View(req.params["id"], ActorOf(req)));
                  RETURN_IF_ERROR(DiscloseToPartner(app, req, v, "GET /v1/cases/{id}/view"));
                  RETURN_IF_ERROR(AuditCaseRead(app, req, v, "case.read"));
                  return JsonResponse(200, v);
                });
              }});

  router.Add({"POST", "/v1/cases/{id}/fields", kPartnerWorkers, false,
              "Collect fields: {fields:{name:value}, source: customer (asked; a known field "
              "counts as a repeat) | agent, expected_revision}",
              [&app](Request& req) {
                return Mutation(
                    app, req, [&](const Json& body, auto rev, const auto& actor) -> Result<Json> {
                      ASSIGN_OR_RETURN(auto fields, FieldMap(body, "fields"));
                      ASSIGN_OR_RETURN(auto source, OptionalString(body, "source"));
                      std::string s = source.value_or("customer");
                      if (s != "customer" && s != "agent") {
                        return InvalidArgument("source must be 'customer' or 'agent'", "source");
                      }
                      return app.cases().CollectFields(req.params["id"], fields, s == "customer",
                                                       actor, rev);
                    });
              }});

  router.Add({"POST", "/v1/cases/{id}/notes", kPartnerWorkers, false,
              "Add a note: {text, expected_revision}", [&app](Request& req) {
                return Mutation(app, req,
                                [&](const Json& body, auto rev, const auto& actor) -> Result<Json> {
                                  ASSIGN_OR_RETURN(std::string text, RequiredString(body, "text"));
                                  return app.cases().AddNote(req.params["id"], text, actor, rev);
                                });
              }});

  router.Add({"POST", "/v1/cases/{id}/verification", kPartnerWorkers, false,
              "Record how the customer's identity was checked: {method, valid_for: \"30m\"}",
              [&app](Request& req) {
                return Mutation(
                    app, req, [&](const Json& body, auto rev, const auto& actor) -> Result<Json> {
                      ASSIGN_OR_RETURN(std::string method, RequiredString(body, "method"));
                      ASSIGN_OR_RETURN(auto valid_for, OptionalString(body, "valid_for"));
                      auto d = ParseDuration(valid_for.value_or("1h"));
                      if (!d.ok()) return d.status().WithWhere("valid_for");
                      return app.cases().RecordVerification(req.params["id"], method, *d, actor,
                                                            rev);
                    });
              }});

  router.Add({"POST", "/v1/cases/{id}/messages", kPartnerWorkers, false,
              "A message with the customer: {direction: in|out, channel, text}; the first "
              "outgoing one is the first contact",
              [&app](Request& req) {
                return Mutation(
                    app, req, [&](const Json& body, auto rev, const auto& actor) -> Result<Json> {
                      ASSIGN_OR_RETURN(std::string direction, RequiredString(body, "direction"));
                      ASSIGN_OR_RETURN(std::string text, RequiredString(body, "text"));
                      ASSIGN_OR_RETURN(auto channel, OptionalString(body, "channel"));
                      return app.cases().AddMessage(req.params["id"], direction,
                                                    channel.value_or(""), text, actor, rev);
                    });
              }});

  router.Add({"POST", "/v1/cases/{id}/handover", kWorkers, false,
              "Hand the case to another team: {team, reason}; every field and the "
              "verification stay on the case",
              [&app](Request& req) {
                return Mutation(
                    app, req, [&](const Json& body, auto rev, const auto& actor) -> Result<Json> {
                      ASSIGN_OR_RETURN(std::string team, RequiredString(body, "team"));
                      ASSIGN_OR_RETURN(std::string reason, RequiredString(body, "reason"));
                      return app.cases().Handover(req.params["id"], team, reason, actor, rev);
                    });
              }});

  router.Add({"POST", "/v1/cases/{id}/state", kPartnerWorkers, false,
              "Change the state: {state: in_progress|waiting_for_customer|resolved|closed, "
              "reason}",
              [&app](Request& req) {
                return Mutation(
                    app, req, [&](const Json& body, auto rev, const auto& actor) -> Result<Json> {
                      ASSIGN_OR_RETURN(std::string state, RequiredString(body, "state"));
                      ASSIGN_OR_RETURN(auto reason, OptionalString(body, "reason"));
                      return app.cases().ChangeState(req.params["id"], state, reason.value_or(""),
                                                     actor, rev);
                    });
              }});

  router.Add({"POST", "/v1/cases/{id}/preferences", kWorkers, false,
              "Store a durable preference of the case's customer: {name, value}; provenance "
              "names the case, who and when",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, BodyObject(req));
                  ASSIGN_OR_RETURN(std::string name, RequiredString(body, "name"));
                  ASSIGN_OR_RETURN(std::string value, RequiredString(body, "value"));
                  ASSIGN_OR_RETURN(Json c, app.cases().Get(req.params["id"], ActorOf(req)));
                  ASSIGN_OR_RETURN(Json prefs,
                                   app.cases().SetPreference(c.value("person", ""), name, value,
                                                             ActorOf(req), req.params["id"]));
                  return JsonResponse(200, prefs);
                });
              }});

  router.Add({"PUT", "/v1/persons/{id}/preferences/{name}", kWorkers, false,
              "Store a durable preference of a customer outside a case: {value}",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, BodyObject(req));
                  ASSIGN_OR_RETURN(std::string value, RequiredString(body, "value"));
                  ASSIGN_OR_RETURN(Json prefs,
                                   app.cases().SetPreference(req.params["id"], req.params["name"],
                                                             value, ActorOf(req), ""));
                  return JsonResponse(200, prefs);
                });
              }});

  router.Add({"GET", "/v1/persons/{id}/preferences", kStaff, false,
              "A customer's durable preferences with provenance (also in the customer 360)",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json prefs, app.cases().Preferences(req.params["id"]));
                  return JsonResponse(200, prefs);
                });
              }});

  router.Add({"GET", "/v1/events/{id}/annotations", kStaff, false,
              "The customer preferences that applied to an event (e.g. an order's invoice "
              "format); 404 if none did",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  // Make sure the event has been looked at (the worker may not have run yet).
                  RETURN_IF_ERROR(app.cases().CatchUp().status());
                  ASSIGN_OR_RETURN(Json a, app.cases().Annotation(req.params["id"]));
                  return JsonResponse(200, a);
                });
              }});

  router.Add({"GET", "/v1/cases-config", kStaff, false,
              "The cases configuration in force: fields, teams, routing rules, SLAs (and its "
              "YAML)",
              [&app](Request&) {
                auto cfg = app.cases().config();
                Json teams = Json::array();
                for (const auto& t : cfg->teams) {
                  teams.push_back({{"id", t.id},
                                   {"name", t.name},
                                   {"skills", t.skills},
                                   {"needs", t.needs},
                                   {"org", t.org}});
                }
                Json rules = Json::array();
                for (const auto& r : cfg->rules) {
                  rules.push_back({{"id", r.id},
                                   {"team", r.team},
                                   {"keywords", r.keywords},
                                   {"event_types", r.event_types},
                                   {"attributes", r.attributes}});
                }
                Json fields = Json::array();
                for (const auto& f : cfg->fields) fields.push_back(f.name);
                return JsonResponse(200, {{"file", cfg->file},
                                          {"fields", fields},
                                          {"teams", teams},
                                          {"default_team", cfg->default_team},
                                          {"rules", rules},
                                          {"yaml", cfg->text}});
              }});

  router.Add({"PUT",
              "/v1/cases-config",
              {Role::kAdmin},
              false,
              "Replace the cases configuration (YAML body); errors name line:column",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(auto cfg, app.cases().SetConfig(req.body, "request body"));
                  ASSIGN_OR_RETURN(auto feedback, app.cases().CheckFeedbackFields(*cfg));
                  return JsonResponse(200, {{"teams", cfg->teams.size()},
                                            {"rules", cfg->rules.size()},
                                            {"slas", cfg->slas.size()},
                                            {"feedback_check", feedback.ToJson()}});
                });
              }});

  router.Add({"POST",
              "/v1/cases-config/check",
              {Role::kAdmin},
              false,
              "Check a cases configuration (YAML body) without putting it in force: errors name "
              "line:column; feedback_check lists the logged feedback events its rules read no "
              "key of",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(auto cfg, cases::LoadConfig(req.body, "request body"));
                  ASSIGN_OR_RETURN(auto feedback, app.cases().CheckFeedbackFields(*cfg));
                  return JsonResponse(200, {{"ok", !feedback.AnyTypeUnread()},
                                            {"feedback_check", feedback.ToJson()}});
                });
              }});

  router.Add({"POST", "/v1/cases-config/route", kStaff, false,
              "Dry run of routing: {text, event_type, case_type, attributes{}} → team, rule, "
              "reason",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, BodyObject(req));
                  cases::RoutingInput in;
                  ASSIGN_OR_RETURN(auto text, OptionalString(body, "text"));
                  ASSIGN_OR_RETURN(auto type, OptionalString(body, "event_type"));
                  ASSIGN_OR_RETURN(auto case_type, OptionalString(body, "case_type"));
                  ASSIGN_OR_RETURN(auto attributes, FieldMap(body, "attributes"));
                  in.text = text.value_or("");
                  in.event_type = type.value_or("");
                  in.case_type = case_type.value_or("");
                  for (auto& [k, v] : attributes) in.attributes[k] = v;
                  return JsonResponse(200, cases::Route(*app.cases().config(), in).ToJson());
                });
              }});

  router.Add({"POST", "/v1/cases-config/classify", kStaff, false,
              "Dry run of feedback classification: {text, rating} → topic, sentiment, words",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, BodyObject(req));
                  ASSIGN_OR_RETURN(auto text, OptionalString(body, "text"));
                  std::optional<int> rating;
                  if (body.contains("rating")) {
                    if (!body["rating"].is_number_integer()) {
                      return InvalidArgument("rating must be a whole number", "rating");
                    }
                    rating = body["rating"].get<int>();
                  }
                  return JsonResponse(200, cases::ClassifyFeedback(app.cases().config()->feedback,
                                                                   text.value_or(""), rating)
                                               .ToJson());
                });
              }});
}

}  // namespace rapport::api
