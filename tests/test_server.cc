#include "test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace rapport::testing {

Json HttpResult::json() const {
  auto j = Json::parse(body, nullptr, false);
  return j;
}

struct HttpClient::Impl {
  std::string host;
  int port;
  int fd = -1;

  bool Connect() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd);
      fd = -1;
      return false;
    }
    return true;
  }
  void Disconnect() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  bool SendAll(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads one response; returns false if the connection closed before a full response.
  bool ReadResponse(HttpResult* out) {
    std::string buf;
    char chunk[65536];
    size_t header_end;
    while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<size_t>(n));
    }
    std::string head = buf.substr(0, header_end);
    out->status = std::atoi(head.substr(9, 3).c_str());
    size_t pos = head.find("\r\n");
    size_t content_length = 0;
    while (pos != std::string::npos && pos < head.size()) {
      size_t next = head.find("\r\n", pos + 2);
      std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(c));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        out->headers[name] = value;
        if (name == "content-length") content_length = std::stoul(value);
      }
      pos = next;
    }
    std::string body = buf.substr(header_end + 4);
    while (body.size() < content_length) {
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      body.append(chunk, static_cast<size_t>(n));
    }
    out->body = body.substr(0, content_length);
    if (out->headers["connection"] == "close") Disconnect();
    return true;
  }
};

HttpClient::HttpClient(std::string host, int port) : impl_(new Impl{std::move(host), port}) {}
HttpClient::HttpClient(HttpClient&& other) noexcept : impl_(std::exchange(other.impl_, nullptr)) {}
HttpClient::~HttpClient() {
  if (impl_ == nullptr) return;
  impl_->Disconnect();
  delete impl_;
}

HttpResult HttpClient::Request(const std::string& method, const std::string& target,
                               const std::string& body, const std::string& token,
                               const std::string& content_type) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + impl_->host + "\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "POST") {
    req += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n";
  }
  req += "\r\n" + body;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (impl_->fd < 0 && !impl_->Connect()) return {};
    HttpResult r;
    if (impl_->SendAll(req) && impl_->ReadResponse(&r)) return r;
    impl_->Disconnect();  // a keep-alive connection the server had closed: retry once
  }
  return {};
}

std::string HttpClient::Raw(const std::string& bytes) {
  impl_->Disconnect();
  if (!impl_->Connect()) return "";
  impl_->SendAll(bytes);
  shutdown(impl_->fd, SHUT_WR);
  std::string out;
  char chunk[4096];
  ssize_t n;
  while ((n = recv(impl_->fd, chunk, sizeof chunk, 0)) > 0)
    out.append(chunk, static_cast<size_t>(n));
  impl_->Disconnect();
  return out;
}

std::string RapportBinary() {
  const char* p = std::getenv("RAPPORT_BINARY");
  return p ? p : "rapport";
}

ScratchDir::ScratchDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "rapport-test-XXXXXX").string();
  path_ = mkdtemp(tmpl.data());
}
ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

pid_t Spawn(const std::vector<std::string>& args, int* out_fd) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    // A test that dies (an ASan abort, a failed ASSERT in a helper thread) takes its servers
    // with it instead of leaving them running.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    dup2(pipefd[1], STDOUT_FILENO);
    dup2(pipefd[1], STDERR_FILENO);
    close(pipefd[0]);
    close(pipefd[1]);
    std::vector<char*> argv;
    std::string bin = RapportBinary();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  close(pipefd[1]);
  *out_fd = pipefd[0];
  return pid;
}

}  // namespace

int RunRapport(const std::vector<std::string>& args, std::string* output) {
  int fd;
  pid_t pid = Spawn(args, &fd);
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    if (output) output->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

ServerProcess::ServerProcess(std::string db, std::vector<std::string> extra) : db_(std::move(db)) {
  std::vector<std::string> args = {"serve", "--port", "0", "--db", db_, "--sync", "normal"};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = Spawn(args, &out_fd_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  char buf[1024];
  while (std::chrono::steady_clock::now() < deadline) {
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n <= 0) break;
    startup_output_.append(buf, static_cast<size_t>(n));
    auto p = startup_output_.find("listening on http://127.0.0.1:");
    if (p != std::string::npos) {
      auto start = p + std::strlen("listening on http://127.0.0.1:");
      auto end = startup_output_.find_first_not_of("0123456789", start);
      if (end != std::string::npos) {
        port_ = std::atoi(startup_output_.substr(start, end - start).c_str());
        break;
      }
    }
  }
  // Keep draining the server's output so it never blocks on a full pipe.
  int fd = out_fd_;
  std::thread([fd] {
    char b[4096];
    while (read(fd, b, sizeof b) > 0) {
    }
    close(fd);
  }).detach();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Terminate();
}

int ServerProcess::Kill() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

int ServerProcess::WaitForExit(int timeout_ms) {
  if (pid_ <= 0) return -1;
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Kill();
  return -1;
}

int ServerProcess::Terminate() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::map<std::string, int> SinkKeys(const std::string& path) {
  std::map<std::string, int> keys;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = ParseJson(line);
    if (j.ok()) ++keys[j->value("idempotency_key", "")];
  }
  return keys;
}

std::string CreateToken(const std::string& db, const std::string& role, const std::string& org) {
  std::vector<std::string> args = {"token", "create", "--role", role, "--quiet", "--db", db};
  if (!org.empty()) {
    args.push_back("--org");
    args.push_back(org);
  }
  std::string out;
  if (RunRapport(args, &out) != 0) throw std::runtime_error("token create failed: " + out);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  auto nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

}  // namespace rapport::testing
