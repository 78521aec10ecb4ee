// The fixture: one scenario's clients, users, token policy, schedules, events and product data.
#ifndef MOCK2BA_FIXTURE_H_
#define MOCK2BA_FIXTURE_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/clock.h"

namespace mock2ba {

// A fixture that cannot be loaded; what() names the file and the offending key.
class FixtureError : public std::runtime_error {
 public:
  enum Kind { kInvalid, kMissing };  // kMissing: no such file
  explicit FixtureError(const std::string& message, Kind kind = kInvalid)
      : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

enum class ReusePolicy { kReject, kRevokeGrant, kGrace };
enum class TokenFormat { kUrlSafe, kHostile };
enum class TokenKind { kAccess, kRefresh };

// How tokens are issued and judged. Lifetimes are in seconds; 0 means "never" where noted.
struct Policy {
  int64_t access_token_lifetime = 3600;
  int64_t refresh_token_lifetime = 14 * 24 * 3600;  // 0: never expires
  int64_t refresh_token_idle_lifetime = 0;          // 0: no idle limit
  bool rotate_refresh_tokens = true;
  ReusePolicy reuse = ReusePolicy::kReject;
  int64_t reuse_grace_period = 0;
  bool return_refresh_token_on_refresh = true;
  int64_t code_lifetime = 300;
  std::string token_type = "Bearer";
  bool refresh_token_requires_offline_access = true;
  bool include_expires_in = true;
  bool expires_in_as_string = false;
  nlohmann::ordered_json extra_response_fields = nlohmann::ordered_json::object();
  TokenFormat token_format = TokenFormat::kUrlSafe;
};

struct Client {
  std::string id;
  std::optional<std::string> secret;  // absent: a public client
  std::string name;
  std::set<std::string> grant_types;
  std::vector<std::string> redirect_uris;  // "self" stands for the mock's own base URL
  std::set<std::string> scopes;
  bool require_pkce = false;
  Policy policy;  // the fixture policy with this client's overrides applied
  // For each user with policy overrides: `policy` with them applied (resolved at load, so that
  // issuing a token never copies or re-parses a policy).
  std::map<std::string, Policy> user_policies;

  bool is_public() const { return !secret.has_value(); }
};

struct User {
  std::string username;
  std::string password;
  std::set<std::string> rights;  // "*" grants every service
  std::optional<nlohmann::json> policy_overrides;

  bool has_right(const std::string& service) const {
    return rights.count("*") > 0 || rights.count(service) > 0;
  }
};

// Changes the lifetimes of the Nth (or Nth and later) token of a grant or a user.
struct Schedule {
  TokenKind token = TokenKind::kRefresh;
  bool per_user = false;
  int64_t nth = 1;
  bool and_later = false;
  std::optional<std::string> user;
  std::optional<std::string> client;
  std::optional<int64_t> lifetime;
  std::optional<int64_t> idle_lifetime;

  bool matches(TokenKind kind, int64_t ordinal, bool counted_per_user, const std::string& user_name,
               const std::string& client_id) const;
};

// At a virtual instant, revoke or expire every token of a user or client.
struct TimedEvent {
  std::optional<TimeMs> at_ms;     // absolute
  std::optional<TimeMs> after_ms;  // relative to the clock's start
  bool expire = false;             // false: revoke
  std::optional<std::string> user;
  std::optional<std::string> client;
};

struct Fixture {
  std::string source;  // file name (or "PUT /__mock/fixture") for messages
  std::string description;
  Policy policy;
  std::set<std::string> scopes;
  std::map<std::string, Client> clients;
  std::map<std::string, User> users;
  std::vector<Schedule> schedules;
  std::vector<TimedEvent> events;
  std::optional<TimeMs> clock_start_ms;
  bool clock_frozen = false;
  nlohmann::json products = nlohmann::json::array();
  nlohmann::json trade_items = nlohmann::json::array();
  // Test-only: the user the authorization endpoint logs in at once, without the login form.
  std::optional<std::string> auto_login;

  // The policy for a client and user: fixture, then client overrides, then user overrides.
  // The reference lives as long as the fixture. Throws std::out_of_range for a user with
  // overrides the client was not parsed with (only a fixture assembled by hand can have one).
  const Policy& policy_for(const Client& client, const User* user) const;
};

// Parses and validates a fixture document. Throws FixtureError naming `source` and the key.
Fixture parse_fixture(const nlohmann::json& document, const std::string& source);

// Reads and parses a fixture file (a regular file only; a FIFO or folder is refused without
// waiting). Throws FixtureError.
Fixture load_fixture_file(const std::string& path);

}  // namespace mock2ba

#endif  // MOCK2BA_FIXTURE_H_
