#include "server/control_access.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "http/responses.h"
#include "oauth/client_auth.h"
#include "util/text_util.h"

namespace mock2ba {

// The host of "host[:port]" or "[v6]:port" (a Host header or an Origin's authority).
std::string host_of_authority(std::string_view authority) {
  authority = authority.substr(0, authority.find('/'));
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    return close == std::string_view::npos ? "" : std::string(authority.substr(1, close - 1));
  }
  size_t colon = authority.find(':');
  if (colon != std::string_view::npos && authority.find(':', colon + 1) == std::string_view::npos)
    authority = authority.substr(0, colon);
  return std::string(authority);
}

bool is_loopback_host(const std::string& host) {
  if (iequals(host, "localhost") || iequals(host, "localhost.")) return true;
  std::string address = host;
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  // Decided by the parsed address: "127.0.0.1.example" is a name, whatever it resolves to.
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

ControlAccess::ControlAccess(std::string admin_token, std::string own_host,
                             std::vector<std::string> public_hosts)
    : admin_token_(std::move(admin_token)),
      own_host_(std::move(own_host)),
      public_hosts_(std::move(public_hosts)) {}

bool ControlAccess::admit(const httplib::Request& req, httplib::Response& res) const {
  // Each refusal's status and message.
  struct Reply {
    Refusal reason;
    int status;
    const char* message;
  };
  static constexpr Reply kReplies[] = {
      {Refusal::kNoToken, 401, "The control API needs Authorization: Bearer <admin token>."},
      {Refusal::kForeignHost, 403,
       "The control API answers only requests addressed to this mock (Host 127.0.0.1, localhost, "
       "::1 or the --host address); this one was addressed to another name."},
      {Refusal::kForeignOrigin, 403,
       "The control API refuses requests from web pages of other sites (the Origin is not this "
       "mock or a loopback address)."},
      {Refusal::kNotJson, 415,
       "A control request with a body needs Content-Type: application/json (curl: -H "
       "'Content-Type: application/json')."},
  };
  Refusal refused = refusal(req);
  for (const Reply& r : kReplies) {
    if (r.reason != refused) continue;
    if (r.status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"mock control API\"");
    send_json(res, r.status, nlohmann::json{{"error", r.message}}.dump());
    return false;
  }
  return true;
}

ControlAccess::Refusal ControlAccess::refusal(const httplib::Request& req) const {
  if (!admin_token_.empty()) {
    // Opened beyond loopback: the token decides (a web page cannot know it, and a request that
    // carries it is preflighted by browsers).
    std::string header = req.get_header_value("Authorization");
    if (header.size() < 7 || !iequals(std::string_view(header).substr(0, 7), "bearer ") ||
        !secrets_equal(header.substr(7), admin_token_))
      return Refusal::kNoToken;
  } else {
    // Loopback, or --control-from any (the container image, published on the host's loopback):
    // either way a web page must not steer it. DNS rebinding makes a web page's own name resolve
    // to 127.0.0.1: its requests then carry that name as Host. A cross-site page carries its
    // Origin.
    if (req.has_header("Host") &&
        !is_own_or_loopback(host_of_authority(req.get_header_value("Host"))))
      return Refusal::kForeignHost;
    if (req.has_header("Origin")) {
      const std::string origin = req.get_header_value("Origin");
      auto scheme_end = origin.find("://");
      std::string scheme =
          scheme_end == std::string::npos ? "" : to_lower(origin.substr(0, scheme_end));
      // "null" (a sandboxed or file: page) has no scheme and is refused too.
      if ((scheme != "http" && scheme != "https") ||
          !is_own_or_loopback(host_of_authority(origin.substr(scheme_end + 3))))
        return Refusal::kForeignOrigin;
    }
  }
  if (!req.body.empty()) {
    // A browser sends only form and text/plain bodies cross-site without asking first
    // (CORS preflight); requiring JSON takes that path away even from a browser without Origin.
    std::string type = to_lower(req.get_header_value("Content-Type"));
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    if (type != "application/json") return Refusal::kNotJson;
  }
  return Refusal::kNone;
}

bool ControlAccess::is_own_or_loopback(const std::string& host) const {
  if (is_loopback_host(host) || iequals(host, own_host_)) return true;
  for (const auto& name : public_hosts_) {
    if (iequals(host, name)) return true;
  }
  return false;
}

}  // namespace mock2ba
