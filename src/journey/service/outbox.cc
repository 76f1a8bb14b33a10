#include "journey/service/outbox.h"

#include <fcntl.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/failpoint.h"

namespace rapport::journey {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

OutboxDeliverer::OutboxDeliverer(store::Store& store, const Clock& clock, MetricsRegistry& metrics,
                                 JourneyService& journeys, OutboxOptions options)
    : store_(store),
      clock_(clock),
      journeys_(journeys),
      options_(std::move(options)),
      delivered_(metrics.GetCounter("rapport_outbox_delivered_total", "Actions delivered")),
      failed_(metrics.GetCounter("rapport_outbox_failures_total", "Failed delivery attempts")),
      held_(metrics.GetCounter("rapport_outbox_holds_total",
                               "Times an action was held for want of a contact point or consent")) {
}

namespace {
constexpr const char* kHeldKind = "outbox-held";
}  // namespace

Status OutboxDeliverer::Open() {
  std::ifstream in(options_.sink_file);
  std::string line;
  while (std::getline(in, line)) {
    auto j = Json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("idempotency_key")) in_sink_.insert(j["idempotency_key"]);
  }
  int fd = ::open(options_.sink_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  if (fd < 0) return Unavailable("cannot open the message sink '" + options_.sink_file + "'");
  ::close(fd);
  return OkStatus();
}

Status OutboxDeliverer::AppendToSink(const std::string& lines) {
  std::lock_guard<std::mutex> lock(sink_mu_);
  int fd = ::open(options_.sink_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  if (fd < 0) return Unavailable("cannot open the message sink '" + options_.sink_file + "'");
  ssize_t n = ::write(fd, lines.data(), lines.size());
  int synced = ::fdatasync(fd);
  ::close(fd);
  if (n != static_cast<ssize_t>(lines.size()) || synced != 0) {
    return Unavailable("cannot write the message sink '" + options_.sink_file + "'");
  }
  return OkStatus();
}

Status OutboxDeliverer::PostWebhook(const Json& action, const std::string& body) {
  std::string url = action.value("url", "");
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    return FailedPrecondition("only http:// webhooks can be sent (put a TLS relay in front): " +
                              url);
  }
  std::string rest = url.substr(scheme.size());
  std::string hostport = rest.substr(0, rest.find('/'));
  std::string target = rest.find('/') == std::string::npos ? "/" : rest.substr(rest.find('/'));
  std::string host = hostport.substr(0, hostport.find(':'));
  std::string port =
      hostport.find(':') == std::string::npos ? "80" : hostport.substr(hostport.find(':') + 1);
  ASSIGN_OR_RETURN(std::string secret, journeys_.WebhookSecret(action.value("journey", ""),
                                                               action.value("action", "")));
  std::string timestamp = std::to_string(ToMicros(clock_.Now()) / 1000000);
  try {
    net::io_context ioc;
    net::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(resolver.resolve(host, port));
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, hostport);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "rapport");
    req.set("Idempotency-Key", action.value("idempotency_key", ""));
    req.set("X-Rapport-Timestamp", timestamp);
    req.set("X-Rapport-Signature", "sha256=" + HmacSha256Hex(secret, timestamp + "." + body));
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ec;
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
    if (res.result_int() / 100 != 2) {
      return Unavailable("webhook answered " + std::to_string(res.result_int()));
    }
  } catch (const std::exception& e) {
    return Unavailable(std::string("webhook failed: ") + e.what());
  }
  return OkStatus();
}

Result<int> OutboxDeliverer::ReclaimOwn() {
  if (options_.server_id.empty()) return 0;
  return store_.ReleaseClaims("outbox", options_.server_id, clock_.Now());
}

Result<int> OutboxDeliverer::RenewClaims() {
  // Not under mu_: a round holds it for as long as it delivers, which is when renewing matters.
  if (options_.server_id.empty()) return 0;
  return store_.RenewClaims("outbox", options_.server_id, clock_.Now() + options_.lease);
}

