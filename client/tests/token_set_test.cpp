#include "twoba/token_set.h"

#include <gtest/gtest.h>

namespace twoba {
namespace {

using namespace std::chrono_literals;

constexpr TokenTime kT0{1'700'000'000'000ms};

TEST(TokenResponse, ParsesAStandardReply) {
  auto r = parse_token_response(
      R"({"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","scope":"openid"})",
      kT0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->access_token, "at");
  EXPECT_EQ(r->refresh_token, "rt");
  EXPECT_EQ(r->expires_in, 3600s);
  EXPECT_EQ(r->expires_at, kT0 + 3600s);
  EXPECT_EQ(r->obtained_at, kT0);
  EXPECT_EQ(r->scope, "openid");
}

TEST(TokenResponse, TokenTypeIsCaseInsensitiveAndUnknownFieldsIgnored) {
  for (const char* type : {"bearer", "BEARER", "Bearer", "bEaReR"}) {
    auto r = parse_token_response(std::string(R"({"access_token":"a","token_type":")") + type +
                                      R"(",".issued":"x","userName":"demo","x":{"y":[1]}})",
                                  kT0);
    ASSERT_TRUE(r.ok()) << type;
  }
}

TEST(TokenResponse, RejectsTokenTypesItDoesNotUnderstand) {
  auto r = parse_token_response(R"({"access_token":"a","token_type":"mac"})", kT0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kOAuth);
}

TEST(TokenResponse, ExpiresInAsStringOrMissing) {
  auto s = parse_token_response(R"({"access_token":"a","expires_in":"300"})", kT0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->expires_in, 300s);
  auto m = parse_token_response(R"({"access_token":"a"})", kT0);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->expires_in.has_value());
  EXPECT_FALSE(m->expires_at.has_value());
}

TEST(TokenResponse, MalformedRepliesAreParseErrors) {
  for (const char* body : {"", "not json", "[1,2]", R"({"token_type":"Bearer"})",
                           R"({"access_token":42})", R"({"access_token":"a")"}) {
    auto r = parse_token_response(body, kT0);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().kind, ErrorKind::kParse) << body;
  }
}

TEST(TokenErrorReply, ClassifiesOAuthAndPlainHttpErrors) {
  const Error oauth = token_error_from_reply(
      400, R"({"error":"invalid_grant","error_description":"refresh token expired"})");
  EXPECT_EQ(oauth.kind, ErrorKind::kOAuth);
  EXPECT_EQ(oauth.oauth_code, "invalid_grant");
  EXPECT_EQ(oauth.http_status, 400);
  EXPECT_NE(oauth.message.find("refresh token expired"), std::string::npos);
  const Error bare = token_error_from_reply(503, "");
  EXPECT_EQ(bare.kind, ErrorKind::kHttp);
  EXPECT_EQ(bare.http_status, 503);
  EXPECT_TRUE(bare.oauth_code.empty());
}

TEST(RefreshMargin, IsAMinuteOrHalfTheLifetime) {
  EXPECT_EQ(refresh_margin(3600s, 60s), 60s);
  EXPECT_EQ(refresh_margin(120s, 60s), 60s);
  EXPECT_EQ(refresh_margin(100s, 60s), 50s);
  EXPECT_EQ(refresh_margin(5s, 60s), 2500ms);
  EXPECT_EQ(refresh_margin(0s, 60s), 0ms);
}

TEST(RefreshMargin, ShortLifetimeCannotLoop) {
  // With expires_in = 5 a fixed 60 s margin would call every fresh token expired, refreshing on
  // every call. Half the lifetime keeps a fresh token usable for 2.5 s.
  auto fresh = parse_token_response(R"({"access_token":"a","expires_in":5})", kT0);
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(needs_refresh(*fresh, kT0, 60s));
  EXPECT_FALSE(needs_refresh(*fresh, kT0 + 2499ms, 60s));
  EXPECT_TRUE(needs_refresh(*fresh, kT0 + 2500ms, 60s));
}

TEST(RefreshMargin, LongLifetimeRefreshesAMinuteEarly) {
  auto t = parse_token_response(R"({"access_token":"a","expires_in":3600})", kT0);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(needs_refresh(*t, kT0 + 3539999ms, 60s));
  EXPECT_TRUE(needs_refresh(*t, kT0 + 3540s, 60s));
}

TEST(RefreshMargin, WithoutExpiresInOnlyTheServerSaysWhen) {
  auto t = parse_token_response(R"({"access_token":"a"})", kT0);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(needs_refresh(*t, kT0 + 365 * 24h, 60s));
  EXPECT_TRUE(needs_refresh(TokenSet{}, kT0, 60s));  // no access token at all
}

TEST(MergeRefreshed, KeepsTheOldRefreshTokenWhenNoneComes) {
  TokenSet old;
  old.refresh_token = "rt-1";
  old.scope = "openid offline_access";
  TokenSet reply;
  reply.access_token = "at-2";
  const TokenSet kept = merge_refreshed(old, reply);
  EXPECT_EQ(kept.refresh_token, "rt-1");
  EXPECT_EQ(kept.scope, "openid offline_access");
  reply.refresh_token = "rt-2";
  EXPECT_EQ(merge_refreshed(old, reply).refresh_token, "rt-2");
}

TEST(StoreJson, RoundTripsHostileTokensByteForByte) {
  TokenSet t;
  t.access_token = std::string(4096, '+') + "/=é€\"\\\n";
  t.refresh_token = "ab+/==";
  t.token_type = "bearer";
  t.expires_in = 5s;
  t.expires_at = kT0 + 5s;
  t.obtained_at = kT0;
  const std::string stored = to_store_json(t);
  // The file keeps unix milliseconds and seconds, as stores written by earlier versions do.
  EXPECT_NE(stored.find(R"("expires_at_ms": 1700000005000)"), std::string::npos) << stored;
  EXPECT_NE(stored.find(R"("obtained_at_ms": 1700000000000)"), std::string::npos) << stored;
  EXPECT_NE(stored.find(R"("expires_in": 5)"), std::string::npos) << stored;
  auto back = from_store_json(stored);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->access_token, t.access_token);
  EXPECT_EQ(back->refresh_token, t.refresh_token);
  EXPECT_EQ(back->token_type, "bearer");
  EXPECT_EQ(back->expires_in, 5s);
  EXPECT_EQ(back->expires_at, kT0 + 5s);
  EXPECT_EQ(back->obtained_at, kT0);
  EXPECT_FALSE(from_store_json("{\"version\":2}").ok());
  EXPECT_FALSE(from_store_json("{\"version\":1,\"access").ok());
}

}  // namespace
}  // namespace twoba
