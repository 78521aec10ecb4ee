#include "oauth/grant_types.h"

#include "oauth/client_auth.h"

namespace mock2ba {
namespace {

void password_grant(GrantRequest& req) {
  const std::string* username = req.param("username");
  const std::string* password = req.form().find("password");  // an empty password is a password
  if (!username || !password) {
    return req.error(400, OAuthError::kInvalidRequest,
                     "The password grant needs both username and password.");
  }
  RequestContext& ctx = req.context();
  ctx.outcome["username"] = *username;
  const Fixture& fixture = *ctx.state->fixture;
  auto user = fixture.users.find(*username);
  if (user == fixture.users.end() || !secrets_equal(*password, user->second.password)) {
    return req.error(400, OAuthError::kInvalidGrant, "The user name or password is incorrect.");
  }
  const auto& scope = req.scope();
  req.succeed(ctx.state->store.issue_for_password(req.client(), user->second, scope.value_or(""),
                                                  scope.has_value(), ctx.now));
}

void refresh_grant(GrantRequest& req) {
  const std::string* refresh_token = req.param("refresh_token");
  if (!refresh_token)
    return req.error(400, OAuthError::kInvalidRequest, "The refresh_token parameter is missing.");
  RequestContext& ctx = req.context();
  req.finish(ctx.state->store.refresh(*refresh_token, req.client(), req.scope(), ctx.now),
             "refresh_token_state");
}

std::optional<std::string> optional(const std::string* value) {
  return value ? std::optional<std::string>(*value) : std::nullopt;
}

void code_grant(GrantRequest& req) {
  const std::string* code = req.param("code");
  if (!code) return req.error(400, OAuthError::kInvalidRequest, "The code parameter is missing.");
  RequestContext& ctx = req.context();
  req.finish(ctx.state->store.redeem_code(*code, req.client(), optional(req.param("redirect_uri")),
                                          optional(req.param("code_verifier")), ctx.now),
             "code_state");
}

}  // namespace

const std::vector<GrantType>& grant_types() {
  static const std::vector<GrantType> kGrantTypes = {
      {"password", password_grant, false},
      {"refresh_token", refresh_grant, true},
      {"authorization_code", code_grant, true},
  };
  return kGrantTypes;
}

const GrantType* find_grant_type(std::string_view name) {
  for (const GrantType& grant : grant_types()) {
    if (name == grant.name) return &grant;
  }
  return nullptr;
}

std::string grant_type_names() {
  const auto& grants = grant_types();
  std::string out;
  for (size_t i = 0; i < grants.size(); ++i) {
    if (i > 0) out += i + 1 == grants.size() ? " or " : ", ";
    out += grants[i].name;
  }
  return out;
}

}  // namespace mock2ba
