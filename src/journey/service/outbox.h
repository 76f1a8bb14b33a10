// Delivery of outbox actions: at least once, each with its idempotency key, retried with
// exponential backoff. open_case actions go to the cases service (OutboxOptions::open_case).
// Messages and agent tasks go to the message sink (an NDJSON file that
// the mail/SMS gateway or the agent desk reads); webhooks are POSTed, signed with HMAC-SHA256
// of "<timestamp>.<body>" under the webhook's secret, when webhook sending is on, and written
// to the message sink otherwise (so a test or demo never calls out).
#pragma once

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "journey/service/journey_service.h"
#include "store/store.h"

namespace rapport::journey {

struct OutboxOptions {
  std::string sink_file;       // NDJSON, appended and fsynced
  bool send_webhooks = false;  // POST webhooks (http:// only)
  int max_attempts = 10;       // then the action is given up and logged as dead
  // Asked before a webhook leaves (the privacy ledger's disclosure check). kPermissionDenied
  // refuses it: it is not sent, not retried, and logged as dead with the reason; any other
  // error is retried like a failed delivery.
  std::function<Status(const Json& action)> webhook_gate;
  // Delivers an open_case action in-process (the app wires the cases service). It must be
  // idempotent by the action's idempotency_key: a retry after a crash between opening and
  // settling returns the case opened before. kInvalidArgument, kNotFound and
  // kPermissionDenied (a wrong type, team or field, no person) are final: the action is logged
  // as dead with the reason instead of being retried. Unset: written to the sink like a task.
  std::function<Status(const Json& action)> open_case;
  // Adds to a message, webhook or task before it leaves (and before webhook_gate): the app
  // puts the customer's preferences annotated on the action's events (cases module) and a
  // message's recipient into it. kFailedPrecondition holds the action (no usable contact
  // point, no consent): it is not sent, is listed with the reason (ListHeld) and looked at
  // again every `hold_recheck`, so it leaves once the record or the consent arrives, and is
  // given up as dead after `max_hold`. Any other error is retried like a failed delivery.
  std::function<Status(Json& action)> annotate;
  Duration hold_recheck = std::chrono::hours(1);
  Duration max_hold = std::chrono::hours(24 * 7);
  // This server's name on its claims (`--server-id`, default the host name; unique among the
  // servers of one database). "" (a command-line tool): claims name nobody, and ReclaimOwn and
  // RenewClaims do nothing.
  std::string server_id;
  // How long a claim holds without renewal. A live server renews its claims every lease / 4
  // (App's heartbeat), so only a dead server's claims come due again, within one lease.
  Duration lease = std::chrono::seconds(20);
};

// Thread-safe; deliveries are serialised.
class OutboxDeliverer {
 public:
  OutboxDeliverer(store::Store& store, const Clock& clock, MetricsRegistry& metrics,
                  JourneyService& journeys, OutboxOptions options);

  // Reads the sink file's idempotency keys, so that an action written before a crash is not
  // written again. kUnavailable if the file cannot be opened.
  Status Open();
  // Claims up to 50 actions due now under this server's id for one lease (several servers
  // never deliver the same action at once; a crashed server's claims come back when the
  // lease ends, or at once when it restarts: ReclaimOwn) and delivers them. Returns how many
  // were delivered.
  Result<size_t> DeliverDue();
  // At a server's start, before its first round: the claims its previous run left by a crash
  // come due at once instead of after their lease. Returns how many.
  Result<int> ReclaimOwn();
  // The heartbeat: this server's claims hold for another lease from now. Safe to call while a
  // round is delivering (it does not wait for it). Returns how many claims it holds.
  Result<int> RenewClaims();
  Duration lease() const { return options_.lease; }
  // The earliest time something is due, if anything.
  Result<std::optional<Time>> NextDue();
  // The actions held now (see OutboxOptions::annotate), in key order, after `after_key`:
  // {"idempotency_key","kind","subject","channel","template","reason","held_since","checked_at"}.
  Result<std::vector<Json>> ListHeld(std::string_view after_key, int limit);

  // Erasure (GDPR Art. 17) in the sink file. A line is about the person when its action's
  // subject or instance key is one of `person_ids`, or it contains one of `needles` (the
  // person's addresses, phone numbers, aliases); it is replaced by {"idempotency_key" (the
  // needles in it replaced), "delivered_at", "erased": erasure_id}, so the file still shows
  // that something was delivered then. The new file is written beside the old one, fsynced and
  // renamed over it (a crash leaves the old or the new file, whole); appends wait meanwhile.
  // A reader that keeps the file open (the gateway) must reopen it, as after a log rotation.
  // Returns {"file", "lines": how many were replaced}; a missing file has none.
  Result<Json> EraseFromSink(const std::vector<std::string>& person_ids,
                             const std::vector<std::string>& needles, std::string_view erasure_id);
  // Erasure of the held actions about the person (subject one of `person_ids` or containing
  // one of `needles`): they leave the queue unsent and the held list. Returns how many.
  Result<int64_t> EraseHeld(const std::vector<std::string>& person_ids,
                            const std::vector<std::string>& needles);

 private:
  Status AppendToSink(const std::string& lines);
  Status PostWebhook(const Json& action, const std::string& body);

  store::Store& store_;
  const Clock& clock_;
  JourneyService& journeys_;
  OutboxOptions options_;
  Counter& delivered_;
  Counter& failed_;
  Counter& held_;
  std::mutex mu_;
  std::set<std::string> in_sink_;
  // Guards the sink file only, and nothing is locked while it is held: an erasure rewrites the
  // file while holding the profiles and ledger locks that a delivery round (holding mu_) may
  // wait for in the webhook gate, so it must not wait for mu_.
  std::mutex sink_mu_;
};

// Lowercase hex HMAC-SHA256.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace rapport::journey
