#include "oauth/token_store.h"

#include <openssl/evp.h>

#include <algorithm>
#include <unordered_set>

#include "util/random_token.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

// Expired tokens are remembered this long, so that a late use is reported as "expired" rather
// than "unknown"; after that they are purged and memory stays bounded.
constexpr TimeMs kPurgeRetentionMs = 5 * 60 * 1000;
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
  return GrantResult{std::nullopt, GrantError{error, std::move(description), state, grant_id}};
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

GrantResult TokenStore::refresh(const std::string& refresh_token, const Client& client,
                                const std::optional<std::string>& scope, TimeMs now) {
  FreshTokens fresh = mint(client.policy.token_format);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = refresh_.find(refresh_token);
  if (it == refresh_.end()) return fail(OAuthError::kInvalidGrant, "The refresh token is unknown.");
  RefreshRecord& record = it->second;
  Grant& grant = grants_.at(record.grant_id);
  TokenState state = refresh_state_locked(record, now);
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

  const Policy& policy = policy_locked(grant);
  if (state == TokenState::kRotated) {
    bool in_grace = policy.reuse == ReusePolicy::kGrace &&
                    now - record.rotated_ms <= policy.reuse_grace_period * 1000;
    if (!in_grace) {
      if (policy.reuse == ReusePolicy::kRevokeGrant) {
        revoke_grant_locked(grant);
        return fail(OAuthError::kInvalidGrant,
                    "The refresh token was already used; every token of this grant is now revoked.",
                    state, grant.id);
      }
      return fail(OAuthError::kInvalidGrant, "The refresh token was already used (it was rotated).",
                  state, grant.id);
    }
  }
  if (scope) {
    for (const auto& item : split_spaces(*scope)) {
      bool granted =
          grant.has_scope ? scope_contains(grant.scope, item) : client.scopes.count(item) > 0;
      if (!granted) {
        return fail(OAuthError::kInvalidScope,
                    "The scope '" + item + "' was not part of the original grant.", state,
                    grant.id);
      }
    }
  }

  ++grant.refreshes;
  IssuedTokens out;
  if (policy.rotate_refresh_tokens) {
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
    out = issue_locked(grant, policy, true, now, fresh);
    while (grant.retired_refresh_tokens.size() > kRetiredPerGrant) {
      refresh_.erase(grant.retired_refresh_tokens.front());
      grant.retired_refresh_tokens.erase(grant.retired_refresh_tokens.begin());
    }
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

// Reading the state file: nlohmann's conversions (the Grant's come from its macro).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CodeRequest, client_id, username, redirect_uri, scope, has_scope,
                                   code_challenge, code_challenge_method)

void from_json(const nlohmann::json& j, TokenStore::AccessRecord& a) {
  j.at("grant").get_to(a.grant_id);
  j.at("expires_ms").get_to(a.expires_ms);
  j.at("revoked").get_to(a.revoked);
}

void from_json(const nlohmann::json& j, TokenStore::RefreshRecord& r) {
  j.at("grant").get_to(r.grant_id);
  j.at("issued_ms").get_to(r.issued_ms);
  j.at("expires_ms").get_to(r.expires_ms);
  j.at("idle_ms").get_to(r.idle_ms);
  j.at("last_used_ms").get_to(r.last_used_ms);
  j.at("rotated_ms").get_to(r.rotated_ms);
  j.at("rotated").get_to(r.rotated);
  j.at("revoked").get_to(r.revoked);
}

void from_json(const nlohmann::json& j, TokenStore::CodeRecord& c) {
  j.get_to(c.request);
  j.at("expires_ms").get_to(c.expires_ms);
  j.at("used").get_to(c.used);
  j.at("grant").get_to(c.grant_id);
}

namespace {

// Writes the state file's JSON text straight into one string. It is written under the store's
// mutex, so every request waits for it: nlohmann's to_json for the same records took ten times
// as long (210 against 21 ms for a snapshot of 10,000 grants).
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter& key(std::string_view name) {
    comma();
    append_json_string(out_, name);
    out_ += ':';
    fresh_ = true;
    return *this;
  }
  JsonWriter& string(std::string_view value) {
    comma();
    append_json_string(out_, value);
    return *this;
  }
  JsonWriter& number(int64_t value) {
    comma();
    out_ += std::to_string(value);
    return *this;
  }
  JsonWriter& boolean(bool value) {
    comma();
    out_ += value ? "true" : "false";
    return *this;
  }
  JsonWriter& open(char bracket) {
    comma();
    out_ += bracket;
    fresh_ = true;
    return *this;
  }
  JsonWriter& close(char bracket) {
    out_ += bracket;
    fresh_ = false;
    return *this;
  }
  // A value written elsewhere (after key()).
  JsonWriter& raw(const std::string& text) {
    comma();
    out_ += text;
    return *this;
  }

 private:
  void comma() {
    if (!fresh_) out_ += ',';
    fresh_ = false;
  }
  std::string& out_;
  bool fresh_ = true;
};

}  // namespace

