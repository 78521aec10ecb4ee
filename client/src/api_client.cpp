#include "twoba/api_client.h"

#include "text.h"

namespace twoba {

bool is_token_rejection(const HttpResponse& response) {
  if (response.status != 401) return false;
  const auto challenge = find_header(response.headers, "WWW-Authenticate");
  if (!challenge) return true;
  const std::string lowered = text::lower(*challenge);
  return lowered.find("invalid_token") != std::string::npos ||
         lowered.find("error=") == std::string::npos;
}

ApiClient::ApiClient(OAuthClient& oauth) : oauth_(oauth) {}

Result<HttpResponse> ApiClient::get_with(const std::string& url, const TokenSet& tokens) {
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  // The scheme is sent as "Bearer" whatever spelling the server used in token_type.
  request.headers.emplace_back("Authorization", "Bearer " + tokens.access_token);
  request.headers.emplace_back("Accept", "application/json");
  return oauth_.transport()->send(request);
}

Result<HttpResponse> ApiClient::get(const std::string& path) {
  const std::string& base = oauth_.config().api_base;
  if (base.empty()) return Error::invalid_argument("no API base URL configured");
  std::string url = base;
  if (!url.empty() && url.back() == '/' && !path.empty() && path.front() == '/') url.pop_back();
  if (!path.empty() && path.front() != '/' && (url.empty() || url.back() != '/')) url += '/';
  url += path;

  auto tokens = oauth_.valid_tokens();
  if (!tokens) return tokens.error();
  auto response = get_with(url, *tokens);
  if (!response || !is_token_rejection(*response)) return response;
  auto renewed = oauth_.refresh_after_rejection(tokens->access_token);
  if (!renewed) return renewed.error();
  return get_with(url, *renewed);
}

}  // namespace twoba
