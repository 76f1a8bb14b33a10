// Several servers on one PostgreSQL (issue 10): three `rapport serve` processes share a
// database; every event is sent to all of them at once and one is killed mid-run. Every
// event must be applied once, every action created once and delivered by one server only.
// And customer records of one person posted to different servers at once end on one person.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/json.h"
#include "test_server.h"

namespace rapport::testing {
namespace {

std::string SourceDir() {
  const char* d = std::getenv("RAPPORT_SOURCE_DIR");
  return d ? d : RAPPORT_E2E_SOURCE_DIR;
}

// The socket directory of the throwaway cluster: RAPPORT_TEST_PG is "host=DIR user=rapport".
std::string PgSocketDir() {
  const char* conninfo = std::getenv("RAPPORT_TEST_PG");
  if (!conninfo) conninfo = RAPPORT_E2E_TEST_PG;
  std::string s = conninfo;
  auto p = s.find("host=");
  if (p == std::string::npos) return "";
  p += 5;
  return s.substr(p, s.find(' ', p) - p);
}

std::string FreshDatabase(const std::string& name) {
  std::string dir = PgSocketDir();
  std::string cmd = "psql -q -v ON_ERROR_STOP=1 'host=" + dir +
                    " user=rapport dbname=postgres options=--client-min-messages=warning' -c 'DROP "
                    "DATABASE IF EXISTS " +
                    name + "' -c 'CREATE DATABASE " + name + "' >/dev/null";
  if (dir.empty() || std::system(cmd.c_str()) != 0) return "";
  return "postgresql://rapport@/" + name + "?host=" + dir;
}

// One audit key for every server and command on the database, kept off it as an operator
// would (a PostgreSQL database has no default key file).
void ShareAuditKey(const ScratchDir& dir) {
  ::setenv("RAPPORT_AUDIT_KEY_FILE", dir.File("audit-key").c_str(), 1);
}

std::string Event(const std::string& id, const std::string& type, const Json& keys,
                  const std::string& at, bool trade_in = false, const std::string& subject = "") {
  Json e = {{"id", id}, {"type", type}, {"keys", keys}, {"occurred_at", at}};
  if (trade_in) e["payload"] = {{"trade_in", true}};
  if (!subject.empty()) e["subject"] = subject;
  return e.dump();
}

TEST(MultiServer, ThreeServersOnePostgresOneKilledEveryEventOnceEveryActionOnce) {
  const std::string url = FreshDatabase("rapport_multi_server");
  ASSERT_FALSE(url.empty()) << "no PostgreSQL: RAPPORT_TEST_PG=" << PgSocketDir()
                            << " (run under ctest, which starts a cluster)";
  ScratchDir dir;
  ShareAuditKey(dir);
  const std::string token = CreateToken(url, "admin");
  const std::vector<std::string> clock = {"--clock", "manual", "--clock-start",
                                          "2026-11-02T08:00:00Z"};
  std::vector<std::unique_ptr<ServerProcess>> servers;
  for (int i = 0; i < 3; ++i) {
    std::vector<std::string> extra = clock;
    extra.insert(extra.end(), {"--outbox-file", dir.File("sink" + std::to_string(i))});
    servers.push_back(std::make_unique<ServerProcess>(url, extra));
    ASSERT_TRUE(servers.back()->ok()) << servers.back()->startup_output();
  }
  {
    HttpClient c = servers[0]->Client();
    auto deployed =
        c.Post("/v1/journeys", ReadFile(SourceDir() + "/examples/journeys/trade-in.yaml"), token,
               "application/yaml");
    ASSERT_EQ(deployed.status, 201) << deployed.body;
  }

  constexpr int kOrders = 60;
  {
    // The shop's customers, with the address their confirmation goes to, and the logistics
    // partner their return labels are ordered from (a registered recipient: the ledger checks
    // every webhook about a known customer).
    HttpClient c = servers[0]->Client();
    Json logistics = {
        {"organisation", "logistics"},
        {"legal_basis", "contract"},
        {"purposes", {"fulfilment"}},
        {"endpoints", {{{"url", "https://logistics.example.com/"}, {"purpose", "fulfilment"}}}}};
    auto registered = c.Request("PUT", "/v1/privacy/recipients/logistics", logistics.dump(), token);
    ASSERT_EQ(registered.status, 200) << registered.body;
    for (int i = 0; i < kOrders; ++i) {
      Json record = {{"source", "shop"},
                     {"source_key", "C-" + std::to_string(i)},
                     {"fields",
                      {{"given_name", "Kunde"},
                       {"family_name", "Nummer" + std::to_string(i)},
                       {"email", "kunde" + std::to_string(i) + "@example.org"}}}};
      auto r = c.Post("/v1/records", record.dump(), token);
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }
  // Sends every event to every live server at once (one thread per server, as if a load
  // balancer retried on all of them); server 2 is killed halfway through the orders.
  auto send_to_all = [&](const std::vector<std::string>& events, int kill_after) {
    std::vector<std::thread> senders;
    std::mutex mu;
    int acknowledged = 0;
    for (size_t s = 0; s < servers.size(); ++s) {
      if (!servers[s]) continue;
      senders.emplace_back([&, s] {
        HttpClient c = servers[s]->Client();
        for (size_t i = 0; i < events.size(); ++i) {
          if (s == 2 && static_cast<int>(i) == kill_after) return;
          auto r = c.Post("/v1/events", events[i], token);
          std::lock_guard<std::mutex> lock(mu);
          if (r.status == 200 || r.status == 201) ++acknowledged;
        }
      });
    }
    if (kill_after >= 0) {
      senders[2].join();
      servers[2]->Kill();
    }
    for (auto& t : senders) {
      if (t.joinable()) t.join();
    }
    return acknowledged;
  };

  std::vector<std::string> orders, tracking;
  for (int i = 0; i < kOrders; ++i) {
    std::string o = "O-" + std::to_string(i), sh = "S-" + std::to_string(i);
    orders.push_back(Event(o + "-placed", "order.placed", {{"order_id", o}}, "2026-11-02T09:00:00Z",
                           true, "shop:C-" + std::to_string(i)));
    tracking.push_back(Event(o + "-label", "kit.label_created",
                             {{"order_id", o}, {"shipment_id", sh}}, "2026-11-02T15:00:00Z"));
    tracking.push_back(
        Event(o + "-pickup", "kit.picked_up", {{"shipment_id", sh}}, "2026-11-03T10:00:00Z"));
    tracking.push_back(
        Event(o + "-delivered", "kit.delivered", {{"shipment_id", sh}}, "2026-11-04T12:00:00Z"));
  }
  EXPECT_GE(send_to_all(orders, kOrders / 2), 2 * kOrders);
  servers[2].reset();
  EXPECT_EQ(send_to_all(tracking, -1), 2 * static_cast<int>(tracking.size()));

  // Deliveries the killed server had claimed come back when their lease ends. Each server has
  // its own manual clock and only server 0's moves: the live servers first finish the rounds
  // they hold (their claims would look expired to server 0 too, as they never would on one
  // shared system clock), then time moves past the dead server's leases.
  auto sink_lines = [&] {
    size_t n = 0;
    for (int i = 0; i < 3; ++i) n += SinkKeys(dir.File("sink" + std::to_string(i))).size();
    return n;
  };
  for (size_t before = SIZE_MAX, waited = 0; waited < 30000; waited += 500) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    size_t now = sink_lines();
    if (now == before) break;
    before = now;
  }
  HttpClient c0 = servers[0]->Client();
  ASSERT_EQ(c0.Post("/v1/admin/clock", R"({"advance":"16m"})", token).status, 200);
  const size_t expected_actions = 2 * kOrders;  // confirmation and return label per order
  std::map<std::string, int> delivered;
  for (int waited = 0; waited < 30000; waited += 100) {
    delivered.clear();
    for (int i = 0; i < 3; ++i) {
      for (const auto& [k, n] : SinkKeys(dir.File("sink" + std::to_string(i)))) delivered[k] += n;
    }
    if (delivered.size() == expected_actions) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(delivered.size(), expected_actions);
  // Survivors never deliver one action twice; only a delivery the killed server made just
  // before its death, not yet recorded, may be repeated (at least once, same key).
  auto killed = SinkKeys(dir.File("sink2"));
  for (const auto& [key, n] : delivered) {
    EXPECT_LE(n - (killed.count(key) ? killed[key] : 0), 1) << key << " delivered " << n;
  }

  // Every action created once.
  Json outbox = c0.Get("/v1/outbox?limit=1000", token).json();
  std::set<std::string> keys;
  for (const auto& a : outbox["actions"]) {
    EXPECT_TRUE(keys.insert(a.value("idempotency_key", "")).second) << a.dump();
  }
  EXPECT_EQ(keys.size(), expected_actions);

  // Every event applied once, whichever server took it.
  HttpClient c1 = servers[1]->Client();
  for (int i = 0; i < kOrders; ++i) {
    std::string o = "O-" + std::to_string(i);
    auto r = (i % 2 ? c0 : c1).Get("/v1/journeys/trade-in/instances/" + o, token);
    ASSERT_EQ(r.status, 200) << r.body;
    Json inst = r.json();
    std::map<std::string, int> applied;
    for (const auto& t : inst["timeline"]) {
      if (t.value("kind", "") == "event") ++applied[t.value("event_id", "")];
    }
    for (const char* suffix : {"-placed", "-label", "-pickup", "-delivered"}) {
      EXPECT_EQ(applied[o + suffix], 1) << o << suffix;
    }
    EXPECT_TRUE(inst["facts"].contains("kit.delivered")) << o;
  }
}

TEST(MultiServer, RecordsOfOneCustomerPostedToThreeServersAtOnceMakeOnePerson) {
  const std::string url = FreshDatabase("rapport_multi_server_profiles");
  ASSERT_FALSE(url.empty()) << "no PostgreSQL: RAPPORT_TEST_PG=" << PgSocketDir()
                            << " (run under ctest, which starts a cluster)";
  ScratchDir dir;
  ShareAuditKey(dir);
  const std::string token = CreateToken(url, "admin");
  std::vector<std::unique_ptr<ServerProcess>> servers;
  for (int i = 0; i < 3; ++i) {
    servers.push_back(std::make_unique<ServerProcess>(url));
    ASSERT_TRUE(servers.back()->ok()) << servers.back()->startup_output();
  }
  // Each customer arrives three times, from three systems, spelled three ways; server i gets
  // spelling i. Every server has loaded its (empty) profiles before the first record.
  const std::vector<std::string> surnames = {
      "Müller", "Schmidt", "Schneider", "Fischer", "Weber",   "Meyer",     "Wagner",
      "Becker", "Schulz",  "Hoffmann",  "Schäfer", "Koch",    "Bauer",     "Richter",
      "Klein",  "Wolf",    "Schröder",  "Neumann", "Schwarz", "Zimmermann"};
  const std::vector<std::string> given = {"Katharina", "Johann",  "Anna",     "Peter",  "Sabine",
                                          "Thomas",    "Ursula",  "Michael",  "Monika", "Stefan",
                                          "Renate",    "Andreas", "Brigitte", "Jürgen", "Helga",
                                          "Frank",     "Karin",   "Uwe",      "Petra",  "Dieter"};
  auto spelling = [](const std::string& s, int variant) {
    if (variant != 1) return s;
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s.compare(i, 2, "ü") == 0)
        out += "ue", ++i;
      else if (s.compare(i, 2, "ä") == 0)
        out += "ae", ++i;
      else if (s.compare(i, 2, "ö") == 0)
        out += "oe", ++i;
      else
        out += s[i];
    }
    return out;
  };
  auto record = [&](int customer, int variant) {
    const std::string& surname = surnames[customer];
    std::string street = variant == 2 ? "Lindenstr. " : "Lindenstraße ";
    Json j = {{"source", "system" + std::to_string(variant)},
              {"source_key", "K" + std::to_string(customer)},
              {"fields",
               {{"vorname", variant == 2 ? given[customer].substr(0, 1) + "." : given[customer]},
                {"nachname", spelling(surname, variant)},
                {"strasse", street + std::to_string(10 + customer)},
                {"plz", std::to_string(10115 + customer * 7)},
                {"ort", "Berlin"},
                {"geburtsdatum", std::to_string(1950 + customer) + "-03-14"}}}};
    return j.dump();
  };
  const int customers = static_cast<int>(surnames.size());
  std::vector<std::vector<std::string>> stored(3, std::vector<std::string>(customers));
  std::vector<std::thread> senders;
  for (int s = 0; s < 3; ++s) {
    senders.emplace_back([&, s] {
      HttpClient c = servers[s]->Client();
      for (int k = 0; k < customers; ++k) {
        auto r = c.Post("/v1/records", record(k, s), token);
        EXPECT_EQ(r.status, 201) << r.body;
        if (r.status == 201) stored[s][k] = r.json().value("id", "");
      }
    });
  }
  for (auto& t : senders) t.join();

