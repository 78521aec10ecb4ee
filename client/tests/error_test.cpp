#include "twoba/error.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace twoba {
namespace {

TEST(ErrorFactories, SetKindStatusAndCodeAndMatchTheirPredicate) {
  const Error relogin = Error::relogin_required("refresh token rejected", 400, "invalid_grant");
  EXPECT_EQ(relogin.kind, ErrorKind::kReloginRequired);
  EXPECT_TRUE(relogin.is_relogin_required());
  EXPECT_FALSE(relogin.is_oauth());
  EXPECT_EQ(relogin.http_status, 400);
  EXPECT_EQ(relogin.oauth_code, "invalid_grant");
  EXPECT_EQ(relogin.message, "refresh token rejected");

  const Error http = Error::http(503, "busy");
  EXPECT_TRUE(http.is_http());
  EXPECT_EQ(http.http_status, 503);
  EXPECT_TRUE(http.oauth_code.empty());

  EXPECT_TRUE(Error::transport("x").is_transport());
  EXPECT_TRUE(Error::oauth("x", 401, "invalid_client").is_oauth());
  EXPECT_TRUE(Error::parse("x").is_parse());
  EXPECT_TRUE(Error::store("x").is_store());
  EXPECT_TRUE(Error::invalid_argument("x").is_invalid_argument());
  EXPECT_FALSE(Error::invalid_argument("x").is_transport());
}

TEST(ErrorFactories, DescribeNamesKindStatusAndCode) {
  EXPECT_EQ(describe(Error::oauth("token endpoint: invalid_grant", 400, "invalid_grant")),
            "oauth: token endpoint: invalid_grant (HTTP 400, invalid_grant)");
  EXPECT_EQ(describe(Error::transport("refused")), "transport: refused");
}

struct Pair {
  int status = 0;
  std::string body;
};

TEST(ResultAccess, StarArrowAndValueOr) {
  Result<Pair> ok = Pair{200, "hello"};
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ((*ok).body, "hello");
  ok->body += "!";
  EXPECT_EQ(ok.value().body, "hello!");
  EXPECT_EQ(ok.value_or(Pair{0, "fallback"}).body, "hello!");

  const Result<Pair> failed = Error::transport("down");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.value_or(Pair{0, "fallback"}).body, "fallback");
  EXPECT_TRUE(failed.error().is_transport());
}

TEST(ResultAccess, MovesOutOfAnRvalue) {
  Result<std::unique_ptr<int>> owned = std::make_unique<int>(7);
  std::unique_ptr<int> taken = *std::move(owned);
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 7);
  Result<std::unique_ptr<int>> none = Error::store("gone");
  EXPECT_EQ(std::move(none).value_or(nullptr), nullptr);
}

}  // namespace
}  // namespace twoba
