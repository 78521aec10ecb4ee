#include "oauth/token_store.h"

#include <openssl/evp.h>

#include <algorithm>

#include "util/random_token.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

// Rotated refresh tokens kept per grant for reuse detection; older ones become "unknown"
// (still 400 invalid_grant, only without revoking the grant).
constexpr size_t kRetiredPerGrant = 16;
constexpr size_t kMinPurgeInterval = 8192;

std::string grant_label(uint64_t id) { return "g" + std::to_string(id); }

bool scope_contains(const std::string& scope, const std::string& item) {
  for (const auto& s : split_spaces(scope)) {
    if (s == item) return true;
  }
  return false;
}

std::string sha256(const std::string& input) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), length);
}

GrantResult fail(OAuthError error, std::string description, TokenState state = TokenState::kUnknown,
                 uint64_t grant_id = 0) {
  GrantResult result;
  result.error = GrantError{error, std::move(description), state, grant_id, ""};
  return result;
}

}  // namespace

const char* token_state_name(TokenState state) {
  switch (state) {
    case TokenState::kActive:
      return "active";
    case TokenState::kRotated:
      return "rotated";
    case TokenState::kRevoked:
      return "revoked";
    case TokenState::kExpired:
      return "expired";
    case TokenState::kUnknown:
      break;
  }
  return "unknown";
}

TokenStore::TokenStore(std::shared_ptr<const Fixture> fixture) : fixture_(std::move(fixture)) {}

const Policy& TokenStore::policy_locked(const Grant& grant) const {
  const Client& client = fixture_->clients.at(grant.client_id);
  auto user = fixture_->users.find(grant.username);
  return fixture_->policy_for(client, user == fixture_->users.end() ? nullptr : &user->second);
}

TokenStore::FreshTokens TokenStore::mint(TokenFormat format) {
  auto make = format == TokenFormat::kHostile ? random_hostile_token : random_urlsafe_token;
  FreshTokens fresh{format, make(), {}, {}, make(), {}, {}};
  fresh.access_for_grant = fresh.access_token;
  fresh.access_for_reply = fresh.access_token;
  fresh.refresh_for_grant = fresh.refresh_token;
  fresh.refresh_for_reply = fresh.refresh_token;
  return fresh;
}

std::optional<int64_t> TokenStore::scheduled_lifetime(TokenKind kind, const Grant& grant,
                                                      int64_t per_grant_ordinal,
                                                      int64_t per_user_ordinal, bool idle) const {
  for (const auto& s : fixture_->schedules) {
    int64_t ordinal = s.per_user ? per_user_ordinal : per_grant_ordinal;
    if (!s.matches(kind, ordinal, s.per_user, grant.username, grant.client_id)) continue;
    const auto& value = idle ? s.idle_lifetime : s.lifetime;
    if (value) return value;
  }
  return std::nullopt;
}

TokenStore::Grant& TokenStore::new_grant_locked(const Client& client, const std::string& username,
                                                const std::string& scope, bool has_scope,
                                                TimeMs now, const Policy*& policy_out) {
  uint64_t id = next_grant_id_++;
  Grant& grant = grants_[id];
  grant.id = id;
  grant.client_id = client.id;
  grant.username = username;
  grant.scope = scope;
  grant.has_scope = has_scope;
  grant.created_ms = now;
  mark_grant_locked(id);
  const Policy& policy = policy_locked(grant);
  policy_out = &policy;
  bool offline_missing = has_scope && policy.refresh_token_requires_offline_access &&
                         !scope_contains(scope, "offline_access");
  grant.wants_refresh = client.grant_types.count("refresh_token") > 0 && !offline_missing;
  return grant;
}

