// `rapport serve`: the HTTP server on the configured store.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "api/handlers.h"
#include "api/http_server.h"
#include "cli/commands.h"
#include "cli/common.h"

namespace rapport::cli {

namespace {

// The default server id: two servers on one host need --server-id.
std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "rapport";
  return name;
}

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string db = "rapport.db";
  std::string clock = "system";
  std::string clock_start;
  int threads = 0;
  size_t max_body = 32 * 1024 * 1024;
  std::string sync = "full";
  std::string outbox_file;
  bool send_webhooks = false;
  std::string profiles_file;
  std::string cases_file;
  std::string partner_access_window = "14d";
  std::string console_dir;
  std::string server_id;
  std::string audit_key_file;
  std::string audit_checkpoints;
};

// Writes a signed audit checkpoint to `path` every kInterval and once more when stopped, so
// that a rewrite of the database (even its deletion) can be told from the exported prefix.
class CheckpointWriter {
 public:
  static constexpr std::chrono::seconds kInterval{60};

  CheckpointWriter(privacy::AuditLog& audit, std::string path)
      : audit_(audit), path_(std::move(path)), thread_([this] { Loop(); }) {}
  ~CheckpointWriter() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    WriteOne();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, kInterval, [this] { return stop_; })) {
      lock.unlock();
      WriteOne();
      lock.lock();
    }
  }
  void WriteOne() {
    // A failed checkpoint is logged, not fatal: the next one covers the same prefix and more.
    auto c = audit_.Checkpoint();
    Status s = c.ok() ? privacy::AppendAuditCheckpoint(path_, *c) : c.status();
    if (!s.ok()) spdlog::error("audit checkpoint: {}", s.message());
  }

  privacy::AuditLog& audit_;
  const std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

