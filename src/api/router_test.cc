#include "api/router.h"

#include <gtest/gtest.h>

#include <set>

#include "api/handlers.h"

namespace rapport::api {
namespace {

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = app::App::Open(
        {.db = ":memory:", .clock = "manual", .clock_start = *ParseTime("2026-11-23T10:00:00Z")});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(a).value();
    router_ = std::make_unique<Router>(app_->tokens(), app_->metrics());
    AddAllRoutes(*router_, *app_, "");
    router_->Add({"GET", "/boom", {auth::Role::kAdmin}, false, "test", [](Request&) -> Response {
                    throw std::runtime_error("kaputt");
                  }});
    admin_ = app_->tokens().Create(auth::Role::kAdmin, "", "admin")->token;
    partner_ = app_->tokens().Create(auth::Role::kPartner, "acme", "p")->token;
  }

  Response Call(std::string method, std::string path, std::string token = "",
                std::string body = "") {
    Request r;
    r.method = std::move(method);
    auto q = path.find('?');
    r.path = path.substr(0, q);
    if (q != std::string::npos) r.query = ParseQuery(path.substr(q + 1));
    if (!token.empty()) r.authorization = "Bearer " + token;
    r.body = std::move(body);
    return router_->Dispatch(r);
  }

  static Json Body(const Response& r) { return Json::parse(r.body); }

  std::unique_ptr<app::App> app_;
  std::unique_ptr<Router> router_;
  std::string admin_, partner_;
};

TEST_F(RouterTest, NoByteOfAPathOrQueryTurnsIntoAnException) {
  Response path = Call("GET", UrlDecode("/%FF", false));
  EXPECT_EQ(path.status, 400);
  EXPECT_EQ(Body(path)["error"]["field"], "path");
  Response query = Call("GET", "/v1/events?limit=%FF", admin_);
  EXPECT_EQ(query.status, 400);
  EXPECT_EQ(Body(query)["error"]["field"], "query.limit");
}

// HEAD is answered as GET is (the server then sends the headers only); it does not open a
// route that has no GET, and it needs the GET's token.
TEST_F(RouterTest, HeadIsAnsweredLikeGet) {
  EXPECT_EQ(Call("HEAD", "/health").status, 200);
  EXPECT_EQ(Call("HEAD", "/v1/events", admin_).status, 200);
  EXPECT_EQ(Call("HEAD", "/v1/events").status, 401);
  Response no_get = Call("HEAD", "/v1/admin/clock", admin_);
  EXPECT_EQ(no_get.status, 405) << no_get.body;
}

TEST_F(RouterTest, AnExceptionQuotingInvalidUtf8IsStillAJsonError) {
  router_->Add({"GET", "/bytes", {auth::Role::kAdmin}, false, "test", [](Request&) -> Response {
                  throw std::runtime_error("bad byte \xff here");
                }});
  Response r = Call("GET", "/bytes", admin_);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r)["error"]["code"], "internal");
  Response not_json = JsonResponse(200, Json{{"x", std::string("\xc3\x28")}});
  EXPECT_NO_THROW({
    Json parsed = Json::parse(not_json.body);
    (void)parsed;
  });
}

TEST_F(RouterTest, EveryRouteButHealthNeedsAValidToken) {
  EXPECT_EQ(Call("GET", "/health").status, 200);
  Response none = Call("GET", "/v1/events");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(Body(none)["error"]["code"], "unauthenticated");
  EXPECT_EQ(Call("GET", "/v1/events", "tok_x.wrong").status, 401);
  Request basic;
  basic.method = "GET";
  basic.path = "/v1/events";
  basic.authorization = "Basic dXNlcjpwdw==";
  EXPECT_EQ(router_->Dispatch(basic).status, 401);
  EXPECT_EQ(Call("GET", "/v1/events", admin_).status, 200);
}

// Issue 18, finding 7: the authentication scheme is case-insensitive (RFC 7235, 2.1).
TEST_F(RouterTest, TheBearerSchemeIsMatchedWhateverItsCase) {
  for (const std::string scheme : {"Bearer ", "bearer ", "BEARER ", "bEaReR  "}) {
    Request r;
    r.method = "GET";
    r.path = "/v1/events";
    r.authorization = scheme + admin_;
    EXPECT_EQ(router_->Dispatch(r).status, 200) << scheme;
  }
  EXPECT_EQ(BearerToken("Bearer"), std::nullopt);
  EXPECT_EQ(BearerToken("Bearer   "), std::nullopt);
  EXPECT_EQ(BearerToken("Bearertok_x.y"), std::nullopt);
  EXPECT_EQ(BearerToken("Basic tok_x.y"), std::nullopt);
  EXPECT_EQ(BearerToken("bearer tok_x.y"), "tok_x.y");
}