IssuedTokens TokenStore::issue_locked(Grant& grant, const Policy& policy, bool new_refresh_token,
                                      TimeMs now, FreshTokens& fresh) {
  maybe_purge_locked(now);
  // Only a user-level token_format override can differ from the client's: mint again then.
  if (fresh.format != policy.token_format) fresh = mint(policy.token_format);
  auto& user_counts = per_user_counts_[grant.username];
  mark_grant_locked(grant.id);
  if (tracking_) changes_.users.insert(grant.username);
  IssuedTokens out;
  out.grant_id = grant.id;
  out.username = grant.username;

  int64_t at_ordinal = ++grant.access_tokens_issued;
  int64_t at_user_ordinal = ++user_counts.first;
  int64_t at_lifetime =
      scheduled_lifetime(TokenKind::kAccess, grant, at_ordinal, at_user_ordinal, false)
          .value_or(policy.access_token_lifetime);
  out.access_token = std::move(fresh.access_for_reply);
  access_.insert_or_assign(std::move(fresh.access_token),
                           AccessRecord{grant.id, now + at_lifetime * 1000, false});
  note_expiry_locked(now + at_lifetime * 1000);
  grant.access_tokens.push_back(std::move(fresh.access_for_grant));
  out.expires_in = at_lifetime;
  ++issued_since_purge_;

  if (new_refresh_token && grant.wants_refresh) {
    int64_t ordinal = ++grant.refresh_tokens_issued;
    int64_t user_ordinal = ++user_counts.second;
    auto scheduled = scheduled_lifetime(TokenKind::kRefresh, grant, ordinal, user_ordinal, false);
    int64_t idle = scheduled_lifetime(TokenKind::kRefresh, grant, ordinal, user_ordinal, true)
                       .value_or(policy.refresh_token_idle_lifetime);
    RefreshRecord record;
    record.grant_id = grant.id;
    record.issued_ms = now;
    // A scheduled lifetime of 0 means "born expired"; the policy's 0 means "never expires".
    if (scheduled) {
      record.expires_ms = now + *scheduled * 1000;
    } else if (policy.refresh_token_lifetime > 0) {
      record.expires_ms = now + policy.refresh_token_lifetime * 1000;
    }
    record.idle_ms = idle * 1000;
    record.last_used_ms = now;
    // Later use only pushes an idle expiry out, so the issuance-time bound stays a lower bound.
    if (record.expires_ms != 0) note_expiry_locked(record.expires_ms);
    if (record.idle_ms != 0) note_expiry_locked(now + record.idle_ms);
    refresh_.insert_or_assign(std::move(fresh.refresh_token), record);
    // The replaced string is freed after the mutex is released, with `fresh`.
    grant.current_refresh_token.swap(fresh.refresh_for_grant);
    out.refresh_token = std::move(fresh.refresh_for_reply);
    ++issued_since_purge_;
  }
  return out;
}

IssuedTokens TokenStore::issue_for_password(const Client& client, const User& user,
                                            const std::string& scope, bool has_scope, TimeMs now) {
  FreshTokens fresh = mint(client.policy.token_format);
  std::lock_guard<std::mutex> lock(mutex_);
  const Policy* policy = nullptr;
  Grant& grant = new_grant_locked(client, user.username, scope, has_scope, now, policy);
  IssuedTokens out = issue_locked(grant, *policy, true, now, fresh);
  out.scope = scope;
  out.has_scope = has_scope;
  return out;
}

TokenState TokenStore::refresh_state_locked(const RefreshRecord& record, TimeMs now) const {
  auto grant = grants_.find(record.grant_id);
  if (record.revoked || grant == grants_.end() || grant->second.revoked)
    return TokenState::kRevoked;
  if (record.rotated) return TokenState::kRotated;
  if (record.expires_ms != 0 && now >= record.expires_ms) return TokenState::kExpired;
  if (record.idle_ms != 0 && now >= record.last_used_ms + record.idle_ms)
    return TokenState::kExpired;
  return TokenState::kActive;
}

TokenState TokenStore::access_state_locked(const AccessRecord& record, TimeMs now) const {
  auto grant = grants_.find(record.grant_id);
  if (record.revoked || grant == grants_.end() || grant->second.revoked)
    return TokenState::kRevoked;
  if (now >= record.expires_ms) return TokenState::kExpired;
  return TokenState::kActive;
}

TokenState TokenStore::refresh_state(const std::string& refresh_token, TimeMs now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = refresh_.find(refresh_token);
  return it == refresh_.end() ? TokenState::kUnknown : refresh_state_locked(it->second, now);
}