Result<size_t> OutboxDeliverer::DeliverDue() {
  std::lock_guard<std::mutex> lock(mu_);
  size_t delivered = 0;
  Time now = clock_.Now();
  // Claimed for a short lease that the heartbeat (RenewClaims) extends while this server
  // lives, however long the round takes (50 webhooks that all time out take 500 s): another
  // server takes them over only when this one stopped renewing.
  ASSIGN_OR_RETURN(auto due,
                   store_.ClaimDue("outbox", now, now + options_.lease, 50, options_.server_id));
  if (due.empty()) return 0;
  store::WriteBatch batch;
  // Ids of the actions held before (their queue body says so): once they leave, they are no
  // longer listed as held.
  std::set<std::string> was_held;
  auto settle = [&](const store::QueueItem& item, const Status& s) {
    if (was_held.count(item.id) && (s.ok() || item.attempts + 1 >= options_.max_attempts)) {
      batch.deletes.emplace_back(kHeldKind, item.id);
    }
    if (s.ok()) {
      batch.dequeue.push_back({"outbox", item.id});
      batch.append.push_back(
          {"outbox-delivered", item.id,
           Json{{"idempotency_key", item.id}, {"attempts", item.attempts + 1}}.dump(), now});
      delivered_.Add();
      ++delivered;
    } else if (item.attempts + 1 >= options_.max_attempts) {
      batch.dequeue.push_back({"outbox", item.id});
      batch.append.push_back({"outbox-dead", item.id,
                              Json{{"idempotency_key", item.id}, {"error", s.message()}}.dump(),
                              now});
      failed_.Add();
    } else {
      // 1 s, 2 s, 4 s, ... capped at one hour.
      int64_t backoff_s = std::min<int64_t>(int64_t{1} << std::min(item.attempts, 12), 3600);
      store::QueueItem retry = item;
      retry.attempts = item.attempts + 1;
      retry.due = now + std::chrono::seconds(backoff_s);
      batch.reschedule.push_back(retry);
      failed_.Add();
    }
  };
  // Sink lines of this round go out in one write and one fdatasync.
  std::string lines;
  std::vector<const store::QueueItem*> in_lines;
  // Not sent to nobody: kept in the queue with the reason, looked at again later. `since` is
  // when it was first held (null: now).
  auto hold = [&](const store::QueueItem& item, const Json& action, Json since, const Status& why) {
    if (!since.is_string()) since = FormatTime(now);
    held_.Add();
    auto first = ParseTime(since.get<std::string>());
    if (first.ok() && now - *first >= options_.max_hold) {
      batch.dequeue.push_back({"outbox", item.id});
      batch.deletes.emplace_back(kHeldKind, item.id);
      batch.append.push_back(
          {"outbox-dead", item.id,
           Json{{"idempotency_key", item.id},
                {"held", true},
                {"error", "held since " + since.get<std::string>() + ": " + why.message()}}
               .dump(),
           now});
      return;
    }
    Json listed = {{"idempotency_key", item.id},
                   {"kind", action.value("kind", "")},
                   {"subject", action.value("subject", "")},
                   {"channel", action.value("channel", "")},
                   {"template", action.value("template", "")},
                   {"reason", why.message()},
                   {"held_since", since},
                   {"checked_at", FormatTime(now)}};
    batch.puts.push_back({{kHeldKind, item.id, listed.dump()}, -1});
    Json body = Json::parse(item.body, nullptr, false);
    store::QueueItem later = item;
    if (body.is_object()) {
      body["held_since"] = since;
      later.body = body.dump();
    }
    later.due = now + options_.hold_recheck;
    batch.reschedule.push_back(later);
  };
  for (const auto& item : due) {
    ASSIGN_OR_RETURN(Json action, ParseJson(item.body));
    Json held_since;
    if (auto it = action.find("held_since"); it != action.end()) {
      held_since = *it;
      was_held.insert(item.id);
      action.erase(it);
    }
    Failpoint("outbox.before_send");
    if (action.value("kind", "") != "open_case" && options_.annotate) {
      if (Status annotated = options_.annotate(action); !annotated.ok()) {
        if (annotated.code() == StatusCode::kFailedPrecondition) {
          hold(item, action, held_since, annotated);
        } else {
          settle(item, annotated);
        }
        continue;
      }
    }
    if (action.value("kind", "") == "webhook" && options_.webhook_gate) {
      Status allowed = options_.webhook_gate(action);
      if (allowed.code() == StatusCode::kPermissionDenied) {
        batch.dequeue.push_back({"outbox", item.id});
        batch.append.push_back(
            {"outbox-dead", item.id,
             Json{{"idempotency_key", item.id}, {"refused", true}, {"error", allowed.message()}}
                 .dump(),
             now});
        failed_.Add();
        continue;
      }
      if (!allowed.ok()) {
        settle(item, allowed);
        continue;
      }
    }
    if (action.value("kind", "") == "open_case" && options_.open_case) {
      Status opened = options_.open_case(action);
      StatusCode code = opened.code();
      if (code == StatusCode::kInvalidArgument || code == StatusCode::kNotFound ||
          code == StatusCode::kPermissionDenied) {
        // Retrying cannot help: the journey names a type, team or field the cases
        // configuration does not have, or the instance has no person.
        batch.dequeue.push_back({"outbox", item.id});
        batch.append.push_back(
            {"outbox-dead", item.id,
             Json{{"idempotency_key", item.id}, {"error", opened.ToString()}}.dump(), now});
        failed_.Add();
      } else {
        settle(item, opened);
      }
      continue;
    }
    if (action.value("kind", "") == "webhook" && options_.send_webhooks) {
      settle(item, PostWebhook(action, action.dump()));  // as annotated
    } else if (in_sink_.count(item.id)) {
      settle(item, OkStatus());  // written before a crash: not twice
    } else {
      lines += Json{{"idempotency_key", item.id},
                    {"delivered_at", FormatTime(now)},
                    {"action", std::move(action)}}
                   .dump() +
               "\n";
      in_lines.push_back(&item);
    }
  }
  if (!in_lines.empty()) {
    Status written = AppendToSink(lines);
    for (const store::QueueItem* item : in_lines) {
      if (written.ok()) in_sink_.insert(item->id);
      settle(*item, written);
    }
  }
  Failpoint("outbox.after_send");
  // What went out is settled, whatever it takes: left claimed, it would come due again for
  // another server once the claim's lease ends, and go out twice. A serialization failure
  // (kAborted: this server's heartbeat renewed the same claims meanwhile, on PostgreSQL)
  // rolled the whole batch back, so writing it again is safe.
  Status written = store_.Write(batch);
  for (int attempt = 1; written.code() == StatusCode::kAborted && attempt < 10; ++attempt) {
    written = store_.Write(batch);
  }
  RETURN_IF_ERROR(written);
  return delivered;
}

