// The HTTP routes of the foundation: health, metrics, OpenAPI, records, events, tokens and
// the manual clock. Each later module adds its routes with its own Add*Routes function.
#pragma once

#include "api/router.h"
#include "app/app.h"

namespace rapport::api {

void AddCoreRoutes(Router& router, app::App& app);
// Journeys: deploy, list, instances, cancel, outbox.
void AddJourneyRoutes(Router& router, app::App& app);
// Profiles: persons (360, search, merge/split/undo), reviews, households, mailing.
void AddProfileRoutes(Router& router, app::App& app);
// Cases: open, work, hand over, SLAs; preferences; annotations; configuration.
void AddCaseRoutes(Router& router, app::App& app);

// The audit log: entries and chain verification.
void AddAuditRoutes(Router& router, app::App& app);
// Privacy ledger: registries, provenance, consents, disclosures, exports, partner reads,
// leaks, access report, erasure, retention.
void AddPrivacyRoutes(Router& router, app::App& app);
// Service network: catalogue, partners, assets, work orders, service records, briefings.
void AddServiceRoutes(Router& router, app::App& app);

// The web console at / (embedded in the binary, or served from `console_dir` when it is not
// empty), /v1/whoami, and the journeys' instance list, check and simulation.
void AddConsoleRoutes(Router& router, app::App& app, std::string console_dir);
// Customer analytics: GET /v1/analytics/kpis (JSON or CSV).
void AddAnalyticsRoutes(Router& router, app::App& app);
// Every route `rapport serve` answers, in one place so tests see the same set.
void AddAllRoutes(Router& router, app::App& app, std::string console_dir);

// Records that the caller is reading personal data of `subject` in the audit log. Routes that
// hand out personal data call it before answering, and answer with its error if it fails.
Status AuditRead(app::App& app, const Request& req, std::string action, std::string subject,
                 Json detail = Json::object());

// The OpenAPI document served at /openapi.json (kept in src/api/openapi.json).
const std::string& OpenApiDocument();

}  // namespace rapport::api
