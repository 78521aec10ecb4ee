#include "oauth/oauth_error.h"

namespace mock2ba {
namespace {

// oauth_error_name() looks a code up by its enum value: every row must sit at its own index.
constexpr bool rows_follow_the_enum() {
  for (size_t i = 0; i < kOAuthErrors.size(); ++i) {
    if (static_cast<size_t>(kOAuthErrors[i].code) != i) return false;
  }
  return true;
}
static_assert(rows_follow_the_enum(), "kOAuthErrors must list the codes in the enum's order");
static_assert(static_cast<size_t>(OAuthError::kUnsupportedResponseType) + 1 == kOAuthErrors.size(),
              "every OAuthError needs a row in kOAuthErrors");

}  // namespace
}  // namespace mock2ba