struct TokenStore::Image {
  uint64_t next_grant_id = 1;
  std::vector<Grant> grants;
  std::vector<std::pair<std::string, AccessRecord>> access;
  std::vector<std::pair<std::string, RefreshRecord>> refresh;
  std::vector<std::pair<std::string, CodeRecord>> codes;
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> per_user_counts;
  std::vector<uint64_t> gone_grants;
  std::vector<std::string> gone_codes;
  // Grants whose record lists only access tokens to add to those the grant has.
  std::unordered_set<uint64_t> appended_access;
};

void TokenStore::write_store_locked(std::string& out, TimeMs now, const Changes* changes) {
  // What a restart needs: tokens and codes that memory would purge by now are left out (expired
  // longer than the retention), and so are rotated refresh tokens past their reuse grace period:
  // after a restart, presenting one gets the same 400 as an unknown token (the journal then says
  // "unknown" instead of "rotated", and reuse no longer revokes the grant).
  const TimeMs horizon = now - kPurgeRetentionMs;
  const bool full = changes == nullptr;
  auto refresh_kept = [&](const RefreshRecord& r, const Policy& policy) {
    if ((r.expires_ms != 0 && r.expires_ms <= horizon) ||
        (r.idle_ms != 0 && r.last_used_ms + r.idle_ms <= horizon))
      return false;
    return !r.rotated || (policy.reuse == ReusePolicy::kGrace &&
                          now - r.rotated_ms <= policy.reuse_grace_period * 1000);
  };
  auto access_kept = [&](const std::string& token) {
    auto it = access_.find(token);
    return it != access_.end() && it->second.expires_ms > horizon;
  };
  std::unordered_set<uint64_t> grants_with_codes;
  if (full) {
    for (const auto& [code, c] : codes_) {
      if (c.expires_ms > horizon && c.grant_id) grants_with_codes.insert(c.grant_id);
    }
  }
  JsonWriter w(out);
  w.open('{').key("next_grant_id").number(static_cast<int64_t>(next_grant_id_));
  w.key("grants").open('[');
  std::string refresh_text = "{";
  JsonWriter refresh(refresh_text);
  std::string access_text = "{";
  JsonWriter access(access_text);
  auto put_refresh = [&](const std::string& token, const RefreshRecord& r) {
    refresh.key(token)
        .open('{')
        .key("grant")
        .number(static_cast<int64_t>(r.grant_id))
        .key("issued_ms")
        .number(r.issued_ms)
        .key("expires_ms")
        .number(r.expires_ms)
        .key("idle_ms")
        .number(r.idle_ms)
        .key("last_used_ms")
        .number(r.last_used_ms)
        .key("rotated_ms")
        .number(r.rotated_ms)
        .key("rotated")
        .boolean(r.rotated)
        .key("revoked")
        .boolean(r.revoked)
        .close('}');
  };
  auto put_grant = [&](Grant& g) {
    const Policy& policy = policy_locked(g);
    std::vector<const std::string*> retired, live_access;
    for (const auto& t : g.retired_refresh_tokens) {
      auto it = refresh_.find(t);
      if (it != refresh_.end() && refresh_kept(it->second, policy)) retired.push_back(&t);
    }
    // A line of changes lists only the access tokens issued since the file last had the grant,
    // unless some of the older ones changed or were purged.
    bool appended_only = !full && !changes_.rewrite_access.count(g.id);
    size_t from = appended_only ? std::min(g.access_tokens_on_disk, g.access_tokens.size()) : 0;
    g.access_tokens_on_disk = g.access_tokens.size();
    for (size_t i = from; i < g.access_tokens.size(); ++i) {
      if (access_kept(g.access_tokens[i])) live_access.push_back(&g.access_tokens[i]);
    }
    auto current = refresh_.find(g.current_refresh_token);
    bool current_kept = current != refresh_.end() && refresh_kept(current->second, policy);
    // In a full snapshot a grant of which nothing can be used or judged any more is left out.
    if (full && retired.empty() && live_access.empty() && !current_kept &&
        !grants_with_codes.count(g.id))
      return;
    w.open('{')
        .key("id")
        .number(static_cast<int64_t>(g.id))
        .key("client_id")
        .string(g.client_id)
        .key("username")
        .string(g.username)
        .key("scope")
        .string(g.scope)
        .key("has_scope")
        .boolean(g.has_scope)
        .key("wants_refresh")
        .boolean(g.wants_refresh)
        .key("created_ms")
        .number(g.created_ms)
        .key("revoked")
        .boolean(g.revoked)
        .key("access_tokens_issued")
        .number(g.access_tokens_issued)
        .key("refresh_tokens_issued")
        .number(g.refresh_tokens_issued)
        .key("refreshes")
        .number(g.refreshes)
        .key("current_refresh_token")
        .string(current_kept ? g.current_refresh_token : "");
    w.key("retired_refresh_tokens").open('[');
    for (const std::string* t : retired) w.string(*t);
    w.close(']').key("access_tokens").open('[');
    for (const std::string* t : live_access) w.string(*t);
    w.close(']');
    if (appended_only) w.key("access_tokens_appended").boolean(true);
    w.close('}');
    if (current_kept) put_refresh(current->first, current->second);
    for (const std::string* t : retired) put_refresh(*t, refresh_.find(*t)->second);
    for (const std::string* t : live_access) {
      const AccessRecord& a = access_.find(*t)->second;
      access.key(*t)
          .open('{')
          .key("grant")
          .number(static_cast<int64_t>(a.grant_id))
          .key("expires_ms")
          .number(a.expires_ms)
          .key("revoked")
          .boolean(a.revoked)
          .close('}');
    }
  };
  std::vector<uint64_t> gone_grants;
  if (full) {
    for (auto& [id, g] : grants_) put_grant(g);
  } else {
    for (uint64_t id : changes->grants) {
      auto it = grants_.find(id);
      if (it == grants_.end()) {
        gone_grants.push_back(id);
      } else {
        put_grant(it->second);
      }
    }
  }
  w.close(']');
  refresh.close('}');
  access.close('}');
  w.key("access").raw(access_text).key("refresh").raw(refresh_text);
  auto put_code = [&](const std::string& code, const CodeRecord& c) {
    const CodeRequest& q = c.request;
    w.key(code)
        .open('{')
        .key("client_id")
        .string(q.client_id)
        .key("username")
        .string(q.username)
        .key("redirect_uri")
        .string(q.redirect_uri)
        .key("scope")
        .string(q.scope)
        .key("has_scope")
        .boolean(q.has_scope)
        .key("code_challenge")
        .string(q.code_challenge)
        .key("code_challenge_method")
        .string(q.code_challenge_method)
        .key("expires_ms")
        .number(c.expires_ms)
        .key("used")
        .boolean(c.used)
        .key("grant")
        .number(static_cast<int64_t>(c.grant_id))
        .close('}');
  };
  std::vector<const std::string*> gone_codes;
  w.key("codes").open('{');
  if (full) {
    for (const auto& [code, c] : codes_) {
      if (c.expires_ms > horizon) put_code(code, c);
    }
  } else {
    for (const auto& code : changes->codes) {
      auto it = codes_.find(code);
      if (it != codes_.end() && it->second.expires_ms > horizon) {
        put_code(code, it->second);
      } else {
        gone_codes.push_back(&code);
      }
    }
  }
  w.close('}').key("per_user_counts").open('{');
  auto put_user = [&](const std::string& user, const std::pair<int64_t, int64_t>& counts) {
    w.key(user).open('[').number(counts.first).number(counts.second).close(']');
  };
  if (full) {
    for (const auto& [user, counts] : per_user_counts_) put_user(user, counts);
  } else {
    for (const auto& user : changes->users) {
      auto it = per_user_counts_.find(user);
      if (it != per_user_counts_.end()) put_user(user, it->second);
    }
  }
  w.close('}');
  if (!full) {
    w.key("gone_grants").open('[');
    for (uint64_t id : gone_grants) w.number(static_cast<int64_t>(id));
    w.close(']').key("gone_codes").open('[');
    for (const std::string* code : gone_codes) w.string(*code);
    w.close(']');
  }
  w.close('}');
}

