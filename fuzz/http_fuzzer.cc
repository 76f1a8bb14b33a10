// The HTTP request path behind the socket: route matching, percent-decoding, query parsing,
// JSON bodies and every handler, as an admin would reach them. Input: a first line
// "METHOD TARGET", a second line with the Content-Type, then the body. No input may crash,
// answer 500 or answer JSON that does not parse.
#include <cstdint>
#include <memory>
#include <string_view>

#include "api/handlers.h"
#include "api/router.h"
#include "app/app.h"

namespace {

struct Server {
  std::unique_ptr<rapport::app::App> app;
  std::unique_ptr<rapport::api::Router> router;
  std::string admin;
};

Server& TheServer() {
  static Server* s = [] {
    auto* server = new Server;
    auto app =
        rapport::app::App::Open({.db = ":memory:",
                                 .clock = "manual",
                                 .clock_start = *rapport::ParseTime("2026-11-23T10:00:00Z")});
    if (!app.ok()) __builtin_trap();
    server->app = std::move(app).value();
    server->router =
        std::make_unique<rapport::api::Router>(server->app->tokens(), server->app->metrics());
    rapport::api::AddAllRoutes(*server->router, *server->app, "");
    server->admin = server->app->tokens().Create(rapport::auth::Role::kAdmin, "", "fuzz")->token;
    return server;
  }();
  return *s;
}

std::string_view NextLine(std::string_view& rest) {
  size_t end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Server& server = TheServer();
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string_view request_line = NextLine(rest);
  size_t space = request_line.find(' ');
  if (space == std::string_view::npos) return 0;
  rapport::api::Request req;
  req.method = std::string(request_line.substr(0, space));
  std::string_view target = request_line.substr(space + 1);
  size_t q = target.find('?');
  req.path = rapport::api::UrlDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) req.query = rapport::api::ParseQuery(target.substr(q + 1));
  req.content_type = std::string(NextLine(rest));
  req.authorization = "Bearer " + server.admin;
  req.body = std::string(rest);
  rapport::api::Response r = server.router->Dispatch(req);
  if (r.status == 500) __builtin_trap();
  if (r.content_type == "application/json" &&
      !nlohmann::json::accept(r.body.begin(), r.body.end())) {
    __builtin_trap();
  }
  return 0;
}
