// The service network on an in-memory SQLite store: access invariants, audit, validation,
// incremental counts. The S6 scenario through the HTTP API is tests/service_http_test.cc.
#include "service/service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "store/sqlite/sqlite_store.h"

namespace rapport::service {
namespace {

auth::Principal Agent() { return {"tok_agent", store::Role::kAgent, "", "agent"}; }
auth::Principal PartnerOf(const std::string& org) {
  return {"tok_" + org, store::Role::kPartner, org, org};
}

class ServiceNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::OpenSqliteStore({.path = ":memory:"});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    audit_ = std::make_unique<privacy::AuditLog>(*store_, clock_);
    net_ = std::make_unique<ServiceNetwork>(*store_, clock_, ids_, *audit_, nullptr);
    ASSERT_TRUE(net_->PutModel({{"model", "DW-A100"},
                                {"family", "DW-A"},
                                {"product_line", "dishwasher"},
                                {"parts", {"DW-A-drain-pump", "DW-A-filter", "DW-A-seal"}}})
                    .ok());
    for (const char* org : {"alpha", "beta"}) {
      ASSERT_TRUE(
          net_->PutPartner({{"org", org}, {"product_lines", {"dishwasher"}}, {"regions", {"BY"}}})
              .ok());
    }
    ASSERT_TRUE(
        net_->PutPartner({{"org", "gamma"}, {"product_lines", {"washer"}}, {"regions", {"BY"}}})
            .ok());
    auto a = net_->CreateAsset({{"model", "DW-A100"},
                                {"serial", "SN-1"},
                                {"purchased", "2019-05-01"},
                                {"location", {{"region", "BY"}, {"city", "München"}}}},
                               Agent());
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    asset_ = (*a)["id"];
  }

  std::string Order(const std::string& partner, const std::string& category = "drain") {
    auto wo = net_->CreateWorkOrder({{"asset", asset_},
                                     {"symptom", "does not drain"},
                                     {"category", category},
                                     {"partner", partner}},
                                    Agent());
    EXPECT_TRUE(wo.ok()) << wo.status().ToString();
    return wo.ok() ? (*wo)["id"].get<std::string>() : "";
  }

  size_t AuditCount(const std::string& action) {
    auto list = audit_->List("", 0, 1000);
    EXPECT_TRUE(list.ok());
    size_t n = 0;
    for (const auto& r : *list) n += r.entry.action == action;
    return n;
  }

  ManualClock clock_{*ParseTime("2026-03-01T09:00:00Z")};
  UlidSource ids_{clock_, 1};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<privacy::AuditLog> audit_;
  std::unique_ptr<ServiceNetwork> net_;
  std::string asset_;
};

