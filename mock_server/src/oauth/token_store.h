// Grants, access tokens, refresh tokens and authorization codes, with rotation, reuse detection,
// expiry, revocation and purging. Every operation is atomic under one mutex, so N concurrent
// refreshes with one refresh token give exactly one success.
#ifndef MOCK2BA_TOKEN_STORE_H_
#define MOCK2BA_TOKEN_STORE_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "oauth/fixture.h"
#include "oauth/oauth_error.h"
#include "util/clock.h"
#include "util/sharded_map.h"

namespace mock2ba {

enum class TokenState { kActive, kRotated, kRevoked, kExpired, kUnknown };

// "active", "rotated", "revoked", "expired" or "unknown", as the journal and control API say.
const char* token_state_name(TokenState state);

// What a successful grant hands out.
struct IssuedTokens {
  std::string access_token;
  int64_t expires_in = 0;
  std::optional<std::string> refresh_token;  // absent when none is issued or repeated
  std::string scope;
  bool has_scope = false;
  uint64_t grant_id = 0;
  std::string username;  // whose grant it is (the reply's policy depends on it)
  TokenState presented_state = TokenState::kActive;  // of the refresh token presented, if any
};

// A failed grant: the OAuth error code, a description and, for evidence, the token's state.
struct GrantError {
  OAuthError error = OAuthError::kInvalidGrant;
  std::string description;
  std::optional<TokenState> state;  // of the presented token, when one was judged
  uint64_t grant_id = 0;
  std::string username;  // the user the request named, when it named one (for the journal)
};

struct GrantResult {
  std::optional<IssuedTokens> tokens;
  std::optional<GrantError> error;
};

// Who owns a presented access token, and whether it may be used now.
struct AccessCheck {
  TokenState state = TokenState::kUnknown;
  std::string username;
  std::string client_id;
  uint64_t grant_id = 0;
};

// The parameters an authorization code is bound to.
struct CodeRequest {
  std::string client_id;
  std::string username;
  std::string redirect_uri;
  std::string scope;
  bool has_scope = false;
  std::string code_challenge;
  std::string code_challenge_method;  // "S256" or "plain"; empty without PKCE
};

// Which tokens a control-API revoke or expire affects. Exactly one member is set.
struct TokenSelector {
  std::optional<std::string> token;
  std::optional<std::string> user;
  std::optional<std::string> client;
  std::optional<uint64_t> grant;
};

// Appends JSON text to a string (token_store_file.cpp).
class JsonWriter;

class TokenStore {
 public:
  explicit TokenStore(std::shared_ptr<const Fixture> fixture);

  // Starts a new grant for a user (password grant) and issues its first tokens.
  IssuedTokens issue_for_password(const Client& client, const User& user, const std::string& scope,
                                  bool has_scope, TimeMs now);

  // Exchanges a refresh token: checks ownership, expiry, revocation and reuse, then rotates.
  GrantResult refresh(const std::string& refresh_token, const Client& client,
                      const std::optional<std::string>& scope, TimeMs now);

  // Creates an authorization code bound to `request`; returns the code and its expiry.
  std::pair<std::string, TimeMs> create_code(const CodeRequest& request, TimeMs now);

  // Redeems a code once: checks client, redirect_uri and PKCE; a second redemption revokes the
  // tokens the first one issued (RFC 6749 §4.1.2).
  GrantResult redeem_code(const std::string& code, const Client& client,
                          const std::optional<std::string>& redirect_uri,
                          const std::optional<std::string>& code_verifier, TimeMs now);

  // Looks up an access token presented to the product API.
  AccessCheck check_access(const std::string& access_token, TimeMs now) const;

  // State of a refresh token without using it (for the journal).
  TokenState refresh_state(const std::string& refresh_token, TimeMs now) const;

  // Control API: revoke or expire the selected tokens; returns how many were affected.
  int revoke(const TokenSelector& selector, TimeMs now);
  int expire(const TokenSelector& selector, TimeMs now);

  // Every grant with its tokens and their states; filters are optional.
  nlohmann::json describe(const std::optional<std::string>& user,
                          const std::optional<std::string>& client, TimeMs now) const;

  // Drops tokens and codes that expired long enough ago (also done automatically).
  void purge(TimeMs now);