// Issue 18, finding 7: a token created with a lifetime (POST /v1/admin/tokens "expires") is
// refused once the clock passes it, with the 401 of any invalid token.
TEST_F(RouterTest, ATokenCreatedWithALifetimeIsRefusedOnceItExpired) {
  Response created =
      Call("POST", "/v1/admin/tokens", admin_, R"({"role":"agent","name":"temp","expires":"1d"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(Body(created)["expires_at"], "2026-11-24T10:00:00Z");
  const std::string token = Body(created)["token"];
  EXPECT_EQ(Call("GET", "/v1/events", token).status, 200);
  ASSERT_EQ(Call("POST", "/v1/admin/clock", admin_, R"({"advance":"1d"})").status, 200);
  Response expired = Call("GET", "/v1/events", token);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(Body(expired)["error"]["message"], "invalid or revoked API token");
  EXPECT_EQ(Call("GET", "/v1/events", admin_).status, 200) << "no lifetime: valid until revoked";
  Response bad =
      Call("POST", "/v1/admin/tokens", admin_, R"({"role":"agent","expires":"forever"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["error"]["field"], "expires");
  EXPECT_EQ(Body(Call("POST", "/v1/admin/tokens", admin_,
                      R"({"role":"agent","expires":"0d"})"))["error"]["field"],
            "expires");
}

TEST_F(RouterTest, APartnerTokenOnAnAdminRouteIsForbidden) {
  Response r = Call("POST", "/v1/admin/tokens", partner_, R"({"role":"admin"})");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Body(r)["error"]["code"], "permission_denied");
  EXPECT_EQ(Call("GET", "/v1/admin/tokens", admin_).status, 200);
  EXPECT_EQ(Call("GET", "/openapi.json", partner_).status, 200);
}

TEST_F(RouterTest, UnknownPathIs404WrongMethodIs405WithAllow) {
  EXPECT_EQ(Call("GET", "/v1/nothing", admin_).status, 404);
  Response r = Call("DELETE", "/v1/events", admin_);
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "POST, GET");
}

TEST_F(RouterTest, AHandlerExceptionBecomesAJson500) {
  Response r = Call("GET", "/boom", admin_);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Body(r)["error"]["message"], "unexpected error: kaputt");
}

TEST_F(RouterTest, ManualClockMovesOnlyForwardAndSystemClockRefuses) {
  Response r = Call("POST", "/v1/admin/clock", admin_, R"({"advance":"3d"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["now"], "2026-11-26T10:00:00Z");
  Response back = Call("POST", "/v1/admin/clock", admin_, R"({"to":"2026-11-01T00:00:00Z"})");
  EXPECT_EQ(back.status, 409);
  EXPECT_EQ(Body(back)["error"]["field"], "to");
  EXPECT_EQ(Call("POST", "/v1/admin/clock", admin_, R"({"advance":"soon"})").status, 400);
  EXPECT_EQ(Call("POST", "/v1/admin/clock", admin_, R"({})").status, 400);

  auto sys = app::App::Open({.db = ":memory:"});
  ASSERT_TRUE(sys.ok());
  Router router((*sys)->tokens(), (*sys)->metrics());
  AddCoreRoutes(router, **sys);
  Request req;
  req.method = "POST";
  req.path = "/v1/admin/clock";
  req.authorization = "Bearer " + (*sys)->tokens().Create(auth::Role::kAdmin, "", "a")->token;
  req.body = R"({"advance":"1d"})";
  Response refused = router.Dispatch(req);
  EXPECT_EQ(refused.status, 409);
  EXPECT_NE(refused.body.find("--clock manual"), std::string::npos);
}

TEST_F(RouterTest, QueryParametersAreValidatedWithTheirName) {
  Response r = Call("GET", "/v1/events?after=abc", admin_);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Body(r)["error"]["field"], "after");
  EXPECT_EQ(Body(Call("GET", "/v1/events?limit=0", admin_))["error"]["field"], "limit");
  EXPECT_EQ(ParseQuery("subject=J%C3%BCrgen+M&x")["subject"], "Jürgen M");
}

// Issue 18: six hand-written parsers disagreed (`?limit=abc` was 400 on some routes, 0 on
// others). Now every route answers a bad number alike.
TEST_F(RouterTest, EveryRouteRefusesABadNumberAlikeNamingIt) {
  for (std::string path :
       {"/v1/events?", "/v1/outbox?", "/v1/cases?", "/v1/work-orders?", "/v1/reviews?",
        "/v1/audit?", "/v1/journeys/x/instances?", "/v1/persons?q=M%C3%BCller&"}) {
    for (std::string bad : {"abc", "0", "1e3", "-1", "10x", "99999999999999999999", "1001"}) {
      Response r = Call("GET", path + "limit=" + bad, admin_);
      EXPECT_EQ(r.status, 400) << path << bad;
      EXPECT_EQ(Body(r)["error"]["field"], "limit") << path << bad << " " << r.body;
    }
    EXPECT_EQ(Call("GET", path + "limit=1", admin_).status, 200) << path;
  }
}

// The OpenAPI document is kept true: every registered route is documented with its method, and
// every documented operation exists.
TEST_F(RouterTest, OpenApiDocumentsExactlyTheRegisteredRoutes) {
  Json doc = Json::parse(OpenApiDocument());
  std::set<std::string> documented, registered;
  for (auto& [path, ops] : doc["paths"].items()) {
    for (auto& [method, op] : ops.items()) {
      std::string m = method;
      for (char& c : m) c = static_cast<char>(std::toupper(c));
      documented.insert(m + " " + path);
    }
  }
  for (const auto& route : router_->routes()) {
    if (route.pattern == "/boom") continue;
    registered.insert(route.method + " " + route.pattern);
  }
  EXPECT_EQ(documented, registered);
}

}  // namespace
}  // namespace rapport::api
