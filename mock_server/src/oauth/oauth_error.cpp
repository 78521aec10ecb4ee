#include "oauth/oauth_error.h"

namespace mock2ba {
namespace {

// A missing row leaves a default one behind ({kInvalidRequest, nullptr}): it sits at the wrong
// index, or has no name.
constexpr bool every_row_is_named() {
  for (const OAuthErrorCode& row : kOAuthErrors) {
    if (row.name == nullptr) return false;
  }
  return true;
}
static_assert(every_row_is_named(), "every OAuthError needs a row in kOAuthErrors");

// oauth_error_name() looks a code up by its enum value: every row must sit at its own index.
constexpr bool rows_follow_the_enum() {
  for (size_t i = 0; i < kOAuthErrors.size(); ++i) {
    if (kOAuthErrors[i].name != nullptr && static_cast<size_t>(kOAuthErrors[i].code) != i)
      return false;
  }
  return true;
}
static_assert(rows_follow_the_enum(), "kOAuthErrors must list the codes in the enum's order");

}  // namespace
}  // namespace mock2ba