std::optional<GrantResult> TokenStore::refusal(const RefreshRecord& record, const Grant& grant,
                                               const Client& client, TokenState state, TimeMs now) {
  if (grant.client_id != client.id) {
    return fail(OAuthError::kInvalidGrant, "The refresh token was issued to another client.", state,
                grant.id);
  }
  if (state == TokenState::kRevoked) {
    return fail(OAuthError::kInvalidGrant, "The refresh token has been revoked.", state, grant.id);
  }
  // An expired token stays expired even when it was also rotated.
  bool expired = (record.expires_ms != 0 && now >= record.expires_ms) ||
                 (record.idle_ms != 0 && now >= record.last_used_ms + record.idle_ms);
  if (expired)
    return fail(OAuthError::kInvalidGrant, "The refresh token has expired.", TokenState::kExpired,
                grant.id);
  return std::nullopt;
}

std::optional<GrantResult> TokenStore::reuse_refusal_locked(const RefreshRecord& record,
                                                            Grant& grant, const Policy& policy,
                                                            TimeMs now) {
  bool in_grace = policy.reuse == ReusePolicy::kGrace &&
                  now - record.rotated_ms <= policy.reuse_grace_period * 1000;
  if (in_grace) return std::nullopt;
  if (policy.reuse == ReusePolicy::kRevokeGrant) {
    revoke_grant_locked(grant);
    return fail(OAuthError::kInvalidGrant,
                "The refresh token was already used; every token of this grant is now revoked.",
                TokenState::kRotated, grant.id);
  }
  return fail(OAuthError::kInvalidGrant, "The refresh token was already used (it was rotated).",
              TokenState::kRotated, grant.id);
}

std::optional<GrantResult> TokenStore::scope_refusal(const Grant& grant, const Client& client,
                                                     const std::string& scope, TokenState state) {
  for (const auto& item : split_spaces(scope)) {
    bool granted =
        grant.has_scope ? scope_contains(grant.scope, item) : client.scopes.count(item) > 0;
    if (!granted) {
      return fail(OAuthError::kInvalidScope,
                  "The scope '" + item + "' was not part of the original grant.", state, grant.id);
    }
  }
  return std::nullopt;
}

IssuedTokens TokenStore::rotate_locked(Grant& grant, RefreshRecord& record,
                                       const std::string& refresh_token, const Policy& policy,
                                       TimeMs now, FreshTokens& fresh) {
  // Within a grace window the successor handed out before is superseded too.
  if (!grant.current_refresh_token.empty() && grant.current_refresh_token != refresh_token) {
    auto current = refresh_.find(grant.current_refresh_token);
    if (current != refresh_.end() && !current->second.rotated) {
      current->second.rotated = true;
      current->second.rotated_ms = now;
      grant.retired_refresh_tokens.push_back(grant.current_refresh_token);
    }
  }
  if (!record.rotated) {
    record.rotated = true;
    record.rotated_ms = now;
    grant.retired_refresh_tokens.push_back(refresh_token);
  }
  IssuedTokens out = issue_locked(grant, policy, true, now, fresh);
  while (grant.retired_refresh_tokens.size() > kRetiredPerGrant) {
    refresh_.erase(grant.retired_refresh_tokens.front());
    grant.retired_refresh_tokens.erase(grant.retired_refresh_tokens.begin());
  }
  return out;
}

GrantResult TokenStore::refresh(const std::string& refresh_token, const Client& client,
                                const std::optional<std::string>& scope, TimeMs now) {
  FreshTokens fresh = mint(client.policy.token_format);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = refresh_.find(refresh_token);
  if (it == refresh_.end()) return fail(OAuthError::kInvalidGrant, "The refresh token is unknown.");
  RefreshRecord& record = it->second;
  Grant& grant = grants_.at(record.grant_id);
  TokenState state = refresh_state_locked(record, now);
  if (auto refused = refusal(record, grant, client, state, now)) return std::move(*refused);
  const Policy& policy = policy_locked(grant);
  if (state == TokenState::kRotated) {
    if (auto refused = reuse_refusal_locked(record, grant, policy, now)) return std::move(*refused);
  }
  if (scope) {
    if (auto refused = scope_refusal(grant, client, *scope, state)) return std::move(*refused);
  }

  ++grant.refreshes;
  IssuedTokens out;
  if (policy.rotate_refresh_tokens) {
    out = rotate_locked(grant, record, refresh_token, policy, now, fresh);
  } else {
    record.last_used_ms = now;
    out = issue_locked(grant, policy, false, now, fresh);
    if (policy.return_refresh_token_on_refresh) out.refresh_token = refresh_token;
  }
  out.presented_state = state;
  if (scope) {
    out.scope = *scope;
    out.has_scope = true;
  }
  return GrantResult{std::move(out), std::nullopt};
}

