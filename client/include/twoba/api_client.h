// Calls to the product API with the Bearer token, refreshing when the token is due or rejected.
#pragma once

#include <string>

#include "twoba/error.h"
#include "twoba/http.h"
#include "twoba/oauth_client.h"

namespace twoba {

// True when a response says the access token itself was refused: a 401 whose WWW-Authenticate
// names error="invalid_token" or names no error at all (RFC 6750 §3.1).
bool is_token_rejection(const HttpResponse& response);

// Thread-safe when the OAuthClient is (it is).
class ApiClient {
 public:
  // Uses oauth's transport and config().api_base; oauth must outlive this object.
  explicit ApiClient(OAuthClient& oauth);

  // GET api_base + path (path starts with '/', may carry a query) with the Bearer token; a token
  // refused with 401 is refreshed once and the call repeated once. Any HTTP status is returned
  // as a response; errors are transport, token or relogin problems.
  Result<HttpResponse> get(const std::string& path);

 private:
  Result<HttpResponse> get_with(const std::string& url, const TokenSet& tokens);

  OAuthClient& oauth_;
};

}  // namespace twoba
