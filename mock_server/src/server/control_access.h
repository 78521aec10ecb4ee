// Who may steer the mock through the control API. A mock on loopback is reachable from every
// web page the developer has open: cross-site requests carry a foreign Origin, DNS rebinding a
// foreign Host, and a form or text/plain body needs no CORS preflight. Off loopback, a token.
#ifndef MOCK2BA_CONTROL_ACCESS_H_
#define MOCK2BA_CONTROL_ACCESS_H_

#include <httplib.h>

#include <string>
#include <string_view>
#include <vector>

namespace mock2ba {

// Whether a host is loopback: an IPv4 address in 127.0.0.0/8, ::1 (bracketed or not), an
// IPv4-mapped 127.x address, or the name localhost. Decided by the parsed address, not a prefix.
bool is_loopback_host(const std::string& host);

// The host of "host[:port]" or "[v6]:port" (a Host header or an Origin's authority).
std::string host_of_authority(std::string_view authority);

class ControlAccess {
 public:
  // With an admin token, the token decides; without, Host, Origin and a JSON body do: the Host
  // and Origin must name loopback, `own_host` (--host) or one of `public_hosts`.
  ControlAccess(std::string admin_token, std::string own_host,
                std::vector<std::string> public_hosts);

  // True when `req` may use the control API; otherwise replies 401, 403 or 415 saying why.
  bool admit(const httplib::Request& req, httplib::Response& res) const;

 private:
  enum class Refusal { kNone, kNoToken, kForeignHost, kForeignOrigin, kNotJson };
  Refusal refusal(const httplib::Request& req) const;
  bool is_own_or_loopback(const std::string& host) const;

  std::string admin_token_;
  std::string own_host_;
  std::vector<std::string> public_hosts_;
};

}  // namespace mock2ba

#endif  // MOCK2BA_CONTROL_ACCESS_H_
