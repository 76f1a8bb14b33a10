// Beast session handling follows the "advanced server" example: one strand per connection,
// a fresh request_parser per request so the body limit applies to each.
#include "api/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

namespace rapport::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

Request ToRequest(http::request<http::string_body>&& req) {
  Request r;
  r.method = std::string(req.method_string().data(), req.method_string().size());
  std::string_view target(req.target().data(), req.target().size());
  size_t q = target.find('?');
  r.path = UrlDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) r.query = ParseQuery(target.substr(q + 1));
  auto ct = req[http::field::content_type];
  r.content_type.assign(ct.data(), ct.size());
  auto au = req[http::field::authorization];
  r.authorization.assign(au.data(), au.size());
  r.body = std::move(req.body());
  return r;
}

}  // namespace

class HttpServer::Impl {
 public:
  class Session;

  Impl(Router& router, ServerOptions options)
      : router_(router), options_(std::move(options)), acceptor_(ioc_), signals_(ioc_) {}

  Status Listen() {
    beast::error_code ec;
    auto address = net::ip::make_address(options_.host, ec);
    if (ec) return InvalidArgument("not an IP address: '" + options_.host + "'", "host");
    tcp::endpoint endpoint(address, options_.port);
    std::string where = options_.host + ":" + std::to_string(options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Unavailable("cannot listen on " + where + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    return OkStatus();
  }

  uint16_t port() const { return port_; }

  void Run(bool handle_signals) {
    if (handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.async_wait([this](beast::error_code ec, int) {
        if (!ec) Shutdown();
      });
    }
    DoAccept();
    int n =
        options_.threads > 0
            ? options_.threads
            : static_cast<int>(kThreadsPerCore * std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> workers;
    for (int i = 1; i < n; ++i) workers.emplace_back([this] { RunWorker(); });
    RunWorker();
    for (auto& t : workers) t.join();
  }

  // Router::Dispatch never throws; this is the last line should anything else on a connection's
  // path (parsing a target, writing headers) throw: that connection is dropped, the server and
  // every other connection go on.
  void RunWorker() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("a connection failed: {}", e.what());
      } catch (...) {
        spdlog::error("a connection failed");
      }
    }
  }

  void Shutdown() {
    net::post(ioc_, [this] {
      if (stopping_) return;
      stopping_ = true;
      beast::error_code ec;
      acceptor_.close(ec);
      signals_.cancel(ec);
      std::vector<std::shared_ptr<Session>> live;
      {
        std::lock_guard<std::mutex> lock(sessions_mu_);
        for (auto& [p, w] : sessions_) {
          if (auto s = w.lock()) live.push_back(std::move(s));
        }
      }
      for (auto& s : live) CloseIfIdle(s);
      // A last resort against a client that never finishes its request.
      grace_timer_.emplace(ioc_);
      grace_timer_->expires_after(options_.shutdown_grace);
      grace_timer_->async_wait([this](beast::error_code e) {
        if (!e) ioc_.stop();
      });
      MaybeFinish();
    });
  }

  bool stopping() const { return stopping_; }
  Router& router() { return router_; }
  const ServerOptions& options() const { return options_; }

  void Register(const std::shared_ptr<Session>& s) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_[s.get()] = s;
  }
  void Unregister(Session* s) {
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      sessions_.erase(s);
    }
    if (stopping_) net::post(ioc_, [this] { MaybeFinish(); });
  }

 private:
  void DoAccept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           [this](beast::error_code ec, tcp::socket socket) {
                             if (ec) {
                               if (ec == net::error::operation_aborted || stopping_) return;
                             } else {
                               StartSession(std::move(socket));
                             }
                             if (!stopping_) DoAccept();
                           });
  }

  void StartSession(tcp::socket socket);
  void CloseIfIdle(const std::shared_ptr<Session>& s);

  void MaybeFinish() {
    if (!stopping_) return;
    std::lock_guard<std::mutex> lock(sessions_mu_);
    if (sessions_.empty() && grace_timer_) grace_timer_->cancel();
  }

  Router& router_;
  ServerOptions options_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::signal_set signals_;
  std::optional<net::steady_timer> grace_timer_;
  std::atomic<bool> stopping_{false};
  uint16_t port_ = 0;
  std::mutex sessions_mu_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
};

class HttpServer::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Impl& server) : stream_(std::move(socket)), server_(server) {}
  ~Session() { server_.Unregister(this); }

  void Start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

  // Runs on the session's strand.
  // A connection is idle when it is not answering and has received no byte of a new request
  // (neither parsed, buffered, nor waiting in the kernel); anything else is in flight.
  void CloseIfIdle() {
    beast::error_code ec;
    bool has_bytes = (parser_ && parser_->got_some()) || buffer_.size() > 0 ||
                     stream_.socket().available(ec) > 0;
    if (!busy_ && !has_bytes) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.cancel();
    }
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

 private:
  void DoRead() {
    if (server_.stopping()) return Close();
    parser_.emplace();
    parser_->body_limit(server_.options().body_limit);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(server_.options().idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return SendError(StatusCode::kPayloadTooLarge,
                       "request body larger than the limit of " +
                           std::to_string(server_.options().body_limit) + " bytes",
                       413);
    }
    if (ec == http::error::header_limit) {
      return SendError(StatusCode::kPayloadTooLarge, "request headers too large", 431);
    }
    if (ec) {
      // Malformed HTTP: answer if the peer can still hear us, then close.
      if (ec.category() == beast::error_code(http::error::bad_target).category()) {
        return SendError(StatusCode::kInvalidArgument, "malformed HTTP request: " + ec.message(),
                         400);
      }
      return Close();
    }
    busy_ = true;
    auto req = parser_->release();
    bool keep_alive = req.keep_alive();
    unsigned version = req.version();
    const bool head = req.method() == http::verb::head;
    Request request = ToRequest(std::move(req));
    Response response = server_.router().Dispatch(request);
    Send(std::move(response), version, keep_alive && !server_.stopping(), head);
  }

  void SendError(StatusCode code, std::string message, int http_status) {
    busy_ = true;
    Response r = ErrorResponse(Status(code, std::move(message)));
    r.status = http_status;
    Send(std::move(r), 11, false);
  }

  void Send(Response&& response, unsigned version, bool keep_alive, bool head = false) {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    res->set(http::field::server, "rapport");
    res->set(http::field::content_type, response.content_type);
    for (auto& [k, v] : response.headers) res->set(k, v);
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    if (head) res->body().clear();  // the length of the body a GET would get, and no body
    res_ = res;
    http::async_write(stream_, *res,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, size_t) {
    busy_ = false;
    res_.reset();
    if (ec || !keep_alive) return Close();
    DoRead();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> res_;
  Impl& server_;
  bool busy_ = false;
};

void HttpServer::Impl::StartSession(tcp::socket socket) {
  auto s = std::make_shared<Session>(std::move(socket), *this);
  Register(s);
  s->Start();
}

void HttpServer::Impl::CloseIfIdle(const std::shared_ptr<Session>& s) {
  net::post(s->executor(), [s] { s->CloseIfIdle(); });
}

HttpServer::HttpServer(Router& router, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, std::move(options))) {}
HttpServer::~HttpServer() = default;
Status HttpServer::Listen() { return impl_->Listen(); }
uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::Run(bool handle_signals) { impl_->Run(handle_signals); }
void HttpServer::Shutdown() { impl_->Shutdown(); }

}  // namespace rapport::api
