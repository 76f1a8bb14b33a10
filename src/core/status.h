// Errors as values: every module boundary returns Status or Result<T>; exceptions never
// cross a public API. A Status names what went wrong and, in `where`, where (a JSON field,
// "file.csv:12:4", a route) so that the HTTP and CLI layers can tell the user precisely.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rapport {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong (HTTP 400)
  kUnauthenticated,     // no or unknown credentials (401)
  kPermissionDenied,    // known caller, not allowed (403)
  kNotFound,            // (404)
  kAlreadyExists,       // (409)
  kFailedPrecondition,  // state does not allow it now (409)
  kAborted,             // concurrent change, retry (409)
  kPayloadTooLarge,     // (413)
  kResourceExhausted,   // (429)
  kUnavailable,         // transient, retry (503)
  kDataLoss,            // stored data is damaged (500)
  kInternal,            // a bug or an unexpected library failure (500)
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message, std::string where = {})
      : code_(code), message_(std::move(message)), where_(std::move(where)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Where the problem is: a field name, a line:column, a file. Empty when not applicable.
  const std::string& where() const { return where_; }

  // "invalid_argument: message (at where)".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: ` (keeps code and where).
  Status WithContext(std::string_view context) const;
  Status WithWhere(std::string where) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string where_;
};

inline Status OkStatus() { return {}; }
inline Status InvalidArgument(std::string msg, std::string where = {}) {
  return {StatusCode::kInvalidArgument, std::move(msg), std::move(where)};
}
inline Status NotFound(std::string msg, std::string where = {}) {
  return {StatusCode::kNotFound, std::move(msg), std::move(where)};
}
inline Status AlreadyExists(std::string msg, std::string where = {}) {
  return {StatusCode::kAlreadyExists, std::move(msg), std::move(where)};
}
inline Status FailedPrecondition(std::string msg, std::string where = {}) {
  return {StatusCode::kFailedPrecondition, std::move(msg), std::move(where)};
}
inline Status PermissionDenied(std::string msg) {
  return {StatusCode::kPermissionDenied, std::move(msg)};
}
inline Status Unauthenticated(std::string msg) {
  return {StatusCode::kUnauthenticated, std::move(msg)};
}
inline Status Internal(std::string msg, std::string where = {}) {
  return {StatusCode::kInternal, std::move(msg), std::move(where)};
}
inline Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
inline Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
inline Status DataLoss(std::string msg, std::string where = {}) {
  return {StatusCode::kDataLoss, std::move(msg), std::move(where)};
}

// Either a value or a non-OK Status. Accessing value() of an error is a programming error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) v_ = Status(StatusCode::kInternal, "Result built from OK");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rapport

#define RAPPORT_CONCAT_INNER(a, b) a##b
#define RAPPORT_CONCAT(a, b) RAPPORT_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                     \
  do {                                            \
    ::rapport::Status rapport_status_ = (expr);   \
    if (!rapport_status_.ok()) return rapport_status_; \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(RAPPORT_CONCAT(rapport_result_, __LINE__), lhs, expr)
