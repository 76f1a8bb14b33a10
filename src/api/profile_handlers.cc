// Routes of the profiles: customer 360 and search, merge/split/undo by hand, the review
// queue, households and the household mailing list. Reads are for staff; decisions that
// change who is who are for admins and agents.
#include "api/handlers.h"

namespace rapport::api {

namespace {

using auth::Role;

const std::vector<Role> kReaders = {Role::kAdmin, Role::kAgent, Role::kAnalyst};
const std::vector<Role> kDeciders = {Role::kAdmin, Role::kAgent};

template <typename Fn>
Response Guarded(Fn&& fn) {
  Result<Response> r = fn();
  if (!r.ok()) return ErrorResponse(r.status());
  return std::move(r).value();
}

profiles::Actor ActorOf(const Request& req) {
  return {"user", req.principal.name.empty() ? req.principal.token_id : req.principal.name};
}

// The persons a search answer shows, for the audit log (the query text itself stays out: it is
// personal data).
Json PersonIds(const Json& found) {
  Json ids = Json::array();
  for (const auto& r : found["results"]) ids.push_back(r["id"]);
  return ids;
}

// Decisions about who is who go to the hash-chained audit log, synchronously: they are rare,
// and the answer should not claim a decision whose record could still be lost.
Status AuditDecision(app::App& app, const Request& req, std::string action, std::string subject,
                     Json detail) {
  return app.audit().Append(privacy::AuditLog::By(req.principal, std::move(action),
                                                  std::move(subject), std::move(detail)));
}

}  // namespace

void AddProfileRoutes(Router& router, app::App& app) {
  router.Add({"GET", "/v1/persons", kReaders, false,
              "Fuzzy search of persons by name, e-mail, phone or address: ?q=&limit=",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  auto q = req.query.find("q");
                  if (q == req.query.end() || q->second.empty()) {
                    return InvalidArgument("give a search text as ?q=", "q");
                  }
                  ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 20, 1, 100));
                  ASSIGN_OR_RETURN(Json found,
                                   app.profiles().Search(q->second, static_cast<int>(limit)));
                  RETURN_IF_ERROR(
                      AuditRead(app, req, "person.search", "", Json{{"found", PersonIds(found)}}));
                  return JsonResponse(200, found);
                });
              }});

  router.Add({"GET", "/v1/persons/{id}", kReaders, false,
              "Customer 360: golden record, source records with link evidence, household, "
              "recent events, reviews, audit. A merged-away id answers with the survivor and "
              "\"redirected_from\"",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(int64_t events, QueryInt(req, "events", 20, 0, 200));
                  // Any subject names its person here ("shop:C-1001", an e-mail address), so
                  // that a mail gateway holding an outbox subject finds whom to write to.
                  const std::string& asked = req.params["id"];
                  std::string id = asked;
                  auto resolved = app.profiles().ResolveSubject(asked);
                  bool by_subject =
                      resolved.ok() && resolved->by != "person" && resolved->by != "merged";
                  if (by_subject) id = resolved->person;
                  ASSIGN_OR_RETURN(Json p, app.profiles().GetPerson(id, static_cast<int>(events)));
                  if (by_subject) p["resolved_from"] = {{"subject", asked}, {"by", resolved->by}};
                  // Durable preferences (cases) belong to what an agent sees of a customer.
                  ASSIGN_OR_RETURN(Json prefs, app.cases().Preferences(p.value("id", "")));
                  p["preferences"] = prefs["preferences"];
                  ASSIGN_OR_RETURN(p["journeys"], app.JourneysOf(p.value("id", "")));
                  RETURN_IF_ERROR(AuditRead(app, req, "person.read", p.value("id", "")));
                  return JsonResponse(200, p);
                });
              }});

  router.Add({"GET", "/v1/persons/{id}/journeys", kReaders, false,
              "The journey instances about a person, whatever form of it their events named "
              "(person id, source:key, bare key, e-mail address): journey, key, status",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(auto resolved, app.profiles().ResolveSubject(req.params["id"]));
                  ASSIGN_OR_RETURN(Json list, app.JourneysOf(resolved.person));
                  RETURN_IF_ERROR(AuditRead(app, req, "person.read", resolved.person));
                  return JsonResponse(200, {{"person", resolved.person}, {"journeys", list}});
                });
              }});

  router.Add({"GET", "/v1/subjects/unresolved", kReaders, false,
              "Event subjects that name no person (yet), most events first: ?limit=",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 100, 1, 1000));
                  ASSIGN_OR_RETURN(auto unresolved,
                                   app.profiles().UnresolvedSubjects(static_cast<size_t>(limit)));
                  Json list = Json::array();
                  for (const auto& u : unresolved) {
                    list.push_back({{"subject", u.subject},
                                    {"reason", u.reason},
                                    {"events", u.events},
                                    {"first_event", u.first_event},
                                    {"last_event", u.last_event}});
                  }
                  return JsonResponse(200, Json{{"subjects", list}});
                });
              }});

  router.Add({"POST", "/v1/persons/{id}/merge", kDeciders, false,
              "Merge another person into this one: {\"other\": id}; the older id survives",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, ParseJson(req.body));
                  ASSIGN_OR_RETURN(std::string other, RequiredString(body, "other"));
                  ASSIGN_OR_RETURN(Json merge,
                                   app.profiles().Merge(req.params["id"], other, ActorOf(req)));
                  RETURN_IF_ERROR(
                      AuditDecision(app, req, "person.merge", req.params["id"],
                                    {{"other", other}, {"merge", merge.value("id", "")}}));
                  return JsonResponse(200, merge);
                });
              }});

  router.Add(
      {"POST", "/v1/persons/{id}/split", kDeciders, false,
       "Move source records to a new person: {\"records\": [record ids]}", [&app](Request& req) {
         return Guarded([&]() -> Result<Response> {
           ASSIGN_OR_RETURN(Json body, ParseJson(req.body));
           if (!body.is_object() || !body.contains("records") || !body["records"].is_array()) {
             return InvalidArgument("records must be a list of record ids", "records");
           }
           std::vector<std::string> records;
           for (const auto& r : body["records"]) {
             if (!r.is_string()) {
               return InvalidArgument("records must be a list of record ids", "records");
             }
             records.push_back(r.get<std::string>());
           }
           // Through the ledger: consents, aliases and disclosures follow the records.
           ASSIGN_OR_RETURN(Json out,
                            app.privacy().Split(req.params["id"], records, req.principal));
           RETURN_IF_ERROR(
               AuditDecision(app, req, "person.split", req.params["id"], {{"records", records}}));
           return JsonResponse(200, out);
         });
       }});

  router.Add(
      {"POST", "/v1/merges/{id}/undo", kDeciders, false,
       "Undo a merge: the absorbed person returns under its own id with its records",
       [&app](Request& req) {
         return Guarded([&]() -> Result<Response> {
           ASSIGN_OR_RETURN(Json out, app.profiles().UndoMerge(req.params["id"], ActorOf(req)));
           RETURN_IF_ERROR(AuditDecision(app, req, "merge.undo", req.params["id"], Json::object()));
           return JsonResponse(200, out);
         });
       }});

  router.Add({"GET", "/v1/reviews", kReaders, false,
              "Record pairs in the gray zone waiting for a decision (?all=true: decided too)",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  bool all = req.query.count("all") && req.query["all"] == "true";
                  ASSIGN_OR_RETURN(int64_t limit, QueryInt(req, "limit", 100, 1, 1000));
                  ASSIGN_OR_RETURN(Json out,
                                   app.profiles().ListReviews(all, static_cast<int>(limit)));
                  return JsonResponse(200, out);
                });
              }});

  router.Add({"POST", "/v1/reviews/{id}", kDeciders, false,
              "Decide a review: {\"decision\": \"accept\"|\"reject\"}; kept as a label",
              [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json body, ParseJson(req.body));
                  ASSIGN_OR_RETURN(std::string decision, RequiredString(body, "decision"));
                  ASSIGN_OR_RETURN(Json out, app.profiles().DecideReview(req.params["id"], decision,
                                                                         ActorOf(req)));
                  RETURN_IF_ERROR(AuditDecision(app, req, "review.decided", req.params["id"],
                                                {{"decision", decision}}));
                  return JsonResponse(200, out);
                });
              }});

  router.Add({"GET", "/v1/households/{id}", kReaders, false,
              "A household: salutation, address and members", [&app](Request& req) {
                return Guarded([&]() -> Result<Response> {
                  ASSIGN_OR_RETURN(Json h, app.profiles().GetHousehold(req.params["id"]));
                  RETURN_IF_ERROR(AuditRead(app, req, "household.read", req.params["id"]));
                  return JsonResponse(200, h);
                });
              }});

  router.Add(
      {"GET",
       "/v1/mailing",
       {Role::kAdmin, Role::kAnalyst},
       false,
       "Mailing list, one entry per household: ?segment=city=München,source=shop "
       "&format=csv; counts the mailings avoided",
       [&app](Request& req) {
         return Guarded([&]() -> Result<Response> {
           std::string segment = req.query.count("segment") ? req.query["segment"] : "";
           ASSIGN_OR_RETURN(auto mailing, app.profiles().Mailing(segment));
           RETURN_IF_ERROR(AuditRead(app, req, "mailing.read", "", Json{{"segment", segment}}));
           if (req.query.count("format") && req.query["format"] == "csv") {
             Response r;
             r.content_type = "text/csv; charset=utf-8";
             r.body = profiles::MailingToCsv(mailing);
             return r;
           }
           Json out = profiles::MailingToJson(mailing);
           out["segment"] = segment.empty() ? "all" : segment;
           return JsonResponse(200, out);
         });
       }});
}

}  // namespace rapport::api
