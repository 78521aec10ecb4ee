// The OAuth client: logins, the token store, and single-flight refresh with rotation.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "twoba/config.h"
#include "twoba/encoding.h"
#include "twoba/error.h"
#include "twoba/http.h"
#include "twoba/token_set.h"
#include "twoba/token_store.h"

namespace twoba {

// Thread-safe. All token state lives in the storage, so several OAuthClient objects or
// processes sharing one storage cooperate: a refresh happens under the storage's lock, after
// re-reading it, so a pair another thread or process just rotated is used, not re-rotated.
class OAuthClient {
 public:
  // transport defaults to make_http_transport(config), storage to a TokenStore file at
  // config.store_path.
  explicit OAuthClient(ClientConfig config, std::shared_ptr<HttpTransport> transport = nullptr,
                       std::shared_ptr<TokenStorage> storage = nullptr);

  // The settings given at construction.
  const ClientConfig& config() const { return config_; }
  // The transport every request goes through.
  const std::shared_ptr<HttpTransport>& transport() const { return transport_; }
  // Where the tokens are kept.
  const std::shared_ptr<TokenStorage>& storage() const { return storage_; }

  // Password grant (RFC 6749 §4.3) with credentials the user just gave; stores the tokens. The
  // password is used for this request only and never kept.
  Result<TokenSet> login_password(const std::string& username, const std::string& password);

  // Authorization-code grant (RFC 6749 §4.1.3, PKCE RFC 7636); stores the tokens.
  Result<TokenSet> exchange_code(const std::string& code, const std::string& redirect_uri,
                                 const std::string& code_verifier);

  // Tokens usable now: the stored pair, refreshed first when within the refresh margin.
  // kReloginRequired when not logged in or the refresh token is gone or rejected.
  Result<TokenSet> valid_tokens();

  // The resource server rejected rejected_access_token: refresh unless the store already holds
  // a newer, unexpired one (another thread or process refreshed meanwhile).
  Result<TokenSet> refresh_after_rejection(const std::string& rejected_access_token);

  // Refresh now, whatever the expiry says.
  Result<TokenSet> force_refresh();

  // The stored tokens, without refreshing; nullopt when not logged in.
  Result<std::optional<TokenSet>> stored_tokens() const;

  // Forgets the stored tokens.
  Status logout();

  // Refresh requests that got a 200 from this object (for diagnostics and tests).
  int refresh_count() const { return refreshes_.load(); }

 private:
  enum class RefreshMode { kIfExpiring, kIfRejected, kAlways };
  Result<TokenSet> refresh_single_flight(RefreshMode mode, const std::string& rejected);
  Result<TokenSet> refresh_locked(const TokenSet& current);
  Result<TokenSet> grant_and_store(FormFields fields);
  // POSTs a grant with client authentication, retrying 429/502/503/504 within the config's
  // bounds; returns the last reply whatever its status.
  Result<HttpResponse> post_token_request(FormFields fields);

  ClientConfig config_;
  std::shared_ptr<HttpTransport> transport_;
  std::shared_ptr<TokenStorage> storage_;
  std::mutex refresh_mutex_;  // one refresh in flight per object; the file lock covers processes
  std::atomic<int> refreshes_{0};
};

}  // namespace twoba
