// A minimal HTTP layer: URL parsing and a replaceable transport (tests inject fakes).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "twoba/config.h"
#include "twoba/error.h"

namespace twoba {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// An absolute http(s) URL split into the parts a connection needs.
struct Url {
  std::string scheme;  // "http" or "https", lower case
  std::string host;    // without brackets for IPv6
  int port = 0;        // explicit or the scheme's default
  std::string target;  // path and query, at least "/"
};

// Parses "scheme://host[:port][/path][?query]"; rejects other schemes and userinfo.
Result<Url> parse_url(std::string_view text);

// True for 127.0.0.0/8, ::1 and "localhost": the only hosts plain http is allowed to.
bool is_loopback_host(std::string_view host);

// Percent-encodes the bytes that cannot appear raw in a request target (space, controls,
// non-ASCII, quotes...), leaving existing escapes, '+', '&' and '=' untouched.
std::string sanitize_target(std::string_view target);

// Case-insensitive lookup of the first header called name.
std::optional<std::string> find_header(const HeaderList& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";  // "GET" or "POST"
  std::string url;             // absolute
  HeaderList headers;
  std::string body;
  std::string content_type;  // for POST
};

struct HttpResponse {
  int status = 0;
  HeaderList headers;
  std::string body;
};

// Sends one request; a transport error is an Error of kind kTransport. Thread-safe.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// cpp-httplib transport honouring the config's timeouts and CA file. TLS peer verification is
// always on; plain http only to loopback hosts; redirects are never followed (so never a
// downgrade, and never a token sent to another origin).
std::shared_ptr<HttpTransport> make_http_transport(const ClientConfig& config);

}  // namespace twoba