Result<std::optional<Time>> OutboxDeliverer::NextDue() { return store_.NextDue("outbox"); }

Result<int64_t> OutboxDeliverer::EraseHeld(const std::vector<std::string>& person_ids,
                                           const std::vector<std::string>& needles) {
  // Not under mu_ (see sink_mu_): an erasure holds the profiles' lock, which a round holding
  // mu_ may wait for. A round that looks at one of these meanwhile holds it again under the
  // same key; Store::Erase replaces the person's needles in queue and document bodies anyway.
  store::WriteBatch batch;
  std::string after;
  int64_t erased = 0;
  while (true) {
    ASSIGN_OR_RETURN(auto docs, store_.ListDocuments(kHeldKind, "", after, 500));
    for (const auto& d : docs) {
      ASSIGN_OR_RETURN(Json held, ParseJson(d.body));
      const std::string subject = held.value("subject", "");
      bool about = std::find(person_ids.begin(), person_ids.end(), subject) != person_ids.end() ||
                   std::any_of(needles.begin(), needles.end(), [&](const std::string& n) {
                     return !n.empty() && subject.find(n) != std::string::npos;
                   });
      if (!about) continue;
      batch.deletes.emplace_back(kHeldKind, d.id);
      batch.dequeue.push_back({"outbox", d.id});
      ++erased;
    }
    if (docs.size() < 500) break;
    after = docs.back().id;
  }
  if (!batch.empty()) RETURN_IF_ERROR(store_.Write(batch));
  return erased;
}

