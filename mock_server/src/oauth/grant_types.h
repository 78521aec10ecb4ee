// The grant types the token endpoint serves: one table from which the token endpoint, fixture
// validation, discovery and the OpenAPI test read. A new grant is one handler and one row.
#ifndef MOCK2BA_GRANT_TYPES_H_
#define MOCK2BA_GRANT_TYPES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/form.h"
#include "oauth/fixture.h"
#include "oauth/oauth_error.h"
#include "oauth/request_context.h"
#include "oauth/token_store.h"

namespace mock2ba {

// What a grant handler sees of a token request whose client is authenticated and whose scope
// is checked, and the two ways it can answer.
class GrantRequest {
 public:
  virtual ~GrantRequest() = default;
  // A form parameter; nullptr when absent or empty (RFC 6749 §3.1: empty means omitted).
  virtual const std::string* param(const char* name) const = 0;
  virtual const Form& form() const = 0;
  virtual const Client& client() const = 0;
  virtual const std::optional<std::string>& scope() const = 0;
  virtual RequestContext& context() = 0;
  // Replies with an RFC 6749 §5.2 error.
  virtual void error(int status, OAuthError code, const std::string& description) = 0;
  // Replies with the token store's result; `state_key` names the outcome member for the
  // presented token's state (refresh_token_state, code_state).
  virtual void finish(const GrantResult& result, const char* state_key) = 0;
  // Replies 200 with the tokens.
  virtual void succeed(const IssuedTokens& tokens) = 0;
};

struct GrantType {
  const char* name;                   // the grant_type parameter's value
  void (*handle)(GrantRequest& req);  // serves one request of this grant
  bool for_public_clients;            // in a public client's default grant_types
};

// Every grant type, in the order messages list them.
const std::vector<GrantType>& grant_types();

// The registered grant named `name`, or nullptr.
const GrantType* find_grant_type(std::string_view name);

// "password, refresh_token or authorization_code", for messages.
std::string grant_type_names();

}  // namespace mock2ba

#endif  // MOCK2BA_GRANT_TYPES_H_
