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

// One failure. Never carries a secret or token.
struct Error {
  ErrorKind kind = ErrorKind::kTransport;
  int http_status = 0;     // HTTP status when a response arrived, else 0
  std::string oauth_code;  // RFC 6749 "error" member when present (e.g. "invalid_grant")
  std::string message;     // human-readable detail
};

// Builds an Error in one expression.
Error make_error(ErrorKind kind, std::string message, int http_status = 0,
                 std::string oauth_code = {});

// "kind: message (HTTP n, code)" for diagnostics.
std::string describe(const Error& error);

// Holds either a T or an Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // Precondition ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  // Precondition !ok().
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Success without a value.
struct Ok {};
using Status = Result<Ok>;

}  // namespace twoba
