#include "api/router.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <exception>

#include "core/text.h"

namespace rapport::api {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kPayloadTooLarge:
      return 413;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

Response JsonResponse(int status, const Json& body) {
  Response r;
  r.status = status;
  // Replacing invalid UTF-8 instead of throwing: a message may quote what a client sent, and
  // no byte a client sends may turn an answer into an exception.
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() || authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view token = authorization.substr(kScheme.size());
  token.remove_prefix(std::min(token.find_first_not_of(' '), token.size()));
  if (token.empty()) return std::nullopt;
  return token;
}

Response ErrorResponse(const Status& status) {
  Json err = {{"code", StatusCodeName(status.code())}, {"message", status.message()}};
  if (!status.where().empty()) err["field"] = status.where();
  Response r = JsonResponse(HttpStatusFor(status.code()), {{"error", err}});
  if (status.code() == StatusCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"rapport\"");
  }
  return r;
}

namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string UrlDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<int64_t> QueryInt(const Request& req, const std::string& name, int64_t fallback, int64_t lo,
                         int64_t hi) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return fallback;
  const std::string& text = it->second;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    return InvalidArgument(
        name + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi),
        name);
  }
  return v;
}

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos <= query.size() && !query.empty()) {
    size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    std::string_view kv = query.substr(pos, end - pos);
    if (!kv.empty()) {
      size_t eq = kv.find('=');
      std::string key = UrlDecode(kv.substr(0, eq), true);
      std::string value = eq == std::string_view::npos ? "" : UrlDecode(kv.substr(eq + 1), true);
      out[key] = value;
    }
    if (end == query.size()) break;
    pos = end + 1;
  }
  return out;
}

Router::Router(auth::TokenService& tokens, MetricsRegistry& metrics)
    : tokens_(tokens), metrics_(metrics) {}

void Router::Add(Route route) {
  segments_.push_back(Split(route.pattern));
  routes_.push_back(std::move(route));
}

const Route* Router::Match(const Request& request, std::map<std::string, std::string>* params,
                           std::string* allow) const {
  std::vector<std::string> parts = Split(request.path);
  const Route* found = nullptr;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const auto& pattern = segments_[i];
    if (pattern.size() != parts.size()) continue;
    std::map<std::string, std::string> captured;
    bool ok = true;
    for (size_t k = 0; k < parts.size() && ok; ++k) {
      const std::string& seg = pattern[k];
      if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
        if (parts[k].empty()) ok = false;
        captured[seg.substr(1, seg.size() - 2)] = parts[k];
      } else {
        ok = seg == parts[k];
      }
    }
    if (!ok) continue;
    // HEAD is GET without the body (RFC 9110 9.3.2); the server drops the body it answers.
    if (routes_[i].method == request.method ||
        (request.method == "HEAD" && routes_[i].method == "GET")) {
      *params = std::move(captured);
      return &routes_[i];
    }
    if (!allow->empty()) *allow += ", ";
    *allow += routes_[i].method;
    found = nullptr;
  }
  return found;
}

namespace {

// Paths and query parameters become ids, search terms and JSON strings: bytes that are not
// UTF-8 are refused here, once, instead of failing somewhere inside a handler.
Status CheckUtf8(const Request& request) {
  if (!IsValidUtf8(request.path)) return InvalidArgument("the path is not valid UTF-8", "path");
  for (const auto& [key, value] : request.query) {
    if (!IsValidUtf8(key))
      return InvalidArgument("a query parameter name is not valid UTF-8", "query");
    if (!IsValidUtf8(value)) {
      return InvalidArgument("query parameter '" + key + "' is not valid UTF-8", "query." + key);
    }
  }
  return OkStatus();
}

}  // namespace

Response Router::Dispatch(Request& request) {
  auto start = std::chrono::steady_clock::now();
  std::string route_label = "unmatched";
  Response response;
  try {
    response = Handle(request, &route_label);
  } catch (const std::exception& e) {
    response = ErrorResponse(Internal(std::string("unexpected error: ") + e.what()));
  } catch (...) {
    response = ErrorResponse(Internal("unexpected error"));
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_
      .GetHistogram("rapport_http_request_duration_seconds", "HTTP request latency by route",
                    "route=\"" + route_label + "\"")
      .Observe(secs);
  metrics_
      .GetCounter(
          "rapport_http_requests_total", "HTTP requests by route and status",
          "route=\"" + route_label + "\",status=\"" + std::to_string(response.status) + "\"")
      .Add();
  return response;
}

Response Router::Handle(Request& request, std::string* route_label) {
  if (Status utf8 = CheckUtf8(request); !utf8.ok()) return ErrorResponse(utf8);
  std::string allow;
  const Route* route = Match(request, &request.params, &allow);
  Response response;
  if (route) *route_label = route->pattern;
  if (!route) {
    if (!allow.empty()) {
      response = ErrorResponse(
          {StatusCode::kFailedPrecondition, "method " + request.method + " is not allowed on " +
                                                request.path + " (allowed: " + allow + ")"});
      response.status = 405;
      response.headers.emplace_back("Allow", allow);
    } else {
      response = ErrorResponse(NotFound("no route for " + request.method + " " + request.path));
    }
  } else if (!route->is_public) {
    std::string_view auth = request.authorization;
    std::optional<std::string_view> bearer = BearerToken(auth);
    if (auth.empty()) {
      response = ErrorResponse(
          Unauthenticated("missing API token (send 'Authorization: Bearer <token>')"));
    } else if (!bearer) {
      response =
          ErrorResponse(Unauthenticated("the Authorization header must be 'Bearer <token>'"));
    } else {
      auto principal = tokens_.Verify(*bearer);
      if (!principal.ok()) {
        response = ErrorResponse(principal.status());
      } else {
        bool allowed = false;
        for (auto role : route->roles) allowed = allowed || role == principal->role;
        if (!allowed) {
          response = ErrorResponse(
              PermissionDenied("a " + std::string(store::RoleName(principal->role)) +
                               " token may not call " + route->method + " " + route->pattern));
        } else {
          request.principal = std::move(principal).value();
        }
      }
    }
  }
  if (route && response.body.empty()) {
    try {
      response = route->handler(request);
    } catch (const std::exception& e) {
      response = ErrorResponse(Internal(std::string("unexpected error: ") + e.what()));
    } catch (...) {
      response = ErrorResponse(Internal("unexpected error"));
    }
  }
  return response;
}

}  // namespace rapport::api