  // Appends, as JSON text, what --state-file keeps: grants, tokens, codes and counters, without
  // what is dead at `now`: tokens and codes expired longer than purging keeps them, rotated
  // refresh tokens past their reuse grace period, and grants left with nothing. From then on the
  // store remembers which grants, codes and users change, for write_changes().
  void write_snapshot(std::string& out, TimeMs now);
  // Appends, as JSON text of the snapshot's shape, what changed since the last write_snapshot()
  // or write_changes(): the changed grants with their refresh tokens and the access tokens issued
  // since (all of them, when older ones changed), changed codes and per-user counters, and
  // "gone_grants"/"gone_codes" for those that left. False (nothing appended) when
  // no write_snapshot() came first, so only a full snapshot can describe the contents.
  bool write_changes(std::string& out, TimeMs now);
  // Replaces the contents with a snapshot. Grants of clients the fixture no longer has are
  // dropped with their tokens. Throws std::runtime_error when the snapshot is malformed.
  void restore(const nlohmann::json& snapshot);
  // Applies what write_changes() wrote on top of the contents (each changed grant replaces the
  // one of its id, with its tokens). Throws std::runtime_error, changing nothing, when malformed.
  void apply_changes(const nlohmann::json& changes);

  // Live counts, for tests and health.
  size_t access_token_count() const;
  size_t refresh_token_count() const;
  size_t grant_count() const;

 private:
  // Expired tokens are remembered this long, so that a late use is reported as "expired" rather
  // than "unknown"; after that they are purged (and left out of the state file).
  static constexpr TimeMs kPurgeRetentionMs = 5 * 60 * 1000;

  struct Grant {
    uint64_t id = 0;
    std::string client_id;
    std::string username;
    std::string scope;
    bool has_scope = false;
    bool wants_refresh = true;
    TimeMs created_ms = 0;
    bool revoked = false;
    int64_t access_tokens_issued = 0;
    int64_t refresh_tokens_issued = 0;
    int64_t refreshes = 0;
    std::string current_refresh_token;
    std::vector<std::string> retired_refresh_tokens;  // rotated, kept for reuse detection
    std::vector<std::string> access_tokens;  // vector: deque's 512-byte blocks per grant cost RSS
    // How many of access_tokens the state file holds: a line of changes adds only the others, so
    // a grant refreshed many times is not written whole each time.
    size_t access_tokens_on_disk = 0;
  };
  struct AccessRecord {
    uint64_t grant_id = 0;
    TimeMs expires_ms = 0;
    bool revoked = false;
  };
  struct RefreshRecord {
    uint64_t grant_id = 0;
    TimeMs issued_ms = 0;
    TimeMs expires_ms = 0;  // 0: never
    TimeMs idle_ms = 0;     // 0: no idle limit
    TimeMs last_used_ms = 0;
    TimeMs rotated_ms = 0;
    bool rotated = false;
    bool revoked = false;
  };
  struct CodeRecord {
    CodeRequest request;
    TimeMs expires_ms = 0;
    bool used = false;
    uint64_t grant_id = 0;
  };
  // Reading and writing the records in the state file (token_store_file.cpp). A grant is written
  // with only the tokens the file keeps of it (KeptTokens).
  struct KeptTokens;
  friend void from_json(const nlohmann::json& j, Grant& g);
  friend void write(JsonWriter& w, const Grant& g, const KeptTokens& kept);
  friend void from_json(const nlohmann::json& j, AccessRecord& a);
  friend void write(JsonWriter& w, const AccessRecord& a);
  friend void from_json(const nlohmann::json& j, RefreshRecord& r);
  friend void write(JsonWriter& w, const RefreshRecord& r);
  friend void from_json(const nlohmann::json& j, CodeRecord& c);
  friend void write(JsonWriter& w, const CodeRecord& c);
  // What a snapshot or a change holds, read before anything is replaced.
  struct Image;
  Image read_image(const nlohmann::json& store) const;
  // Puts an image's grants (each replacing the grant of its id), tokens, codes and counters in.
  void merge_locked(Image& image);
  void erase_grant_locked(uint64_t id);
  // What changed since the state file last had the store.
  struct Changes {
    std::unordered_set<uint64_t> grants;
    std::unordered_set<std::string> codes;
    std::unordered_set<std::string> users;
    // Changed grants whose access tokens were purged or changed: written with the whole list.
    std::unordered_set<uint64_t> rewrite_access;
  };
  // Writes the changed grants, codes and users, or (null) every one, in the snapshot's shape.
  void write_store_locked(std::string& out, TimeMs now, const Changes* changes);
  // The parts of one write_store_locked(): what is kept, and each section of the text.
  class StoreWriter;
  // While a state file follows the store: what changed since it was last written.
  void mark_grant_locked(uint64_t id) {
    if (tracking_) changes_.grants.insert(id);
  }