std::pair<std::string, TimeMs> TokenStore::create_code(const CodeRequest& request, TimeMs now) {
  std::lock_guard<std::mutex> lock(mutex_);
  maybe_purge_locked(now);
  const Client& client = fixture_->clients.at(request.client_id);
  auto user = fixture_->users.find(request.username);
  const Policy& policy =
      fixture_->policy_for(client, user == fixture_->users.end() ? nullptr : &user->second);
  std::string code = random_urlsafe_token();
  TimeMs expires = now + policy.code_lifetime * 1000;
  codes_[code] = CodeRecord{request, expires, false, 0};
  if (tracking_) changes_.codes.insert(code);
  note_expiry_locked(expires);
  return {code, expires};
}

GrantResult TokenStore::redeem_code(const std::string& code, const Client& client,
                                    const std::optional<std::string>& redirect_uri,
                                    const std::optional<std::string>& code_verifier, TimeMs now) {
  FreshTokens fresh = mint(client.policy.token_format);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = codes_.find(code);
  if (it == codes_.end())
    return fail(OAuthError::kInvalidGrant, "The authorization code is unknown.");
  CodeRecord& record = it->second;
  if (record.used) {
    auto grant = grants_.find(record.grant_id);
    if (grant != grants_.end()) revoke_grant_locked(grant->second);
    return fail(OAuthError::kInvalidGrant,
                "The authorization code was already used; the tokens it issued are now revoked.",
                TokenState::kRotated, record.grant_id);
  }
  if (now >= record.expires_ms) {
    return fail(OAuthError::kInvalidGrant, "The authorization code has expired.",
                TokenState::kExpired);
  }
  const CodeRequest& bound = record.request;
  if (bound.client_id != client.id) {
    return fail(OAuthError::kInvalidGrant, "The authorization code was issued to another client.",
                TokenState::kActive);
  }
  if (!bound.redirect_uri.empty() && redirect_uri.value_or("") != bound.redirect_uri) {
    return fail(OAuthError::kInvalidGrant,
                redirect_uri
                    ? "The redirect_uri does not match the one of the authorization request."
                    : "The redirect_uri of the authorization request is required.",
                TokenState::kActive);
  }
  if (!bound.code_challenge.empty()) {
    if (!code_verifier)
      return fail(OAuthError::kInvalidGrant, "The code_verifier is missing (PKCE).",
                  TokenState::kActive);
    const std::string& v = *code_verifier;
    if (!is_pkce_value(v)) {
      return fail(OAuthError::kInvalidGrant,
                  "The code_verifier must be 43-128 unreserved characters (RFC 7636 §4.1).",
                  TokenState::kActive);
    }
    std::string expected = bound.code_challenge_method == "S256" ? base64url_encode(sha256(v)) : v;
    if (expected != bound.code_challenge) {
      return fail(OAuthError::kInvalidGrant, "The code_verifier does not match the code_challenge.",
                  TokenState::kActive);
    }
  } else if (code_verifier) {
    return fail(OAuthError::kInvalidGrant,
                "A code_verifier was sent but the authorization request had no code_challenge.",
                TokenState::kActive);
  }
  record.used = true;
  if (tracking_) changes_.codes.insert(code);
  const Policy* policy = nullptr;
  Grant& grant =
      new_grant_locked(client, bound.username, bound.scope, bound.has_scope, now, policy);
  record.grant_id = grant.id;
  IssuedTokens out = issue_locked(grant, *policy, true, now, fresh);
  out.scope = bound.scope;
  out.has_scope = bound.has_scope;
  return GrantResult{std::move(out), std::nullopt};
}

AccessCheck TokenStore::check_access(const std::string& access_token, TimeMs now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  AccessCheck check;
  auto it = access_.find(access_token);
  if (it == access_.end()) return check;
  const Grant& grant = grants_.at(it->second.grant_id);
  check.state = access_state_locked(it->second, now);
  check.username = grant.username;
  check.client_id = grant.client_id;
  check.grant_id = grant.id;
  return check;
}

