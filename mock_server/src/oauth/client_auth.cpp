#include "oauth/client_auth.h"

#include <openssl/crypto.h>

#include "http/form.h"
#include "util/text_util.h"

namespace mock2ba {

std::optional<BasicCredentials> parse_basic_authorization(const std::string& header,
                                                          std::string* error) {
  if (header.size() < 6 || !iequals(std::string_view(header).substr(0, 6), "basic "))
    return std::nullopt;
  std::string encoded = header.substr(6);
  while (!encoded.empty() && encoded.front() == ' ') encoded.erase(0, 1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.pop_back();
  auto decoded = base64_decode(encoded);
  if (!decoded) {
    *error = "The Basic credentials are not valid base64.";
    return std::nullopt;
  }
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) {
    *error = "The Basic credentials have no ':' between client_id and client_secret.";
    return std::nullopt;
  }
  BasicCredentials creds;
  creds.raw_client_id = decoded->substr(0, colon);
  creds.raw_client_secret = decoded->substr(colon + 1);
  // RFC 6749 §2.3.1: both parts are form-encoded before base64. A raw '%' that does not form
  // an escape means the client sent them unencoded; fall back to the raw value.
  creds.client_id = form_decode(creds.raw_client_id).value_or(creds.raw_client_id);
  creds.client_secret = form_decode(creds.raw_client_secret).value_or(creds.raw_client_secret);
  if (creds.client_id.empty()) {
    *error = "The Basic credentials have an empty client_id.";
    return std::nullopt;
  }
  return creds;
}

bool secrets_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace mock2ba
