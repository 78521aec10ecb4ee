// A minimal HTTP layer: requests, replies and a replaceable transport (tests inject fakes).
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

// Header name/value pairs in wire order (duplicates kept).
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive lookup of the first header called name.
std::optional<std::string> find_header(const HeaderList& headers, std::string_view name);

// One request as the client sends it.
struct HttpRequest {
  std::string method = "GET";  // "GET" or "POST"
  std::string url;             // absolute
  HeaderList headers;
  std::string body;
  std::string content_type;  // for POST
};

// One reply, whatever its status.
struct HttpResponse {
  int status = 0;  // e.g. 200, 401
  HeaderList headers;
  std::string body;
};

// How the client reaches servers. Implementations must be thread-safe.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends one request; any reply is a value, no reply at all is an Error of kind kTransport.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// cpp-httplib transport honouring the config's timeouts and CA file. TLS peer verification is
// always on; plain http only to loopback hosts; redirects are never followed (so never a
// downgrade, and never a token sent to another origin).
std::shared_ptr<HttpTransport> make_http_transport(const ClientConfig& config);

}  // namespace twoba
