// The OAuth error table against the document: the codes sent as JSON are exactly the documented
// ones.
#include "oauth/oauth_error.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "openapi_document.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using testing::document;

// The OAuth error table's JSON codes are exactly the document's OAuthError enum.
TEST(OAuthErrorTable, TheDocumentListsExactlyTheCodesSentAsJson) {
  json doc = document();
  std::set<std::string> documented;
  for (const auto& code : doc["components"]["schemas"]["OAuthError"]["properties"]["error"]["enum"])
    documented.insert(code.get<std::string>());
  std::set<std::string> sent_as_json;
  for (const OAuthErrorCode& code : kOAuthErrors) {
    if (code.json_body) sent_as_json.insert(code.name);
  }
  EXPECT_EQ(documented, sent_as_json);
  EXPECT_STREQ(oauth_error_name(OAuthError::kInvalidGrant), "invalid_grant");
}

}  // namespace
}  // namespace mock2ba
