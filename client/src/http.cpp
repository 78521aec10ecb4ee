#include "twoba/http.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>

#include "text.h"
#include "url.h"

namespace twoba {
namespace {

// Never below 1 ms: a zero or negative duration is no usable timeout.
std::chrono::milliseconds at_least_1ms(std::chrono::milliseconds timeout) {
  return std::max(timeout, std::chrono::milliseconds(1));
}

class HttplibTransport final : public HttpTransport {
 public:
  explicit HttplibTransport(ClientConfig config) : config_(std::move(config)) {}

  Result<HttpResponse> send(const HttpRequest& request) override {
    auto url = parse_url(request.url);
    if (!url) return url.error();
    const Url& u = *url;
    if (u.scheme == "http" && !is_loopback_host(u.host)) {
      return Error::invalid_argument("refusing plain http to a non-loopback host (use https): " +
                                     u.host);
    }
    if (u.scheme == "https") {
      httplib::SSLClient client(u.host, u.port);
      if (!config_.ca_file.empty()) client.set_ca_cert_path(config_.ca_file.c_str());
      client.enable_server_certificate_verification(true);
      return perform(client, u, request);
    }
    httplib::Client client(u.host, u.port);
    return perform(client, u, request);
  }

 private:
  template <typename C>
  Result<HttpResponse> perform(C& client, const Url& url, const HttpRequest& request) {
    client.set_connection_timeout(at_least_1ms(config_.connect_timeout));
    client.set_read_timeout(at_least_1ms(config_.read_timeout));
    client.set_write_timeout(at_least_1ms(config_.read_timeout));
    client.set_tcp_nodelay(true);
    client.set_follow_location(false);
    client.set_keep_alive(false);
    client.set_url_encode(false);  // targets are already encoded byte-exact by the caller

    httplib::Headers headers;
    for (const auto& [name, value] : request.headers) headers.emplace(name, value);
    const std::string target = sanitize_target(url.target);
    httplib::Result result =
        request.method == "POST"
            ? client.Post(target.c_str(), headers, request.body, request.content_type.c_str())
            : client.Get(target.c_str(), headers);
    if (!result) {
      std::string what = httplib::to_string(result.error());
      if (result.error() == httplib::Error::SSLServerVerification) {
        what += " (server certificate not trusted)";
      }
      return Error::transport(what + ": " + url.scheme + "://" + url.host + ":" +
                              std::to_string(url.port));
    }
    HttpResponse response;
    response.status = result->status;
    response.body = result->body;
    for (const auto& [name, value] : result->headers) response.headers.emplace_back(name, value);
    return response;
  }

  ClientConfig config_;
};

}  // namespace

Result<Url> parse_url(std::string_view input) {
  Url url;
  const auto sep = input.find("://");
  if (sep == std::string_view::npos) {
    return Error::invalid_argument("not an absolute URL: " + std::string(input));
  }
  url.scheme = text::lower(input.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") {
    return Error::invalid_argument("unsupported URL scheme: " + url.scheme);
  }
  std::string_view rest = input.substr(sep + 3);
  const auto slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "/" : rest.substr(slash);
  if (const auto hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  url.target = target.empty() || target[0] != '/' ? "/" + std::string(target) : std::string(target);
  if (authority.find('@') != std::string_view::npos) {
    return Error::invalid_argument("credentials in URLs are not supported");
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return Error::invalid_argument("bad IPv6 host in URL");
    }
    url.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      port_text = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) return Error::invalid_argument("URL has no host");
  url.port = url.scheme == "https" ? 443 : 80;
  if (!port_text.empty()) {
    int port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        return Error::invalid_argument("bad port in URL");
      }
      port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535) return Error::invalid_argument("bad port in URL");
    url.port = port;
  }
  return url;
}

bool is_loopback_host(std::string_view host) {
  return text::iequals(host, "localhost") || host == "::1" || host.substr(0, 4) == "127.";
}

std::string sanitize_target(std::string_view target) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  static constexpr std::string_view kUnsafe = " \"<>\\^`{|}";
  std::string out;
  for (unsigned char c : target) {
    if (c <= 0x20 || c >= 0x7F || kUnsafe.find(static_cast<char>(c)) != std::string_view::npos) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<std::string> find_header(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (text::iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::shared_ptr<HttpTransport> make_http_transport(const ClientConfig& config) {
  return std::make_shared<HttplibTransport>(config);
}

}  // namespace twoba
