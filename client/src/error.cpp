#include "twoba/error.h"

namespace twoba {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kTransport:
      return "transport";
    case ErrorKind::kHttp:
      return "http";
    case ErrorKind::kOAuth:
      return "oauth";
    case ErrorKind::kParse:
      return "parse";
    case ErrorKind::kReloginRequired:
      return "relogin_required";
    case ErrorKind::kStore:
      return "store";
    case ErrorKind::kInvalidArgument:
      return "invalid_argument";
  }
  return "unknown";
}

std::string describe(const Error& error) {
  std::string out = std::string(to_string(error.kind)) + ": " + error.message;
  if (error.http_status != 0 || !error.oauth_code.empty()) {
    out += " (";
    if (error.http_status != 0) out += "HTTP " + std::to_string(error.http_status);
    if (error.http_status != 0 && !error.oauth_code.empty()) out += ", ";
    out += error.oauth_code;
    out += ")";
  }
  return out;
}

}  // namespace twoba
