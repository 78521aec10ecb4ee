#include "oauth/client_auth.h"

#include <gtest/gtest.h>

#include "util/text_util.h"

namespace mock2ba {
namespace {

TEST(BasicAuthorization, DecodesFormEncodedParts) {
  // RFC 6749 §2.3.1: id and secret are form-encoded, then base64-encoded.
  std::string header = "Basic " + base64_encode("my%2Bclient:s%2Fcr%3At");
  std::string error;
  auto creds = parse_basic_authorization(header, &error);
  ASSERT_TRUE(creds) << error;
  EXPECT_EQ(creds->client_id, "my+client");
  EXPECT_EQ(creds->client_secret, "s/cr:t");
  EXPECT_EQ(creds->raw_client_secret, "s%2Fcr%3At");
}

TEST(BasicAuthorization, SchemeIsCaseInsensitive) {
  std::string error;
  EXPECT_TRUE(parse_basic_authorization("bAsIc " + base64_encode("a:b"), &error));
}

TEST(BasicAuthorization, NotBasicIsNotAnError) {
  std::string error;
  EXPECT_FALSE(parse_basic_authorization("Bearer abc", &error));
  EXPECT_TRUE(error.empty());
}

TEST(BasicAuthorization, RejectsBadBase64AndMissingColon) {
  std::string error;
  EXPECT_FALSE(parse_basic_authorization("Basic !!!", &error));
  EXPECT_NE(error.find("base64"), std::string::npos);
  error.clear();
  EXPECT_FALSE(parse_basic_authorization("Basic " + base64_encode("nocolon"), &error));
  EXPECT_NE(error.find(":"), std::string::npos);
}

TEST(SecretsEqual, ComparesWholeValues) {
  EXPECT_TRUE(secrets_equal("demo-secret", "demo-secret"));
  EXPECT_FALSE(secrets_equal("demo-secret", "demo-secreT"));
  EXPECT_FALSE(secrets_equal("demo", "demo-secret"));
}

}  // namespace
}  // namespace mock2ba