  // Every server sees one person per customer holding all three records.
  for (int s = 0; s < 3; ++s) {
    HttpClient c = servers[s]->Client();
    for (int k = 0; k < customers; ++k) {
      std::set<std::string> persons;
      for (int v = 0; v < 3; ++v) {
        auto r = c.Get("/v1/records/" + stored[v][k], token);
        ASSERT_EQ(r.status, 200) << r.body;
      }
      auto found = c.Get("/v1/persons?q=Lindenstra%C3%9Fe+" + std::to_string(10 + k), token);
      ASSERT_EQ(found.status, 200) << found.body;
      const Json results = found.json()["results"];
      for (const auto& hit : results) {
        auto p = c.Get("/v1/persons/" + hit["id"].get<std::string>(), token).json();
        for (const auto& rec : p["records"]) {
          for (int v = 0; v < 3; ++v) {
            if (rec["id"] == stored[v][k]) persons.insert(p["id"].get<std::string>());
          }
        }
      }
      EXPECT_EQ(persons.size(), 1u) << "server " << s << ", customer " << surnames[k];
      if (persons.size() == 1) {
        auto p = c.Get("/v1/persons/" + *persons.begin(), token).json();
        EXPECT_EQ(p["records"].size(), 3u) << p.dump(2);
      }
    }
  }
}

}  // namespace
}  // namespace rapport::testing