TEST_F(ServiceNetworkTest, PartnerWithoutWorkOrderGetsTheSameNotFoundAsForAMissingAsset) {
  auto hidden = net_->GetAsset(asset_, PartnerOf("alpha"));
  auto missing = net_->GetAsset("ast_nothing", PartnerOf("alpha"));
  ASSERT_EQ(hidden.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(hidden.status().message(), "no asset " + asset_);
  EXPECT_EQ(missing.status().message(), "no asset ast_nothing");
  EXPECT_EQ(hidden.status().where(), missing.status().where());
  EXPECT_EQ(net_->History(asset_, PartnerOf("alpha")).status().code(), StatusCode::kNotFound);
  auto found = net_->FindAssets("SN-1", "", PartnerOf("alpha"));
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE((*found)["assets"].empty());
  EXPECT_EQ(AuditCount("asset.read.refused"), 2u) << "both refusals are audited";
}

TEST_F(ServiceNetworkTest, AccessLastsWhileTheOrderIsOpenAndForTheWindowAfterClosing) {
  std::string wo = Order("alpha");
  ASSERT_TRUE(net_->GetAsset(asset_, PartnerOf("alpha")).ok());
  EXPECT_FALSE(net_->GetAsset(asset_, PartnerOf("beta")).ok()) << "another partner";
  ASSERT_TRUE(net_->CloseWorkOrder(wo, {{"outcome", "fixed"}}, PartnerOf("alpha")).ok());
  EXPECT_EQ(net_->CloseWorkOrder(wo, {}, PartnerOf("alpha")).status().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(24 * 13)).ok());
  EXPECT_TRUE(net_->GetAsset(asset_, PartnerOf("alpha")).ok()) << "within 14 days";
  ASSERT_TRUE(clock_.Advance(std::chrono::hours(24 * 2)).ok());
  EXPECT_EQ(net_->GetAsset(asset_, PartnerOf("alpha")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(net_->Briefing(wo, PartnerOf("alpha")).status().message(), "no work order " + wo);
  EXPECT_TRUE(net_->GetAsset(asset_, Agent()).ok()) << "staff always";
}

TEST_F(ServiceNetworkTest, OnlyCertifiedPartnersGetWorkOrders) {
  auto wo = net_->CreateWorkOrder({{"asset", asset_}, {"symptom", "leaks"}, {"partner", "gamma"}},
                                  Agent());
  EXPECT_EQ(wo.status().code(), StatusCode::kFailedPrecondition) << "gamma does washers only";
  auto unknown = net_->CreateWorkOrder(
      {{"asset", asset_}, {"symptom", "leaks"}, {"partner", "nobody"}}, Agent());
  EXPECT_EQ(unknown.status().where(), "partner");
  // An online report names no partner: the first certified one (alpha) gets it.
  auto online = net_->CreateWorkOrder(
      {{"asset", asset_}, {"symptom", "leaks"}, {"category", "Leak"}, {"source", "online"}},
      Agent());
  ASSERT_TRUE(online.ok()) << online.status().ToString();
  EXPECT_EQ((*online)["partner"], "alpha");
  EXPECT_EQ((*online)["category"], "leak");
}

TEST_F(ServiceNetworkTest, BadInputNamesTheField) {
  EXPECT_EQ(net_->CreateAsset({{"model", "DW-A100"}, {"serial", "SN-2"}}, Agent()).status().where(),
            "purchased");
  EXPECT_EQ(net_->CreateAsset({{"model", "nope"},
                               {"serial", "SN-2"},
                               {"purchased", "2020-01-01"},
                               {"location", {{"region", "BY"}}}},
                              Agent())
                .status()
                .where(),
            "model");
  auto dup = net_->CreateAsset({{"model", "DW-A100"},
                                {"serial", "SN-1"},
                                {"purchased", "2020-01-01"},
                                {"location", {{"region", "BY"}}}},
                               Agent());
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  auto rec = net_->AddServiceRecord({{"asset", asset_},
                                     {"date", "2025-01-01"},
                                     {"kind", "repair"},
                                     {"outcome", "ok"},
                                     {"parts_used", {1}}},
                                    Agent());
  EXPECT_EQ(rec.status().where(), "parts_used");
  auto future = net_->AddServiceRecord(
      {{"asset", asset_}, {"date", "2027-01-01"}, {"kind", "repair"}, {"outcome", "ok"}}, Agent());
  EXPECT_EQ(future.status().where(), "date");
  EXPECT_EQ(net_->FindAssets("", "", Agent()).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ServiceNetworkTest, RepairsUpdateTheCountsTheBriefingRanksBy) {
  for (int i = 0; i < 3; ++i) {
    auto r = net_->AddServiceRecord({{"asset", asset_},
                                     {"date", "2024-0" + std::to_string(i + 1) + "-10"},
                                     {"kind", "repair"},
                                     {"category", "drain"},
                                     {"outcome", "repaired"},
                                     {"parts_used", {"DW-A-filter"}},
                                     {"partner", "beta"}},
                                    Agent());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  ASSERT_TRUE(net_->AddServiceRecord({{"asset", asset_},
                                      {"date", "2023-01-10"},
                                      {"kind", "maintenance"},
                                      {"outcome", "maintained"}},
                                     Agent())
                  .ok());
  std::string wo = Order("alpha");
  auto b = net_->Briefing(wo, PartnerOf("alpha"));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)["history"].size(), 4u);
  EXPECT_EQ((*b)["history"][0]["kind"], "maintenance") << "oldest first";
  const Json& parts = (*b)["predicted_parts"];
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0]["part"], "DW-A-filter");
  EXPECT_EQ(parts[0]["rank"], 1);
  EXPECT_EQ(parts[0]["evidence"][3]["repairs"], 3) << "model x symptom";
  EXPECT_EQ(parts[0]["evidence"][3]["with_part"], 3);
  EXPECT_FALSE((*b)["asset"].contains("work_orders")) << "partners do not see others' orders";
  EXPECT_EQ(AuditCount("work_order.briefing.read"), 1u);
  EXPECT_EQ(net_->Briefing(wo, PartnerOf("beta")).status().message(), "no work order " + wo);
}