void TokenStore::revoke_grant_locked(Grant& grant) {
  grant.revoked = true;
  mark_grant_locked(grant.id);
}

template <typename Fn>
int TokenStore::for_selected_locked(const TokenSelector& selector, Fn&& fn) {
  int affected = 0;
  if (selector.token) {
    if (auto a = access_.find(*selector.token); a != access_.end()) {
      fn(&a->second, nullptr);
      mark_grant_locked(a->second.grant_id);
      if (tracking_) changes_.rewrite_access.insert(a->second.grant_id);
      ++affected;
    }
    if (auto r = refresh_.find(*selector.token); r != refresh_.end()) {
      fn(nullptr, &r->second);
      mark_grant_locked(r->second.grant_id);
      ++affected;
    }
    return affected;
  }
  for (auto& [id, grant] : grants_) {
    bool selected = (selector.user && grant.username == *selector.user) ||
                    (selector.client && grant.client_id == *selector.client) ||
                    (selector.grant && grant.id == *selector.grant);
    if (!selected) continue;
    mark_grant_locked(id);
    if (tracking_) changes_.rewrite_access.insert(id);
    for (const auto& token : grant.access_tokens) {
      if (auto a = access_.find(token); a != access_.end()) {
        fn(&a->second, nullptr);
        ++affected;
      }
    }
    if (auto r = refresh_.find(grant.current_refresh_token); r != refresh_.end()) {
      fn(nullptr, &r->second);
      ++affected;
    }
  }
  return affected;
}

int TokenStore::revoke(const TokenSelector& selector, TimeMs /*now*/) {
  std::lock_guard<std::mutex> lock(mutex_);
  return for_selected_locked(selector, [](AccessRecord* a, RefreshRecord* r) {
    if (a) a->revoked = true;
    if (r) r->revoked = true;
  });
}

int TokenStore::expire(const TokenSelector& selector, TimeMs now) {
  std::lock_guard<std::mutex> lock(mutex_);
  note_expiry_locked(now);
  return for_selected_locked(selector, [now](AccessRecord* a, RefreshRecord* r) {
    if (a && a->expires_ms > now) a->expires_ms = now;
    if (r && (r->expires_ms == 0 || r->expires_ms > now)) r->expires_ms = now;
  });
}

nlohmann::json TokenStore::describe(const std::optional<std::string>& user,
                                    const std::optional<std::string>& client, TimeMs now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<const Grant*> selected;
  for (const auto& [id, grant] : grants_) {
    if (user && grant.username != *user) continue;
    if (client && grant.client_id != *client) continue;
    selected.push_back(&grant);
  }
  std::sort(selected.begin(), selected.end(),
            [](const Grant* a, const Grant* b) { return a->id < b->id; });
  nlohmann::json grants = nlohmann::json::array();
  for (const Grant* grant : selected) {
    nlohmann::json access = nlohmann::json::array();
    for (const auto& token : grant->access_tokens) {
      auto a = access_.find(token);
      if (a == access_.end()) continue;
      access.push_back({{"token", token},
                        {"expires_at", a->second.expires_ms / 1000},
                        {"state", token_state_name(access_state_locked(a->second, now))}});
    }
    nlohmann::json refresh = nlohmann::json::array();
    auto add_refresh = [&](const std::string& token) {
      auto r = refresh_.find(token);
      if (r == refresh_.end()) return;
      nlohmann::json entry = {
          {"token", token},
          {"issued_at", r->second.issued_ms / 1000},
          {"expires_at", r->second.expires_ms ? nlohmann::json(r->second.expires_ms / 1000)
                                              : nlohmann::json(nullptr)},
          {"state", token_state_name(refresh_state_locked(r->second, now))}};
      if (r->second.idle_ms)
        entry["idle_expires_at"] = (r->second.last_used_ms + r->second.idle_ms) / 1000;
      refresh.push_back(std::move(entry));
    };
    for (const auto& token : grant->retired_refresh_tokens) add_refresh(token);
    if (std::find(grant->retired_refresh_tokens.begin(), grant->retired_refresh_tokens.end(),
                  grant->current_refresh_token) == grant->retired_refresh_tokens.end()) {
      add_refresh(grant->current_refresh_token);
    }
    grants.push_back(
        {{"grant", grant_label(grant->id)},
         {"client_id", grant->client_id},
         {"username", grant->username},
         {"scope", grant->has_scope ? nlohmann::json(grant->scope) : nlohmann::json(nullptr)},
         {"created_at", grant->created_ms / 1000},
         {"revoked", grant->revoked},
         {"refreshes", grant->refreshes},
         {"access_tokens", std::move(access)},
         {"refresh_tokens", std::move(refresh)}});
  }
  return {{"grants", std::move(grants)}};
}

