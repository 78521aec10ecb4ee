#include "oauth/fixture.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "oauth/grant_types.h"
#include "util/json_input.h"

namespace mock2ba {
namespace {

using nlohmann::json;

const std::set<std::string> kRights = {"*", "Product", "TradeItem", "Thumbnail"};

void apply_policy(Policy& policy, const json& object, const std::string& path) {
  ObjectReader r(object, path);
  if (auto v = r.integer("access_token_lifetime", 1)) policy.access_token_lifetime = *v;
  if (auto v = r.integer("refresh_token_lifetime", 0)) policy.refresh_token_lifetime = *v;
  if (auto v = r.integer("refresh_token_idle_lifetime", 0)) policy.refresh_token_idle_lifetime = *v;
  if (auto v = r.boolean("rotate_refresh_tokens")) policy.rotate_refresh_tokens = *v;
  if (auto v = r.one_of("reuse", {"reject", "revoke_grant", "grace"})) {
    policy.reuse = *v == "reject"         ? ReusePolicy::kReject
                   : *v == "revoke_grant" ? ReusePolicy::kRevokeGrant
                                          : ReusePolicy::kGrace;
  }
  if (auto v = r.integer("reuse_grace_period", 0)) policy.reuse_grace_period = *v;
  if (auto v = r.boolean("return_refresh_token_on_refresh")) {
    policy.return_refresh_token_on_refresh = *v;
  }
  if (auto v = r.integer("code_lifetime", 1)) policy.code_lifetime = *v;
  if (auto v = r.string("token_type")) policy.token_type = *v;
  if (auto v = r.boolean("refresh_token_requires_offline_access")) {
    policy.refresh_token_requires_offline_access = *v;
  }
  if (auto v = r.boolean("include_expires_in")) policy.include_expires_in = *v;
  if (auto v = r.boolean("expires_in_as_string")) policy.expires_in_as_string = *v;
  if (r.has("extra_response_fields")) {
    const json& extra = r.raw("extra_response_fields");
    if (!extra.is_object()) {
      r.fail(r.key_path("extra_response_fields"),
             "expected an object, got " + describe_json_value(extra));
    }
    static const std::set<std::string> kReserved = {"access_token", "token_type", "expires_in",
                                                    "refresh_token", "scope"};
    for (const auto& item : extra.items()) {
      if (kReserved.count(item.key())) {
        r.fail(r.key_path("extra_response_fields") + "." + item.key(),
               "a standard reply member cannot be overridden here");
      }
    }
    policy.extra_response_fields = nlohmann::ordered_json::parse(extra.dump());
  }
  if (auto v = r.one_of("token_format", {"urlsafe", "hostile"})) {
    policy.token_format = *v == "hostile" ? TokenFormat::kHostile : TokenFormat::kUrlSafe;
  }
  r.reject_unread_keys();
  if (policy.reuse == ReusePolicy::kGrace && r.has("reuse") && policy.reuse_grace_period == 0) {
    r.fail(r.key_path("reuse_grace_period"),
           "\"reuse\": \"grace\" needs a reuse_grace_period >= 1");
  }
}

Client parse_client(const json& object, const std::string& path, const Fixture& fixture) {
  ObjectReader r(object, path);
  Client client;
  client.id = r.required_string("client_id");
  client.secret = r.string("client_secret");
  client.name = r.string("name").value_or(client.id);
  if (auto grants = r.string_list("grant_types")) {
    for (size_t i = 0; i < grants->size(); ++i) {
      if (!find_grant_type((*grants)[i])) {
        r.fail(r.key_path("grant_types") + "[" + std::to_string(i) + "]",
               "unknown grant type \"" + (*grants)[i] + "\" (expected " + grant_type_names() + ")");
      }
      client.grant_types.insert((*grants)[i]);
    }
  } else {
    for (const GrantType& grant : grant_types()) {
      if (grant.for_public_clients || !client.is_public()) client.grant_types.insert(grant.name);
    }
  }
  client.redirect_uris = r.string_list("redirect_uris").value_or(std::vector<std::string>{});
  if (auto scopes = r.string_list("scopes")) {
    for (size_t i = 0; i < scopes->size(); ++i) {
      if (!fixture.scopes.count((*scopes)[i])) {
        r.fail(r.key_path("scopes") + "[" + std::to_string(i) + "]",
               "scope \"" + (*scopes)[i] + "\" is not in the fixture's scopes");
      }
    }
    client.scopes.insert(scopes->begin(), scopes->end());
  } else {
    client.scopes = fixture.scopes;
  }
  client.require_pkce = r.boolean("require_pkce").value_or(client.is_public());
  if (client.is_public() && !client.require_pkce) {
    r.fail(r.key_path("require_pkce"), "a public client (no client_secret) must use PKCE");
  }
  client.policy = fixture.policy;
  if (r.has("policy")) apply_policy(client.policy, r.raw("policy"), r.key_path("policy"));
  r.reject_unread_keys();
  for (const auto& [name, user] : fixture.users) {
    if (!user.policy_overrides) continue;
    Policy policy = client.policy;
    apply_policy(policy, *user.policy_overrides, "users." + name + ".policy");
    client.user_policies.emplace(name, std::move(policy));
  }
  return client;
}

User parse_user(const json& object, const std::string& path) {
  ObjectReader r(object, path);
  User user;
  user.username = r.required_string("username");
  if (!r.has("password")) r.fail(r.key_path("password"), "missing (required)");
  user.password = *r.string("password", /*allow_empty=*/true);
  auto rights = r.string_list("rights").value_or(std::vector<std::string>{"*"});
  for (size_t i = 0; i < rights.size(); ++i) {
    if (!kRights.count(rights[i])) {
      r.fail(r.key_path("rights") + "[" + std::to_string(i) + "]",
             "unknown right \"" + rights[i] + "\" (expected Product, TradeItem, Thumbnail or *)");
    }
  }
  user.rights.insert(rights.begin(), rights.end());
  if (r.has("policy")) {
    Policy probe;  // validate now so a bad override fails at load, not at the first request
    apply_policy(probe, r.raw("policy"), r.key_path("policy"));
    user.policy_overrides = r.raw("policy");
  }
  r.reject_unread_keys();
  return user;
}

Schedule parse_schedule(const json& object, const std::string& path, const Fixture& fixture) {
  ObjectReader r(object, path);
  Schedule s;
  auto token = r.one_of("token", {"access_token", "refresh_token"});
  if (!token)
    r.fail(r.key_path("token"), "missing (required: \"access_token\" or \"refresh_token\")");
  s.token = *token == "access_token" ? TokenKind::kAccess : TokenKind::kRefresh;
  s.per_user = r.one_of("per", {"grant", "user"}).value_or("grant") == "user";
  auto nth = r.integer("nth", 1);
  auto from = r.integer("from", 1);
  if (nth.has_value() == from.has_value()) r.fail(path, "give exactly one of \"nth\" and \"from\"");
  s.nth = nth ? *nth : *from;
  s.and_later = from.has_value();
  s.user = r.string("user");
  if (s.user && !fixture.users.count(*s.user))
    r.fail(r.key_path("user"), "no such user \"" + *s.user + "\"");
  s.client = r.string("client");
  if (s.client && !fixture.clients.count(*s.client)) {
    r.fail(r.key_path("client"), "no such client \"" + *s.client + "\"");
  }
  s.lifetime = r.integer("lifetime", 0);
  s.idle_lifetime = r.integer("idle_lifetime", 0);
  if (s.idle_lifetime && s.token == TokenKind::kAccess) {
    r.fail(r.key_path("idle_lifetime"), "only refresh tokens have an idle lifetime");
  }
  if (!s.lifetime && !s.idle_lifetime) r.fail(path, "give \"lifetime\" or \"idle_lifetime\"");
  r.reject_unread_keys();
  return s;
}

TimedEvent parse_event(const json& object, const std::string& path, const Fixture& fixture) {
  ObjectReader r(object, path);
  TimedEvent e;
  if (auto at = r.integer("at", 0)) e.at_ms = *at * 1000;
  if (auto after = r.integer("after", 0)) e.after_ms = *after * 1000;
  if (e.at_ms.has_value() == e.after_ms.has_value())
    r.fail(path, "give exactly one of \"at\" and \"after\"");
  auto action = r.one_of("action", {"revoke", "expire"});
  if (!action) r.fail(r.key_path("action"), "missing (required: \"revoke\" or \"expire\")");
  e.expire = *action == "expire";
  e.user = r.string("user");
  e.client = r.string("client");
  if (e.user.has_value() == e.client.has_value())
    r.fail(path, "give exactly one of \"user\" and \"client\"");
  if (e.user && !fixture.users.count(*e.user))
    r.fail(r.key_path("user"), "no such user \"" + *e.user + "\"");
  if (e.client && !fixture.clients.count(*e.client)) {
    r.fail(r.key_path("client"), "no such client \"" + *e.client + "\"");
  }
  r.reject_unread_keys();
  return e;
}

json parse_records(ObjectReader& r, const char* key, const std::vector<const char*>& required) {
  if (!r.has(key)) return json::array();
  const json& list = r.raw(key);
  if (!list.is_array()) r.fail(key, "expected a list of objects, got " + describe_json_value(list));
  for (size_t i = 0; i < list.size(); ++i) {
    std::string item_path = std::string(key) + "[" + std::to_string(i) + "]";
    ObjectReader item(list[i], item_path, ObjectReader::kOpen);  // other keys are data
    for (const char* field : required) {
      if (!item.has(field)) item.fail(item.key_path(field), "missing (required)");
      if (!item.raw(field).is_string() && !item.raw(field).is_number_integer()) {
        item.fail(item.key_path(field), "expected a string or integer");
      }
    }
  }
  return list;
}

}  // namespace

bool Schedule::matches(TokenKind kind, int64_t ordinal, bool counted_per_user,
                       const std::string& user_name, const std::string& client_id) const {
  if (kind != token || counted_per_user != per_user) return false;
  if (user && *user != user_name) return false;
  if (client && *client != client_id) return false;
  return and_later ? ordinal >= nth : ordinal == nth;
}

const Policy& Fixture::policy_for(const Client& client, const User* user) const {
  if (!user || !user->policy_overrides) return client.policy;
  return client.user_policies.at(user->username);
}

namespace {

// The fixture in `document`. Throws JsonInputError.
Fixture read_fixture(const json& document, const std::string& source) {
  Fixture fixture;
  fixture.source = source;
  ObjectReader r(document, "");
  fixture.description = r.string("description", true).value_or("");
  if (r.has("policy")) apply_policy(fixture.policy, r.raw("policy"), "policy");
  auto scopes = r.string_list("scopes").value_or(
      std::vector<std::string>{"openid", "profile", "offline_access", "unifeed", "apix"});
  fixture.scopes.insert(scopes.begin(), scopes.end());

  for (const char* key : {"users", "clients"}) {
    if (!r.has(key)) r.fail(key, "missing (required)");
    if (!r.raw(key).is_array() || r.raw(key).empty())
      r.fail(key, "expected a non-empty list of objects");
  }
  const json& users = r.raw("users");
  for (size_t i = 0; i < users.size(); ++i) {
    User user = parse_user(users[i], "users[" + std::to_string(i) + "]");
    std::string name = user.username;
    if (!fixture.users.emplace(name, std::move(user)).second) {
      r.fail("users[" + std::to_string(i) + "].username", "duplicate user \"" + name + "\"");
    }
  }
  fixture.auto_login = r.string("auto_login");
  if (fixture.auto_login && !fixture.users.count(*fixture.auto_login)) {
    r.fail("auto_login", "no such user \"" + *fixture.auto_login + "\"");
  }
  const json& clients = r.raw("clients");
  for (size_t i = 0; i < clients.size(); ++i) {
    Client client = parse_client(clients[i], "clients[" + std::to_string(i) + "]", fixture);
    std::string id = client.id;
    if (!fixture.clients.emplace(id, std::move(client)).second) {
      r.fail("clients[" + std::to_string(i) + "].client_id", "duplicate client \"" + id + "\"");
    }
  }
  for (const char* key : {"schedules", "events"}) {
    if (r.has(key) && !r.raw(key).is_array()) r.fail(key, "expected a list of objects");
  }
  if (r.has("schedules")) {
    const json& list = r.raw("schedules");
    for (size_t i = 0; i < list.size(); ++i) {
      fixture.schedules.push_back(
          parse_schedule(list[i], "schedules[" + std::to_string(i) + "]", fixture));
    }
  }
  if (r.has("events")) {
    const json& list = r.raw("events");
    for (size_t i = 0; i < list.size(); ++i) {
      fixture.events.push_back(parse_event(list[i], "events[" + std::to_string(i) + "]", fixture));
    }
  }
  if (r.has("clock")) {
    ObjectReader clock(r.raw("clock"), "clock");
    if (auto start = clock.integer("start", 0)) fixture.clock_start_ms = *start * 1000;
    fixture.clock_frozen = clock.boolean("frozen").value_or(false);
    clock.reject_unread_keys();
  }
  fixture.products = parse_records(r, "products", {"Id", "GTIN", "ManufacturerGLN", "Productcode"});
  fixture.trade_items = parse_records(r, "trade_items", {"SupplierGLN", "SuppliersTradeItemId"});
  r.reject_unread_keys();
  return fixture;
}

}  // namespace

Fixture parse_fixture(const json& document, const std::string& source) {
  try {
    return read_fixture(document, source);
  } catch (const JsonInputError& e) {
    throw FixtureError(source + ": " + e.path() + ": " + e.message());
  }
}

Fixture load_fixture_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw FixtureError(
        path + ": cannot open the file (" + std::strerror(err) + ")",
        err == ENOENT || err == ENOTDIR ? FixtureError::kMissing : FixtureError::kInvalid);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    bool folder = S_ISDIR(st.st_mode);
    ::close(fd);
    throw FixtureError(
        path + (folder ? ": is a folder; give a fixture file such as " + path + "/default.json"
                       : ": not a regular file"));
  }
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(done);
  std::string error;
  auto document = parse_json_input(text, &error);
  if (!document) throw FixtureError(path + ": not valid JSON: " + error);
  return parse_fixture(*document, path);
}

}  // namespace mock2ba
