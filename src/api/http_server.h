// The HTTP/1.1 transport over Boost.Beast: a listener, keep-alive sessions, a body limit,
// and graceful shutdown (stop accepting, let in-flight requests finish, close idle
// connections). Requests are dispatched to a Router on a pool of worker threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "api/router.h"
#include "core/status.h"

namespace rapport::api {

// Handlers run on the worker threads and block on the store (fsync, locks, a group commit):
// with one thread per core, POST /v1/records from 16 connections left the cores half idle at
// 1,500 requests/s; with 8 per core the requests that wait share a commit (2,700/s, bench/).
inline constexpr int kThreadsPerCore = 8;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see HttpServer::port())
  int threads = 0;       // 0: kThreadsPerCore per core
  size_t body_limit = 32 * 1024 * 1024;
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds shutdown_grace{30};
};

class HttpServer {
 public:
  HttpServer(Router& router, ServerOptions options);
  ~HttpServer();

  // Binds and listens. kUnavailable (naming host:port) if the address is taken.
  Status Listen();
  uint16_t port() const;
  // Serves until Shutdown() (or SIGINT/SIGTERM when `handle_signals`) and all in-flight
  // requests are answered. Blocks the calling thread, which becomes one of the workers.
  void Run(bool handle_signals);
  // Thread-safe and idempotent; returns at once, Run() returns when draining is done.
  void Shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rapport::api