TEST_F(ServiceNetworkTest, ConcurrentRepairsAreAllCountedOnce) {
  std::vector<std::thread> writers;
  std::atomic<int> failed{0};
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        auto r = net_->AddServiceRecord({{"asset", asset_},
                                         {"date", "2025-0" + std::to_string(1 + t) + "-01"},
                                         {"kind", "repair"},
                                         {"category", i % 2 ? "drain" : "leak"},
                                         {"outcome", "repaired"},
                                         {"parts_used", {i % 2 ? "DW-A-drain-pump" : "DW-A-seal"}}},
                                        Agent());
        if (!r.ok()) ++failed;
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(failed.load(), 0);
  auto g = store_->GetDocument("svc-parts", "g");
  ASSERT_TRUE(g.ok() && g->has_value());
  Json counts = ParseJson((*g)->body).value();
  EXPECT_EQ(counts["repairs"], 40);
  EXPECT_EQ(counts["parts"]["DW-A-drain-pump"], 20);
  auto history = net_->History(asset_, Agent());
  ASSERT_TRUE(history.ok());
  EXPECT_EQ((*history)["records"].size(), 40u);
}

TEST_F(ServiceNetworkTest, PartnerNamesOnlyItsOwnTechnicians) {
  ASSERT_TRUE(net_->PutPartner({{"org", "alpha"},
                                {"product_lines", {"dishwasher"}},
                                {"regions", {"BY"}},
                                {"technicians", {{{"id", "t-1"}, {"name", "Kim"}}}}})
                  .ok());
  Order("alpha");
  Json rec = {{"asset", asset_},
              {"date", "2026-02-01"},
              {"kind", "maintenance"},
              {"outcome", "ok"},
              {"technician", "t-9"}};
  EXPECT_EQ(net_->AddServiceRecord(rec, PartnerOf("alpha")).status().where(), "technician");
  rec["technician"] = "t-1";
  EXPECT_TRUE(net_->AddServiceRecord(rec, PartnerOf("alpha")).ok());
}

TEST_F(ServiceNetworkTest, AnOnlineReportWithoutCategoryIsClassifiedFromItsText) {
  auto wo = net_->CreateWorkOrder(
      {{"asset", asset_}, {"symptom", "Gerät pumpt nicht ab"}, {"source", "online"}}, Agent());
  ASSERT_TRUE(wo.ok()) << wo.status().ToString();
  EXPECT_EQ((*wo)["category"], "drain");
  EXPECT_EQ((*wo)["category_from"], "symptom text");
}

TEST_F(ServiceNetworkTest, PartnerListsOnlyItsOwnWorkOrders) {
  Order("alpha");
  Order("beta");
  auto alpha = net_->ListWorkOrders("", 100, PartnerOf("alpha"));
  ASSERT_TRUE(alpha.ok());
  ASSERT_EQ((*alpha)["work_orders"].size(), 1u);
  EXPECT_EQ((*alpha)["work_orders"][0]["partner"], "alpha");
  auto all = net_->ListWorkOrders("open", 100, Agent());
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)["work_orders"].size(), 2u);
  EXPECT_TRUE((*net_->ListWorkOrders("", 100, PartnerOf("gamma")))["work_orders"].empty());
}