  // Sets *policy_out to the grant's policy.
  Grant& new_grant_locked(const Client& client, const std::string& username,
                          const std::string& scope, bool has_scope, TimeMs now,
                          const Policy*& policy_out);
  // Random tokens, with a copy for each place that keeps one (store, grant, reply), made before
  // the mutex is taken: neither RAND_bytes nor malloc runs under it. Declared before the lock,
  // so what is left unused is freed after it.
  struct FreshTokens {
    TokenFormat format;
    std::string access_token;
    std::string access_for_grant;
    std::string access_for_reply;
    std::string refresh_token;
    std::string refresh_for_grant;
    std::string refresh_for_reply;
  };
  static FreshTokens mint(TokenFormat format);
  // Issues an access token and, when asked and the grant wants one, a refresh token, taking
  // their strings from `fresh`.
  IssuedTokens issue_locked(Grant& grant, const Policy& policy, bool new_refresh_token, TimeMs now,
                            FreshTokens& fresh);
  // The steps of refresh(): why the presented token is refused before the policy is consulted
  // (other client, revoked, expired), why by the policy's reuse rule (a rotated token), why by
  // the scope asked for; then the rotation, which issues a new refresh token.
  static std::optional<GrantResult> refusal(const RefreshRecord& record, const Grant& grant,
                                            const Client& client, TokenState state, TimeMs now);
  std::optional<GrantResult> reuse_refusal_locked(const RefreshRecord& record, Grant& grant,
                                                  const Policy& policy, TimeMs now);
  static std::optional<GrantResult> scope_refusal(const Grant& grant, const Client& client,
                                                  const std::string& scope, TokenState state);
  IssuedTokens rotate_locked(Grant& grant, RefreshRecord& record, const std::string& refresh_token,
                             const Policy& policy, TimeMs now, FreshTokens& fresh);
  const Policy& policy_locked(const Grant& grant) const;
  // The lifetime a schedule sets for this token, if any schedule matches.
  std::optional<int64_t> scheduled_lifetime(TokenKind kind, const Grant& grant,
                                            int64_t per_grant_ordinal, int64_t per_user_ordinal,
                                            bool idle) const;
  TokenState refresh_state_locked(const RefreshRecord& record, TimeMs now) const;
  TokenState access_state_locked(const AccessRecord& record, TimeMs now) const;
  void revoke_grant_locked(Grant& grant);
  template <typename Fn>
  int for_selected_locked(const TokenSelector& selector, Fn&& fn);
  void note_expiry_locked(TimeMs when) {
    earliest_expiry_ms_ = std::min(earliest_expiry_ms_, when);
  }
  void maybe_purge_locked(TimeMs now);
  void purge_locked(TimeMs now);

  std::shared_ptr<const Fixture> fixture_;
  mutable std::mutex mutex_;
  uint64_t next_grant_id_ = 1;
  // Sharded: a growing std::unordered_map stalls every request while it rehashes.
  ShardedMap<uint64_t, Grant> grants_;
  ShardedMap<std::string, AccessRecord> access_;
  ShardedMap<std::string, RefreshRecord> refresh_;
  std::unordered_map<std::string, CodeRecord> codes_;
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> per_user_counts_;  // access, refresh
  TimeMs last_purge_ms_ = 0;
  size_t issued_since_purge_ = 0;
  // No token or code can die before this instant, so a sweep earlier would find nothing: without
  // it, long-lived tokens under load cause O(n) sweeps under the mutex (p99 stalls).
  TimeMs earliest_expiry_ms_ = std::numeric_limits<TimeMs>::max();
  bool tracking_ = false;  // set by write_snapshot(): a state file follows this store
  Changes changes_;
};

}  // namespace mock2ba

#endif  // MOCK2BA_TOKEN_STORE_H_
