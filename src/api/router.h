// Routes, authentication and role checks, JSON errors. The HTTP transport (http_server.h)
// hands every parsed request to Router::Dispatch; nothing below it sees Beast types, so the
// routing and every handler can be unit-tested without sockets.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/tokens.h"
#include "core/json.h"
#include "core/metrics.h"
#include "core/status.h"

namespace rapport::api {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded, without the query
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> params;  // from "{name}" segments of the route
  std::string content_type;
  std::string authorization;
  std::string body;
  auth::Principal principal;  // set before the handler runs (empty for public routes)
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Response JsonResponse(int status, const Json& body);
// {"error":{"code":..,"message":..,"field":..}} with the HTTP status for the code.
Response ErrorResponse(const Status& status);
int HttpStatusFor(StatusCode code);

using Handler = std::function<Response(Request&)>;

struct Route {
  std::string method;
  std::string pattern;            // "/v1/records/{id}"
  std::vector<auth::Role> roles;  // who may call it; empty together with is_public
  bool is_public = false;         // no token needed (only /health)
  std::string summary;
  Handler handler;
};

// Thread-safe for Dispatch once all routes are added.
class Router {
 public:
  Router(auth::TokenService& tokens, MetricsRegistry& metrics);

  void Add(Route route);
  const std::vector<Route>& routes() const { return routes_; }

  // Refuses a path or query that is not UTF-8 (400), finds the route (404, or 405 with Allow),
  // authenticates (401), checks the role (403), runs the handler. Never throws: an exception
  // anywhere on the way becomes a 500 JSON error for this request only.
  Response Dispatch(Request& request);

 private:
  Response Handle(Request& request, std::string* route_label);
  const Route* Match(const Request& request, std::map<std::string, std::string>* params,
                     std::string* allow) const;

  auth::TokenService& tokens_;
  MetricsRegistry& metrics_;
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> segments_;  // per route, split pattern
};

// Percent-decoding for paths and query strings ('+' is a space only in queries).
std::string UrlDecode(std::string_view s, bool plus_is_space);
// The token of an "Authorization: Bearer <token>" header value; the scheme is matched
// case-insensitively and may be followed by several spaces (RFC 7235, 2.1). std::nullopt for
// another scheme or no token.
std::optional<std::string_view> BearerToken(std::string_view authorization);
// Splits "a=1&b=x%20y" into a map (last value wins).
std::map<std::string, std::string> ParseQuery(std::string_view query);
// A whole-number query parameter: `fallback` when absent or empty, else a 400 naming it unless
// it is an integer from `lo` to `hi`. Every route reads its numbers through this one parser.
Result<int64_t> QueryInt(const Request& req, const std::string& name, int64_t fallback, int64_t lo,
                         int64_t hi);

}  // namespace rapport::api