void TokenStore::write_snapshot(std::string& out, TimeMs now) {
  std::lock_guard<std::mutex> lock(mutex_);
  write_store_locked(out, now, nullptr);
  tracking_ = true;
  changes_ = Changes{};
}

bool TokenStore::write_changes(std::string& out, TimeMs now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!tracking_) return false;
  write_store_locked(out, now, &changes_);
  changes_ = Changes{};
  return true;
}

TokenStore::Image TokenStore::read_image(const nlohmann::json& s) const {
  Image image;
  try {
    image.next_grant_id = s.value("next_grant_id", uint64_t{1});
    for (const auto& j : s.at("grants")) {
      Grant g = j.get<Grant>();
      if (j.value("access_tokens_appended", false)) image.appended_access.insert(g.id);
      if (fixture_->clients.count(g.client_id)) {
        image.grants.push_back(std::move(g));
      } else {
        image.gone_grants.push_back(g.id);  // the fixture changed: forget the grant
      }
    }
    for (const auto& [token, j] : s.at("access").items())
      image.access.emplace_back(token, j.get<AccessRecord>());
    for (const auto& [token, j] : s.at("refresh").items())
      image.refresh.emplace_back(token, j.get<RefreshRecord>());
    for (const auto& [code, j] : s.at("codes").items())
      image.codes.emplace_back(code, j.get<CodeRecord>());
    for (const auto& [user, counts] : s.at("per_user_counts").items()) {
      image.per_user_counts.emplace_back(
          user, std::pair{counts.at(0).get<int64_t>(), counts.at(1).get<int64_t>()});
    }
    if (auto gone = s.find("gone_grants"); gone != s.end()) {
      for (const auto& id : *gone) image.gone_grants.push_back(id.get<uint64_t>());
    }
    if (auto gone = s.find("gone_codes"); gone != s.end()) {
      for (const auto& code : *gone) image.gone_codes.push_back(code.get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("malformed token store: ") + e.what());
  }
  return image;
}

void TokenStore::erase_grant_locked(uint64_t id) {
  auto it = grants_.find(id);
  if (it == grants_.end()) return;
  for (const auto& t : it->second.access_tokens) access_.erase(t);
  for (const auto& t : it->second.retired_refresh_tokens) refresh_.erase(t);
  refresh_.erase(it->second.current_refresh_token);
  grants_.erase(it);
}

void TokenStore::merge_locked(Image& image) {
  for (uint64_t id : image.gone_grants) {
    erase_grant_locked(id);
    mark_grant_locked(id);
  }
  for (auto& g : image.grants) {
    uint64_t id = g.id;
    auto old = grants_.find(id);
    if (old != grants_.end() && image.appended_access.count(id)) {
      // Kept out of the erase below, which takes the grant's replaced refresh tokens.
      std::vector<std::string> access = std::move(old->second.access_tokens);
      old->second.access_tokens.clear();
      access.insert(access.end(), std::make_move_iterator(g.access_tokens.begin()),
                    std::make_move_iterator(g.access_tokens.end()));
      g.access_tokens = std::move(access);
    }
    erase_grant_locked(id);
    mark_grant_locked(id);
    next_grant_id_ = std::max(next_grant_id_, id + 1);
    grants_[id] = std::move(g);
  }
  // Tokens only of grants that exist (a grant of a client the fixture lost took its tokens).
  for (auto& [token, a] : image.access) {
    if (grants_.count(a.grant_id)) access_.insert_or_assign(std::move(token), a);
  }
  for (auto& [token, r] : image.refresh) {
    if (grants_.count(r.grant_id)) refresh_.insert_or_assign(std::move(token), r);
  }
  for (const auto& code : image.gone_codes) {
    codes_.erase(code);
    if (tracking_) changes_.codes.insert(code);
  }
  for (auto& [code, c] : image.codes) {
    if (tracking_) changes_.codes.insert(code);
    codes_.insert_or_assign(std::move(code), std::move(c));
  }
  for (auto& [user, counts] : image.per_user_counts) {
    if (tracking_) changes_.users.insert(user);
    per_user_counts_[std::move(user)] = counts;
  }
  next_grant_id_ = std::max({next_grant_id_, image.next_grant_id, uint64_t{1}});
  earliest_expiry_ms_ = std::numeric_limits<TimeMs>::min();  // sweep soon
}

void TokenStore::restore(const nlohmann::json& s) {
  Image image = read_image(s);
  std::lock_guard<std::mutex> lock(mutex_);
  grants_ = {};
  access_ = {};
  refresh_ = {};
  codes_.clear();
  per_user_counts_.clear();
  next_grant_id_ = 1;
  // Replaced as a whole: only a full snapshot describes it now.
  tracking_ = false;
  changes_.grants.clear();
  changes_.codes.clear();
  changes_.users.clear();
  changes_.rewrite_access.clear();
  merge_locked(image);
}

void TokenStore::apply_changes(const nlohmann::json& changes) {
  Image image = read_image(changes);
  std::lock_guard<std::mutex> lock(mutex_);
  merge_locked(image);
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
