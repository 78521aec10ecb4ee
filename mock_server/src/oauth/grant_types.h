// The grant types the token endpoint serves: one table from which the token endpoint, fixture
// validation, discovery and the OpenAPI test read. A new grant is one handler and one row.
#ifndef MOCK2BA_GRANT_TYPES_H_
#define MOCK2BA_GRANT_TYPES_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/form.h"
#include "oauth/fixture.h"
#include "oauth/token_store.h"
#include "util/clock.h"

namespace mock2ba {

// What a grant handler is given: a token request whose client is authenticated and whose scope
// is checked against the client, with the scenario's store and the virtual time.
struct GrantInput {
  TokenStore& store;
  const std::map<std::string, User>& users;  // the fixture's, for the password grant
  const Client& client;
  const Form& params;  // the request's form; params.param() treats empty as omitted
  const std::optional<std::string>& scope;
  TimeMs now;
};

// A grant's answer: the token store's tokens or error. The token endpoint sends it and journals
// it (the presented token's state under the row's `presented_state_key`).
using GrantHandler = GrantResult (*)(const GrantInput& input);

struct GrantType {
  const char* name;         // the grant_type parameter's value
  GrantHandler handle;      // serves one request of this grant
  bool for_public_clients;  // in a public client's default grant_types
  // The journal's outcome member for the state of the token the request presents
  // ("refresh_token_state", "code_state"), or nullptr when it presents none.
  const char* presented_state_key;
};

// Every grant type, in the order messages list them.
const std::vector<GrantType>& grant_types();

// The registered grant named `name`, or nullptr.
const GrantType* find_grant_type(std::string_view name);

// "password, refresh_token or authorization_code", for messages.
std::string grant_type_names();

}  // namespace mock2ba

#endif  // MOCK2BA_GRANT_TYPES_H_
