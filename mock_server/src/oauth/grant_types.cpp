#include "oauth/grant_types.h"

#include "oauth/client_auth.h"

namespace mock2ba {
namespace {

// An answer refused before any token was judged (no presented token's state to journal).
GrantResult refused(OAuthError code, std::string description, std::string username = "") {
  GrantResult result;
  result.error.emplace();
  result.error->error = code;
  result.error->description = std::move(description);
  result.error->username = std::move(username);
  return result;
}

GrantResult password_grant(const GrantInput& in) {
  const std::string* username = in.params.param("username");
  const std::string* password = in.params.find("password");  // an empty password is a password
  if (!username || !password)
    return refused(OAuthError::kInvalidRequest,
                   "The password grant needs both username and password.");
  auto user = in.users.find(*username);
  if (user == in.users.end() || !secrets_equal(*password, user->second.password)) {
    return refused(OAuthError::kInvalidGrant, "The user name or password is incorrect.", *username);
  }
  GrantResult result;
  result.tokens = in.store.issue_for_password(in.client, user->second, in.scope.value_or(""),
                                              in.scope.has_value(), in.now);
  return result;
}

GrantResult refresh_grant(const GrantInput& in) {
  const std::string* refresh_token = in.params.param("refresh_token");
  if (!refresh_token)
    return refused(OAuthError::kInvalidRequest, "The refresh_token parameter is missing.");
  return in.store.refresh(*refresh_token, in.client, in.scope, in.now);
}

GrantResult code_grant(const GrantInput& in) {
  const std::string* code = in.params.param("code");
  if (!code) return refused(OAuthError::kInvalidRequest, "The code parameter is missing.");
  return in.store.redeem_code(*code, in.client, copy_of(in.params.param("redirect_uri")),
                              copy_of(in.params.param("code_verifier")), in.now);
}

}  // namespace

const std::vector<GrantType>& grant_types() {
  static const std::vector<GrantType> kGrantTypes = {
      {"password", password_grant, false, nullptr},
      {"refresh_token", refresh_grant, true, "refresh_token_state"},
      {"authorization_code", code_grant, true, "code_state"},
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
