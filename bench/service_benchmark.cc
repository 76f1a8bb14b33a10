// Technician briefing latency with millions of service records stored in a SQLite file.
// Fills the database once with generated histories (ImportGenerated in chunks of appliances,
// large transactions, no fsync), then opens it as the server would (fsync on every commit,
// the audit log writing one entry per briefing) and times briefings of random appliances
// through partner work orders. The appliances briefed are given owners that profiles knows, so
// every briefing also passes the privacy ledger's gate and records its disclosure (one more
// fsynced write), as in the server.
//
//   service_benchmark --db /tmp/service-bench.db --records 10000000 --briefings 2000
//
// A database already holding at least --records records is reused (no reload).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/model.h"
#include "privacy/audit.h"
#include "privacy/ledger.h"
#include "profiles/profiles.h"
#include "service/service.h"
#include "store/sqlite/sqlite_store.h"

namespace {

using namespace rapport;
using Steady = std::chrono::steady_clock;

constexpr char kLoadedSetting[] = "bench.service.loaded";
constexpr size_t kAssetsPerChunk = 100000;

double Seconds(Steady::time_point since) {
  return std::chrono::duration<double>(Steady::now() - since).count();
}

int Fail(const Status& s, const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db = "/tmp/rapport-service-bench.db";
  size_t target = 10000000;
  size_t briefings = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--db"))
      db = argv[i + 1];
    else if (!std::strcmp(argv[i], "--records"))
      target = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--briefings"))
      briefings = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: %s [--db file] [--records n] [--briefings n]\n", argv[0]);
      return 2;
    }
  }
  SystemClock clock;
  UlidSource ids(clock);

  // --- Load (or reuse) -------------------------------------------------------------------------
  size_t records = 0, assets = 0, chunks = 0;
  {
    auto store = store::OpenSqliteStore({.path = db, .sync_every_commit = false});
    if (!store.ok()) return Fail(store.status(), "open");
    auto loaded = (*store)->GetSetting(kLoadedSetting);
    if (!loaded.ok()) return Fail(loaded.status(), "read setting");
    if (loaded->has_value()) {
      auto j = ParseJson(**loaded).value();
      records = j["records"];
      assets = j["assets"];
      chunks = j["chunks"];
    }
    if (records < target) {
      privacy::AuditLog audit(**store, clock);
      service::ServiceNetwork net(**store, clock, ids, audit, nullptr);
      auto t0 = Steady::now();
      while (records < target) {
        service::GeneratorOptions g;
        g.seed = 1000 + chunks;  // a new seed per chunk: new asset ids, new histories
        g.assets = kAssetsPerChunk;
        auto out = net.ImportGenerated(g, 50000);
        if (!out.ok()) return Fail(out.status(), "import");
        records += (*out)["records"].get<size_t>();
        assets += (*out)["assets"].get<size_t>();
        ++chunks;
        Json state = {{"records", records}, {"assets", assets}, {"chunks", chunks}};
        if (Status s = (*store)->PutSetting(kLoadedSetting, state.dump()); !s.ok()) {
          return Fail(s, "write setting");
        }
        std::fprintf(stderr, "loaded %zu records of %zu appliances in %.0f s (%.0f records/s)\n",
                     records, assets, Seconds(t0), records / std::max(1e-9, Seconds(t0)));
      }
    }
  }
  std::printf("store: %s, %zu service records, %zu appliances\n", db.c_str(), records, assets);

  // --- Briefings as the server makes them ------------------------------------------------------
  auto store = store::OpenSqliteStore({.path = db, .sync_every_commit = true});
  if (!store.ok()) return Fail(store.status(), "reopen");
  privacy::AuditLog audit(**store, clock);
  profiles::ProfileService profiles(**store, clock, ids);
  privacy::Ledger ledger(**store, clock, ids, audit, profiles);
  auto basis = ledger.PutRecipient("bench-partner",
                                   {{"legal_basis", "contract"}, {"purposes", {"service-visit"}}},
                                   privacy::SystemActor());
  if (!basis.ok()) return Fail(basis.status(), "recipient");
  service::Options options;
  options.partner_gate = [&ledger](privacy::DisclosureRequest r, const auth::Principal& p) {
    return ledger.PartnerRead(std::move(r), p);
  };
  service::ServiceNetwork net(**store, clock, ids, audit, &profiles, options);
  auto partner = net.PutPartner({{"org", "bench-partner"},
                                 {"product_lines", {"dishwasher", "washer", "dryer"}},
                                 {"regions", {"BY", "HH", "BE", "NW"}}});
  if (!partner.ok()) return Fail(partner.status(), "partner");
  auth::Principal agent{"tok_bench_agent", store::Role::kAgent, "", "bench"};
  auth::Principal tech{"tok_bench_partner", store::Role::kPartner, "bench-partner", "bench"};
  const char* symptoms[] = {"drain", "leak", "noise", "not-heating", "error-code", "no-spin"};
  std::mt19937_64 rng(99);
  std::vector<std::string> orders;
  for (size_t i = 0; i < briefings; ++i) {
    size_t chunk = rng() % chunks, n = rng() % kAssetsPerChunk;
    std::string asset = "ast_g" + std::to_string(1000 + chunk) + "_" + std::to_string(n);
    // The generated owner is a bare id: the appliance gets an owner profiles knows.
    SourceRecord owner;
    owner.id = ids.Next("rec");
    owner.source = "bench-shop";
    owner.source_key = ids.Next("cust");
    owner.fields = {{"vorname", "Kim"},
                    {"nachname", "Owner" + std::to_string(i)},
                    {"email", "kim" + std::to_string(i) + "@example.org"},
                    {"ort", "München"}};
    owner.received_at = clock.Now();
    auto puts = (*store)->PutRecords({owner});
    if (!puts.ok()) return Fail(puts.status(), "owner record");
    if (auto r = profiles.Resolve({owner}, *puts); !r.ok()) return Fail(r.status(), "resolve");
    auto person = profiles.PersonOfRecord((*puts)[0].id);
    if (!person.ok()) return Fail(person.status(), "owner");
    auto doc = (*store)->GetDocument("svc-asset", asset);
    if (!doc.ok() || !*doc) return Fail(doc.ok() ? NotFound(asset) : doc.status(), "asset");
    Json body = ParseJson((*doc)->body).value();
    body["owner"] = *person;
    store::WriteBatch owned;
    owned.puts.push_back({{"svc-asset", asset, body.dump(), 0}, (*doc)->revision});
    if (Status w = (*store)->Write(owned); !w.ok()) return Fail(w, "owner");
    auto wo = net.CreateWorkOrder({{"asset", asset},
                                   {"symptom", "customer report"},
                                   {"category", symptoms[rng() % 6]},
                                   {"partner", "bench-partner"}},
                                  agent);
    if (!wo.ok()) return Fail(wo.status(), "work order");
    orders.push_back((*wo)["id"]);
  }
  std::vector<double> ms;
  size_t history = 0, predicted = 0;
  auto t0 = Steady::now();
  for (const auto& id : orders) {
    auto start = Steady::now();
    auto b = net.Briefing(id, tech);
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - start).count());
    if (!b.ok()) return Fail(b.status(), "briefing");
    history += (*b)["history"].size();
    predicted += (*b)["predicted_parts"].size();
  }
  double total = Seconds(t0);
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  };
  std::printf(
      "briefings: %zu (one partner, sequential, each with its disclosure and audit entry "
      "fsynced)\n"
      "  latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n"
      "  %.0f briefings/s; %.1f history records and %.1f predicted parts per briefing\n",
      ms.size(), pct(0.5), pct(0.9), pct(0.99), ms.back(), ms.size() / total,
      static_cast<double>(history) / ms.size(), static_cast<double>(predicted) / ms.size());
  return 0;
}
