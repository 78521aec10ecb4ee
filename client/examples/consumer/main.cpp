// Logs in to a 2BA-compatible server with the password grant and fetches one product.
//   consumer BASE_URL STORE_FILE     (e.g. consumer http://127.0.0.1:8080 /tmp/tokens.json)
// Uses the mock's default fixture: client demo-client / demo-secret, user demo / demo.
#include <cstdio>
#include <string>

#include "twoba/api_client.h"
#include "twoba/oauth_client.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: consumer BASE_URL STORE_FILE\n");
    return 2;
  }
  const std::string base = argv[1];
  twoba::ClientConfig config;
  config.token_url = base + "/OAuth/Token";
  config.api_base = base + "/1/json";
  config.client_id = "demo-client";
  config.client_secret = "demo-secret";
  config.store_path = argv[2];

  twoba::OAuthClient oauth(config);
  auto login = oauth.login_password("demo", "demo");
  if (!login) {
    std::fprintf(stderr, "login failed: %s\n", twoba::describe(login.error()).c_str());
    return 1;
  }
  twoba::ApiClient api(oauth);
  auto product = api.get("/Product/DetailsForProduct?gtin=8711893010011");
  if (!product) {
    std::fprintf(stderr, "call failed: %s\n", twoba::describe(product.error()).c_str());
    return 1;
  }
  std::printf("%d %s\n", product->status, product->body.c_str());
  return product->status == 200 ? 0 : 1;
}
