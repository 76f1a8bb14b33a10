// Routes of the audit log (who read, disclosed, merged, consented or erased whose personal
// data), and AuditRead, which every route that hands out personal data calls before it answers.
#include <cstdint>
#include <cstdlib>

#include "api/handlers.h"

namespace rapport::api {

namespace {

using auth::Role;

}  // namespace

Status AuditRead(app::App& app, const Request& req, std::string action, std::string subject,
                 Json detail) {
  Status s = app.audit().AppendBuffered(privacy::AuditLog::By(
      req.principal, std::move(action), std::move(subject), std::move(detail)));
  // A read that cannot be audited is not answered.
  if (!s.ok()) return Unavailable("could not record this read in the audit log: " + s.message());
  return s;
}

void AddAuditRoutes(Router& router, app::App& app) {
  router.Add({"GET",
              "/v1/audit",
              {Role::kAdmin, Role::kAnalyst},
              false,
              "Audit log entries, optionally of one subject: ?subject=&after=&limit=",
              [&app](Request& req) {
                auto after = QueryInt(req, "after", 0, 0, INT64_MAX);
                if (!after.ok()) return ErrorResponse(after.status());
                auto limit = QueryInt(req, "limit", 100, 1, 1000);
                if (!limit.ok()) return ErrorResponse(limit.status());
                auto subject = req.query.find("subject");
                auto records = app.audit().List(subject == req.query.end() ? "" : subject->second,
                                                *after, static_cast<int>(*limit));
                if (!records.ok()) return ErrorResponse(records.status());
                Json entries = Json::array();
                for (const auto& r : *records) entries.push_back(privacy::AuditRecordToJson(r));
                int64_t next =
                    static_cast<int64_t>(records->size()) == *limit ? records->back().seq : 0;
                return JsonResponse(200, Json{{"entries", entries}, {"next_after", next}});
              }});

  router.Add({"GET",
              "/v1/audit/verify",
              {Role::kAdmin},
              false,
              "Re-computes the audit log's keyed hash chain: {ok, entries, keyed_from, problem}",
              [&app](Request&) {
                auto v = app.audit().Verify();
                if (!v.ok()) return ErrorResponse(v.status());
                Json body{{"ok", v->ok}, {"entries", v->entries}, {"keyed_from", v->first_keyed}};
                if (!v->ok) body["problem"] = v->problem;
                return JsonResponse(200, body);
              }});
}

}  // namespace rapport::api
