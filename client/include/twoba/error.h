// Errors as values: every fallible call in the client returns a Result<T>.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace twoba {

// What went wrong, coarse enough for a caller (or the CLI's exit code) to act on.
enum class ErrorKind {
  kTransport,        // no HTTP response: connect/read timeout, refused, TLS failure
  kHttp,             // an HTTP response with an unexpected status (not an OAuth error reply)
  kOAuth,            // an RFC 6749 §5.2 error reply, or a protocol violation (state, token_type)
  kParse,            // a reply that is not the JSON it must be
  kReloginRequired,  // no usable refresh token: the user must log in again
  kStore,            // the token store could not be read or written
  kInvalidArgument,  // bad configuration or arguments
};

// Stable lower-case name of a kind ("transport", "relogin_required", ...).
const char* to_string(ErrorKind kind);

// One failure. Never carries a secret or token. Built with the named factories below
// (Error::transport("...")) and tested with the predicates (error.is_transport()).
struct Error {
  ErrorKind kind = ErrorKind::kTransport;
  int http_status = 0;     // HTTP status when a response arrived, else 0
  std::string oauth_code;  // RFC 6749 "error" member when present (e.g. "invalid_grant")
  std::string message;     // human-readable detail

  // No HTTP response arrived.
  static Error transport(std::string message) {
    return {ErrorKind::kTransport, 0, {}, std::move(message)};
  }
  // A reply with an unexpected status and no OAuth error object.
  static Error http(int status, std::string message) {
    return {ErrorKind::kHttp, status, {}, std::move(message)};
  }
  // An OAuth error reply (status 0 when none arrived, e.g. a redirect's error parameter).
  static Error oauth(std::string message, int status = 0, std::string code = {}) {
    return {ErrorKind::kOAuth, status, std::move(code), std::move(message)};
  }
  // A reply that is not the JSON it must be (status of the reply, 0 for local documents).
  static Error parse(std::string message, int status = 0) {
    return {ErrorKind::kParse, status, {}, std::move(message)};
  }
  // The user must log in again; status and code of the reply that said so, if any.
  static Error relogin_required(std::string message, int status = 0, std::string code = {}) {
    return {ErrorKind::kReloginRequired, status, std::move(code), std::move(message)};
  }
  // The token store could not be read or written.
  static Error store(std::string message) { return {ErrorKind::kStore, 0, {}, std::move(message)}; }
  // Bad configuration or arguments.
  static Error invalid_argument(std::string message) {
    return {ErrorKind::kInvalidArgument, 0, {}, std::move(message)};
  }

  // True when kind is the one named.
  bool is_transport() const { return kind == ErrorKind::kTransport; }
  bool is_http() const { return kind == ErrorKind::kHttp; }
  bool is_oauth() const { return kind == ErrorKind::kOAuth; }
  bool is_parse() const { return kind == ErrorKind::kParse; }
  bool is_relogin_required() const { return kind == ErrorKind::kReloginRequired; }
  bool is_store() const { return kind == ErrorKind::kStore; }
  bool is_invalid_argument() const { return kind == ErrorKind::kInvalidArgument; }
};

// "kind: message (HTTP n, code)" for diagnostics.
std::string describe(const Error& error);

// Holds either a T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design
  // True when a value is held.
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // The value; precondition ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  // The value, as with std::optional; precondition ok().
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The value when ok(), else fallback.
  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }
  template <typename U>
  T value_or(U&& fallback) && {
    return ok() ? std::move(*this).value() : static_cast<T>(std::forward<U>(fallback));
  }
  // The error; precondition !ok().
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success without a value.
struct Ok {};
using Status = Result<Ok>;

}  // namespace twoba
