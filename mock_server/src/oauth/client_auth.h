// Client authentication at the token endpoint: HTTP Basic (RFC 6749 §2.3.1) or body parameters.
#ifndef MOCK2BA_CLIENT_AUTH_H_
#define MOCK2BA_CLIENT_AUTH_H_

#include <array>
#include <cstddef>
#include <optional>
#include <string>

namespace mock2ba {

// How a client authenticated at the token endpoint (RFC 8414's names): discovery lists them
// all, the journal records the one used.
enum class ClientAuthMethod { kSecretPost, kSecretBasic, kNone };

// The methods' names in the order of the enum, which is the order discovery lists them.
inline constexpr std::array<const char*, 3> kClientAuthMethodNames = {
    "client_secret_post", "client_secret_basic", "none"};

// The method's name, e.g. "client_secret_basic".
constexpr const char* client_auth_method_name(ClientAuthMethod method) {
  return kClientAuthMethodNames[static_cast<size_t>(method)];
}

struct BasicCredentials {
  std::string client_id;
  std::string client_secret;
  // The same pair without form-decoding: clients that skip RFC 6749 App. B send this.
  std::string raw_client_id;
  std::string raw_client_secret;
};

// Decodes an Authorization header value of scheme Basic. Returns nullopt when the header is not
// Basic; sets *error (and returns nullopt) when it is Basic but malformed.
std::optional<BasicCredentials> parse_basic_authorization(const std::string& header,
                                                          std::string* error);

// Constant-time comparison of secrets (no early exit on the first differing byte).
bool secrets_equal(const std::string& a, const std::string& b);

}  // namespace mock2ba

#endif  // MOCK2BA_CLIENT_AUTH_H_
