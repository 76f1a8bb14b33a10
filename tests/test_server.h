// Test support for end-to-end tests: starts the real `rapport serve` binary on a free
// loopback port with its own database, and talks HTTP to it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"

namespace rapport::testing {

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  Json json() const;
};

// A blocking HTTP/1.1 client with keep-alive; reconnects when the server closed.
class HttpClient {
 public:
  HttpClient(std::string host, int port);
  HttpClient(HttpClient&& other) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient();
  HttpResult Request(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& token = "",
                     const std::string& content_type = "application/json");
  HttpResult Get(const std::string& target, const std::string& token = "") {
    return Request("GET", target, "", token);
  }
  HttpResult Post(const std::string& target, const std::string& body, const std::string& token,
                  const std::string& content_type = "application/json") {
    return Request("POST", target, body, token, content_type);
  }
  // Sends raw bytes and returns whatever the server answers before closing (for bad HTTP).
  std::string Raw(const std::string& bytes);

 private:
  struct Impl;
  Impl* impl_;
};

// The path of the built `rapport` binary (RAPPORT_BINARY, set by CMake).
std::string RapportBinary();
// A fresh scratch directory, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs a `rapport` subcommand to completion; returns exit code, stdout+stderr in *output.
int RunRapport(const std::vector<std::string>& args, std::string* output);

class ServerProcess {
 public:
  // Starts `rapport serve --port 0 --db <db> <extra...>` and waits until it listens.
  explicit ServerProcess(std::string db, std::vector<std::string> extra = {});
  ~ServerProcess();  // SIGTERM, then waits

  bool ok() const { return port_ > 0; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& startup_output() const { return startup_output_; }
  HttpClient Client() const { return HttpClient("127.0.0.1", port_); }

  // Sends SIGKILL (a crash) or SIGTERM (graceful) and waits; returns the exit status.
  int Kill();
  int Terminate();
  // Waits until the server ends by itself (e.g. at a failpoint); returns its exit code, or
  // -1 if it still runs after `timeout_ms` (it is then killed).
  int WaitForExit(int timeout_ms);

 private:
  std::string db_;
  pid_t pid_ = -1;
  int port_ = 0;
  int out_fd_ = -1;
  std::string startup_output_;
};

// The whole text of a file ("" if it cannot be read).
std::string ReadFile(const std::string& path);

// Polls `pred` every 20 ms until it holds or `timeout_ms` passed (background work of a server:
// the cases worker, the outbox); the last answer of `pred`.
template <typename Pred>
bool WaitUntil(Pred pred, int timeout_ms = 20000) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

// Idempotency key → how often it is in an NDJSON outbox sink file.
std::map<std::string, int> SinkKeys(const std::string& path);

// Creates an admin token in `db` with the CLI and returns it.
std::string CreateToken(const std::string& db, const std::string& role,
                        const std::string& org = "");

}  // namespace rapport::testing