int Serve(const ServeOptions& o) {
  app::Config config;
  config.db = o.db;
  config.clock = o.clock;
  config.sync_every_commit = o.sync == "full";
  config.outbox_file = o.outbox_file;
  config.send_webhooks = o.send_webhooks;
  if (!o.clock_start.empty()) {
    auto t = ParseTime(o.clock_start);
    if (!t.ok()) return ReportError(t.status().WithWhere("--clock-start"));
    config.clock_start = *t;
  }
  auto window = ParseDuration(o.partner_access_window);
  if (!window.ok()) return ReportError(window.status().WithWhere("--partner-access-window"));
  config.service.access_window = *window;
  config.server_id = o.server_id.empty() ? HostName() : o.server_id;
  config.audit_key_file = o.audit_key_file;
  auto app = app::App::Open(config);
  if (!app.ok()) return ReportError(app.status());
  if (!o.profiles_file.empty()) {
    // Kept in the store, so that `rapport import` on this database resolves the same way.
    auto text = ReadFile(o.profiles_file);
    if (!text.ok()) return ReportError(text.status());
    auto json = ParseJson(*text);
    if (!json.ok()) return ReportError(json.status().WithWhere(o.profiles_file));
    auto options = profiles::Options::FromJson(*json);
    if (!options.ok()) return ReportError(options.status().WithContext(o.profiles_file));
    Status s = (*app)->store().PutSetting(profiles::kOptionsSetting, options->ToJson().dump());
    if (!s.ok()) return ReportError(s);
  }
  if (!o.cases_file.empty()) {
    // Kept in the store, so a restart without --cases keeps the teams, rules and SLAs.
    auto text = ReadFile(o.cases_file);
    if (!text.ok()) return ReportError(text.status());
    auto cases = (*app)->cases().SetConfig(*text, o.cases_file);
    if (!cases.ok()) return ReportError(cases.status());
  }
  {
    auto t0 = std::chrono::steady_clock::now();
    Status loaded = (*app)->profiles().Load();
    if (!loaded.ok()) return ReportError(loaded);
    spdlog::info("profiles loaded: {} persons in {:.1f} s", *(*app)->profiles().PersonCount(),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  api::Router router((*app)->tokens(), (*app)->metrics());
  api::AddAllRoutes(router, **app, o.console_dir);
  api::ServerOptions so;
  so.host = o.host;
  so.port = static_cast<uint16_t>(o.port);
  so.threads = o.threads;
  so.body_limit = o.max_body;
  api::HttpServer server(router, so);
  Status s = server.Listen();
  if (!s.ok()) return ReportError(s);
  // Tests and scripts read this line to learn the port (with --port 0).
  std::cout << "Rapport listening on http://" << o.host << ":" << server.port()
            << "  (store: " << (*app)->store().Backend() << " " << o.db << ", clock: " << o.clock
            << ")" << std::endl;
  (*app)->StartWorker();
  std::optional<CheckpointWriter> checkpoints;
  if (!o.audit_checkpoints.empty()) checkpoints.emplace((*app)->audit(), o.audit_checkpoints);
  server.Run(/*handle_signals=*/true);
  (*app)->StopWorker();
  checkpoints.reset();  // the last checkpoint covers every entry written before the stop
  spdlog::info("shut down cleanly: in-flight requests answered, store closed");
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the HTTP API server");
  cmd->add_option("--host", o->host, "Address to listen on")
      ->envname("RAPPORT_HOST")
      ->capture_default_str();
  cmd->add_option("--port", o->port, "Port (0: any free port)")
      ->envname("RAPPORT_PORT")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  AddDbOption(cmd, &o->db);
  cmd->add_option("--clock", o->clock,
                  "system, or manual: time moves only by POST /v1/admin/clock (for tests)")
      ->envname("RAPPORT_CLOCK")
      ->check(CLI::IsMember({"system", "manual"}))
      ->capture_default_str();
  cmd->add_option("--clock-start", o->clock_start,
                  "Where a new manual clock starts (RFC 3339), default: now")
      ->envname("RAPPORT_CLOCK_START");
  cmd->add_option("--threads", o->threads, "Worker threads (0: 8 per core)")
      ->envname("RAPPORT_THREADS")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--max-body", o->max_body, "Largest request body in bytes")
      ->envname("RAPPORT_MAX_BODY")
      ->capture_default_str();
  cmd->add_option("--sync", o->sync,
                  "full: fsync every commit (survives power loss); normal: survives a crash of "
                  "rapport but may lose the last commits on power loss")
      ->envname("RAPPORT_SYNC")
      ->check(CLI::IsMember({"full", "normal"}))
      ->capture_default_str();
  cmd->add_option("--outbox-file", o->outbox_file,
                  "Where customer messages and agent tasks are delivered, as NDJSON "
                  "(default: <db>.outbox.ndjson)")
      ->envname("RAPPORT_OUTBOX_FILE");
  cmd->add_flag("--send-webhooks", o->send_webhooks,
                "POST webhook actions to their URLs (signed); otherwise they go to the outbox file")
      ->envname("RAPPORT_SEND_WEBHOOKS");
  cmd->add_option("--partner-access-window", o->partner_access_window,
                  "How long a partner still sees an appliance after closing its work order "
                  "(e.g. 14d, 0s)")
      ->envname("RAPPORT_PARTNER_ACCESS_WINDOW")
      ->capture_default_str();
  cmd->add_option("--server-id", o->server_id,
                  "This server's name on the outbox actions it claims; unique among the servers "
                  "of one database (default: the host name)")
      ->envname("RAPPORT_SERVER_ID");
  cmd->add_option("--audit-key-file", o->audit_key_file,
                  "File with the audit log's key, kept off the database (default: "
                  "<db>.audit-key, created if missing; required for PostgreSQL)")
      ->envname("RAPPORT_AUDIT_KEY_FILE");
  cmd->add_option("--audit-checkpoints", o->audit_checkpoints,
                  "Append a signed audit checkpoint to this file every minute and at shutdown "
                  "(for `rapport audit verify --checkpoints`)")
      ->envname("RAPPORT_AUDIT_CHECKPOINTS");
  cmd->add_option("--console-dir", o->console_dir,
                  "Serve the web console from this directory (a `vite build` output, for "
                  "development) instead of the copy built into the binary")
      ->envname("RAPPORT_CONSOLE_DIR")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--profiles", o->profiles_file,
                  "JSON file with identity-resolution settings, kept in the database: "
                  "{\"link_threshold\":0.9,\"review_threshold\":0.5,\"golden\":{\"default\":"
                  "\"most_recent\",\"fields\":{\"email\":\"source_priority\"},"
                  "\"source_priority\":[\"crm\"]}}")
      ->envname("RAPPORT_PROFILES")
      ->check(CLI::ExistingFile);
  cmd->add_option("--cases", o->cases_file,
                  "YAML file with case fields, teams, routing rules, SLAs, calendar, feedback "
                  "rules and preferences (examples/cases/cases.yaml), kept in the database")
      ->envname("RAPPORT_CASES")
      ->check(CLI::ExistingFile);
  cmd->callback([o, exit_code] { *exit_code = Serve(*o); });
}

}  // namespace rapport::cli