Result<std::vector<Json>> OutboxDeliverer::ListHeld(std::string_view after_key, int limit) {
  ASSIGN_OR_RETURN(auto docs, store_.ListDocuments(kHeldKind, "", after_key, limit));
  std::vector<Json> out;
  out.reserve(docs.size());
  for (const auto& d : docs) {
    ASSIGN_OR_RETURN(Json j, ParseJson(d.body));
    out.push_back(std::move(j));
  }
  return out;
}

Result<Json> OutboxDeliverer::EraseFromSink(const std::vector<std::string>& person_ids,
                                            const std::vector<std::string>& needles,
                                            std::string_view erasure_id) {
  std::lock_guard<std::mutex> lock(sink_mu_);  // no line is appended while it is rewritten
  const std::string& path = options_.sink_file;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Json{{"file", path}, {"lines", 0}};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  auto contains_needle = [&](std::string_view line) {
    return std::any_of(needles.begin(), needles.end(), [&](const std::string& n) {
      return !n.empty() && line.find(n) != std::string_view::npos;
    });
  };
  auto names_person = [&](const Json& action, const char* key) {
    auto it = action.find(key);
    return it != action.end() && it->is_string() &&
           std::find(person_ids.begin(), person_ids.end(), it->get<std::string>()) !=
               person_ids.end();
  };
  std::string out;
  out.reserve(text.size());
  int64_t replaced = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    bool complete = end != std::string::npos;
    std::string_view line(text.data() + start, (complete ? end : text.size()) - start);
    start = complete ? end + 1 : text.size();
    Json j = Json::parse(line, nullptr, false);
    const Json action = j.is_object() ? j.value("action", Json::object()) : Json::object();
    bool about = contains_needle(line) ||
                 (action.is_object() &&
                  (names_person(action, "subject") || names_person(action, "instance_key")));
    if (!about) {
      out.append(line);
    } else {
      std::string key = j.is_object() ? j.value("idempotency_key", "") : "";
      for (const auto& n : needles) {
        for (size_t at; !n.empty() && (at = key.find(n)) != std::string::npos;) {
          key.replace(at, n.size(), "[erased]");
        }
      }
      out += Json{{"idempotency_key", key},
                  {"delivered_at", j.is_object() ? j.value("delivered_at", "") : ""},
                  {"erased", erasure_id}}
                 .dump();
      ++replaced;
    }
    if (complete) out += '\n';
  }
  if (replaced == 0) return Json{{"file", path}, {"lines", 0}};
  std::string temp = path + ".erasing";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
  if (fd < 0) return Unavailable("cannot write '" + temp + "' to erase from the message sink");
  ssize_t n = ::write(fd, out.data(), out.size());
  int synced = ::fsync(fd);
  ::close(fd);
  if (n != static_cast<ssize_t>(out.size()) || synced != 0 ||
      ::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return Unavailable("cannot replace the message sink '" + path + "' after an erasure");
  }
  // The rename is durable once the directory is.
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (int dfd = ::open(dir.empty() ? "/" : dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Json{{"file", path}, {"lines", replaced}};
}

}  // namespace rapport::journey