void TokenStore::maybe_purge_locked(TimeMs now) {
  // Amortised: a sweep costs O(live tokens), so sweep after at least that many issuances.
  if (now - kPurgeRetentionMs < earliest_expiry_ms_) return;  // nothing can be purged yet
  size_t threshold = std::max(kMinPurgeInterval, (access_.size() + refresh_.size()) / 2);
  if (issued_since_purge_ >= threshold || now - last_purge_ms_ >= kPurgeRetentionMs)
    purge_locked(now);
}

void TokenStore::purge(TimeMs now) {
  std::lock_guard<std::mutex> lock(mutex_);
  purge_locked(now);
}

void TokenStore::purge_locked(TimeMs now) {
  last_purge_ms_ = now;
  issued_since_purge_ = 0;
  earliest_expiry_ms_ = std::numeric_limits<TimeMs>::max();
  TimeMs horizon = now - kPurgeRetentionMs;
  for (auto it = access_.begin(); it != access_.end();) {
    if (it->second.expires_ms <= horizon) {
      mark_grant_locked(it->second.grant_id);
      if (tracking_) changes_.rewrite_access.insert(it->second.grant_id);
      it = access_.erase(it);
    } else {
      note_expiry_locked(it->second.expires_ms);
      ++it;
    }
  }
  for (auto it = refresh_.begin(); it != refresh_.end();) {
    const RefreshRecord& r = it->second;
    bool dead = (r.expires_ms != 0 && r.expires_ms <= horizon) ||
                (r.idle_ms != 0 && r.last_used_ms + r.idle_ms <= horizon);
    if (dead) {
      mark_grant_locked(r.grant_id);
      it = refresh_.erase(it);
      continue;
    }
    if (r.expires_ms != 0) note_expiry_locked(r.expires_ms);
    if (r.idle_ms != 0) note_expiry_locked(r.last_used_ms + r.idle_ms);
    ++it;
  }
  for (auto it = codes_.begin(); it != codes_.end();) {
    if (it->second.expires_ms <= horizon) {
      if (tracking_) changes_.codes.insert(it->first);
      it = codes_.erase(it);
    } else {
      note_expiry_locked(it->second.expires_ms);
      ++it;
    }
  }
  for (auto it = grants_.begin(); it != grants_.end();) {
    Grant& grant = it->second;
    auto gone_access = [this](const std::string& t) { return access_.count(t) == 0; };
    grant.access_tokens.erase(
        std::remove_if(grant.access_tokens.begin(), grant.access_tokens.end(), gone_access),
        grant.access_tokens.end());
    auto gone_refresh = [this](const std::string& t) { return refresh_.count(t) == 0; };
    grant.retired_refresh_tokens.erase(
        std::remove_if(grant.retired_refresh_tokens.begin(), grant.retired_refresh_tokens.end(),
                       gone_refresh),
        grant.retired_refresh_tokens.end());
    bool idle = grant.access_tokens.empty() && refresh_.count(grant.current_refresh_token) == 0;
    // A grant issued from a code must outlive the code, for reuse detection.
    if (idle && grant.created_ms <= horizon) {
      mark_grant_locked(grant.id);
      it = grants_.erase(it);
      continue;
    }
    if (idle) note_expiry_locked(grant.created_ms);
    ++it;
  }
}

size_t TokenStore::access_token_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return access_.size();
}

size_t TokenStore::refresh_token_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return refresh_.size();
}

size_t TokenStore::grant_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return grants_.size();
}

}  // namespace mock2ba
