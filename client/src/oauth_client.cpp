#include "twoba/oauth_client.h"

#include <random>
#include <thread>

#include "clock.h"
#include "twoba/retry.h"

namespace twoba {
namespace {

double unit_random() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

Error not_logged_in() { return Error::relogin_required("not logged in: no stored tokens"); }

}  // namespace

OAuthClient::OAuthClient(ClientConfig config, std::shared_ptr<HttpTransport> transport,
                         std::shared_ptr<TokenStorage> storage)
    : config_(std::move(config)),
      transport_(transport ? std::move(transport) : make_http_transport(config_)),
      storage_(storage ? std::move(storage) : std::make_shared<TokenStore>(config_.store_path)) {}

Result<HttpResponse> OAuthClient::post_token_request(FormFields fields) {
  HttpRequest request;
  request.method = "POST";
  request.url = config_.token_url;
  request.content_type = "application/x-www-form-urlencoded";
  request.headers.emplace_back("Accept", "application/json");
  if (config_.client_auth == ClientAuth::kBasic && !config_.client_secret.empty()) {
    request.headers.emplace_back("Authorization",
                                 basic_authorization(config_.client_id, config_.client_secret));
  } else {
    fields.emplace_back("client_id", config_.client_id);
    if (!config_.client_secret.empty()) fields.emplace_back("client_secret", config_.client_secret);
  }
  request.body = encode_form(fields);

  for (int attempt = 1;; ++attempt) {
    auto response = transport_->send(request);
    if (!response || !is_retryable_status(response->status) || attempt > config_.max_retries) {
      return response;
    }
    std::optional<std::chrono::milliseconds> retry_after;
    if (auto header = find_header(response->headers, "Retry-After")) {
      retry_after = parse_retry_after(*header, std::chrono::system_clock::now());
    }
    const auto delay = retry_delay(attempt, retry_after, unit_random());
    if (delay > config_.max_retry_wait) return response;
    std::this_thread::sleep_for(delay);
  }
}

Result<TokenSet> OAuthClient::grant_and_store(FormFields fields) {
  if (config_.token_url.empty()) {
    return Error::invalid_argument("no token URL configured");
  }
  const TokenTime sent_at = token_now();
  auto response = post_token_request(std::move(fields));
  if (!response) return response.error();
  if (response->status != 200) return token_error_from_reply(response->status, response->body);
  auto tokens = parse_token_response(response->body, sent_at);
  if (!tokens) return tokens.error();
  auto lock = storage_->lock();
  if (!lock) return lock.error();
  if (auto saved = storage_->save(*tokens); !saved) return saved.error();
  return tokens;
}

Result<TokenSet> OAuthClient::login_password(const std::string& username,
                                             const std::string& password) {
  FormFields fields = {{"grant_type", "password"}, {"username", username}, {"password", password}};
  if (!config_.scope.empty()) fields.emplace_back("scope", config_.scope);
  return grant_and_store(std::move(fields));
}

Result<TokenSet> OAuthClient::exchange_code(const std::string& code,
                                            const std::string& redirect_uri,
                                            const std::string& code_verifier) {
  FormFields fields = {{"grant_type", "authorization_code"},
                       {"code", code},
                       {"redirect_uri", redirect_uri},
                       {"code_verifier", code_verifier}};
  return grant_and_store(std::move(fields));
}

Result<std::optional<TokenSet>> OAuthClient::stored_tokens() const { return storage_->load(); }

Result<TokenSet> OAuthClient::valid_tokens() {
  auto stored = storage_->load();
  if (!stored) return stored.error();
  if (!*stored) return not_logged_in();
  const TokenSet& tokens = **stored;
  if (!needs_refresh(tokens, token_now(), config_.max_refresh_margin)) return tokens;
  return refresh_single_flight(RefreshMode::kIfExpiring, {});
}

Result<TokenSet> OAuthClient::refresh_after_rejection(const std::string& rejected_access_token) {
  return refresh_single_flight(RefreshMode::kIfRejected, rejected_access_token);
}

Result<TokenSet> OAuthClient::force_refresh() {
  return refresh_single_flight(RefreshMode::kAlways, {});
}

Result<TokenSet> OAuthClient::refresh_single_flight(RefreshMode mode, const std::string& rejected) {
  std::lock_guard<std::mutex> guard(refresh_mutex_);
  auto lock = storage_->lock();
  if (!lock) return lock.error();
  // Re-read under the lock: whoever held it before us may have rotated the pair already.
  auto stored = storage_->load();
  if (!stored) return stored.error();
  if (!*stored) return not_logged_in();
  const TokenSet& current = **stored;
  const bool fresh = !needs_refresh(current, token_now(), config_.max_refresh_margin);
  if (mode == RefreshMode::kIfExpiring && fresh) return current;
  if (mode == RefreshMode::kIfRejected && fresh && current.access_token != rejected) {
    return current;
  }
  return refresh_locked(current);
}

Result<TokenSet> OAuthClient::refresh_locked(const TokenSet& current) {
  if (current.refresh_token.empty()) {
    return Error::relogin_required("no refresh token stored: log in again");
  }
  if (config_.token_url.empty()) {
    return Error::invalid_argument("no token URL configured");
  }
  const TokenTime sent_at = token_now();
  auto response = post_token_request(
      {{"grant_type", "refresh_token"}, {"refresh_token", current.refresh_token}});
  if (!response) return response.error();  // tokens kept: the grant may still be alive
  const HttpResponse& reply = *response;
  if (reply.status == 400) {
    // 2BA answers a dead refresh token with a 400, body or not: drop it, never retry it.
    const Error cause = token_error_from_reply(reply.status, reply.body);
    if (auto removed = storage_->remove(); !removed) return removed.error();
    return Error::relogin_required("refresh token rejected, log in again (" + cause.message + ")",
                                   400, cause.oauth_code);
  }
  if (reply.status != 200) return token_error_from_reply(reply.status, reply.body);
  auto parsed = parse_token_response(reply.body, sent_at);
  if (!parsed) return parsed.error();
  TokenSet next = merge_refreshed(current, *std::move(parsed));
  // Persist the rotated refresh token before anyone can use the new access token.
  if (auto saved = storage_->save(next); !saved) return saved.error();
  refreshes_.fetch_add(1);
  return next;
}

Status OAuthClient::logout() {
  auto lock = storage_->lock();
  if (!lock) return lock.error();
  return storage_->remove();
}

}  // namespace twoba
