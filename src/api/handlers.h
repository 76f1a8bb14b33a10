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

// The OpenAPI document served at /openapi.json (kept in src/api/openapi.json).
const std::string& OpenApiDocument();

}  // namespace rapport::api