// A partner's read of a work order that the disclosure gate refuses (here: no gate at all, so
// an owned appliance's data never goes to a partner) is audited as refused, not as read.
TEST_F(ServiceNetworkTest, AWorkOrderReadTheGateRefusesIsAuditedAsRefused) {
  auto owned = net_->CreateAsset({{"model", "DW-A100"},
                                  {"serial", "SN-7"},
                                  {"purchased", "2020-01-01"},
                                  {"owner", "per_7"},
                                  {"location", {{"region", "BY"}}}},
                                 Agent());
  ASSERT_TRUE(owned.ok()) << owned.status().ToString();
  auto wo = net_->CreateWorkOrder({{"asset", (*owned)["id"]},
                                   {"symptom", "pumpt nicht ab"},
                                   {"category", "drain"},
                                   {"partner", "alpha"}},
                                  Agent());
  ASSERT_TRUE(wo.ok()) << wo.status().ToString();
  auto read = net_->GetWorkOrder((*wo)["id"].get<std::string>(), PartnerOf("alpha"));
  EXPECT_EQ(read.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(AuditCount("work_order.read"), 0u);
  EXPECT_EQ(AuditCount("work_order.read.refused"), 1u);
  // A visible read of an appliance without owner is a read.
  std::string own = Order("alpha");
  ASSERT_TRUE(net_->GetWorkOrder(own, PartnerOf("alpha")).ok());
  EXPECT_EQ(AuditCount("work_order.read"), 1u);
}

// The owner's erasure: the appliance and its history stay for the manufacturer (the parts
// counts, the briefing's history), nothing about the person does.
TEST_F(ServiceNetworkTest, AnOwnersErasureKeepsTheApplianceAndItsRepairsButNotTheOwnersData) {
  auto owned = net_->CreateAsset(
      {{"model", "DW-A100"},
       {"serial", "SN-9"},
       {"purchased", "2020-01-01"},
       {"owner", "per_9"},
       {"location",
        {{"region", "BY"}, {"postcode", "80331"}, {"city", "München"}, {"street", "Hauptstr. 5"}}}},
      Agent());
  ASSERT_TRUE(owned.ok()) << owned.status().ToString();
  std::string asset = (*owned)["id"];
  auto wo = net_->CreateWorkOrder({{"asset", asset},
                                   {"symptom", "Frau Held: pumpt nicht ab, bitte 0170 555 anrufen"},
                                   {"category", "drain"},
                                   {"partner", "alpha"}},
                                  Agent());
  ASSERT_TRUE(wo.ok()) << wo.status().ToString();
  ASSERT_TRUE(net_->AddServiceRecord({{"asset", asset},
                                      {"work_order", (*wo)["id"]},
                                      {"date", "2026-02-28"},
                                      {"kind", "repair"},
                                      {"findings", "Münze in der Pumpe, Frau Held informiert"},
                                      {"parts_used", {"DW-A-drain-pump"}},
                                      {"outcome", "fixed"}},
                                     Agent())
                  .ok());
  auto erased = net_->ErasePerson({"per_9", "per_8"}, "era_1");
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(*erased, Json({{"assets", 1}, {"work_orders", 1}, {"service_records", 1}}));

  auto a = net_->GetAsset(asset, Agent());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)["location"], Json({{"region", "BY"}}));
  EXPECT_EQ((*a)["serial"], "SN-9");
  EXPECT_EQ((*a)["owner_erased"]["erasure"], "era_1");
  auto history = net_->History(asset, Agent());
  ASSERT_EQ((*history)["records"].size(), 1u);
  EXPECT_EQ((*history)["records"][0]["parts_used"], Json::array({"DW-A-drain-pump"}));
  EXPECT_EQ((*history)["records"][0]["findings"], "[erased]");
  auto order = net_->GetWorkOrder((*wo)["id"].get<std::string>(), Agent());
  EXPECT_EQ((*order)["symptom"], "[erased]");
  EXPECT_EQ((*order)["category"], "drain");
  for (const auto& text : {a->dump(), history->dump(), order->dump()}) {
    for (const char* secret : {"Held", "0170", "Hauptstr", "80331", "München"}) {
      EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
    }
  }
  EXPECT_TRUE((*net_->FindAssets("", "per_9", Agent()))["assets"].empty()) << "no owner index";
  EXPECT_EQ((*net_->GetAsset(asset_, Agent()))["location"]["city"], "München")
      << "another appliance is untouched";
  EXPECT_EQ(*net_->ErasePerson({"per_9"}, "era_2"),
            Json({{"assets", 0}, {"work_orders", 0}, {"service_records", 0}}));
}

TEST_F(ServiceNetworkTest, ImportedHistoryCanBeEvaluated) {
  auto imported = net_->ImportGenerated({.seed = 5, .assets = 3000}, 5000);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ((*imported)["assets"], 3000);
  // A generated appliance is like any other: it gets work orders and briefings.
  auto wo = net_->CreateWorkOrder(
      {{"asset", "ast_g5_0"}, {"symptom", "noise"}, {"category", "noise"}, {"partner", "alpha"}},
      Agent());
  if (wo.ok()) {
    auto b = net_->Briefing((*wo)["id"], PartnerOf("alpha"));
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_GT((*b)["predicted_parts"][0]["evidence"][0]["repairs"].get<int>(), 1000);
  } else {
    // alpha is certified for dishwashers in BY only; the appliance may be another.
    EXPECT_EQ(wo.status().code(), StatusCode::kFailedPrecondition) << wo.status().ToString();
    EXPECT_EQ(wo.status().message().find("for  in"), std::string::npos) << "product line known";
  }
  EXPECT_EQ(net_->ImportGenerated({.seed = 5, .assets = 10}).status().code(),
            StatusCode::kAlreadyExists)
      << "the same seed again would count its repairs twice";
  auto ev = net_->EvaluateStored(*ParseTime("2024-01-01"));
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  EXPECT_GT(ev->forecast.top3, ev->baseline.top3);
  // The stored counts equal a recount of the stored repairs (invariant 4).
  auto g = store_->GetDocument("svc-parts", "g");
  ASSERT_TRUE(g.ok() && g->has_value());
  EXPECT_EQ(ParseJson((*g)->body)->at("repairs").get<size_t>(),
            (*imported)["repairs"].get<size_t>());
}

}  // namespace
}  // namespace rapport::service
