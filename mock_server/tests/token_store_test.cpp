#include "oauth/token_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "control/state_file.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;

constexpr TimeMs kT0 = 1'800'000'000'000;

class TokenStoreTest : public ::testing::Test {
 protected:
  void load(const json& policy, const json& extra = json::object()) {
    json doc = {{"policy", policy},
                {"clients",
                 {{{"client_id", "c"}, {"client_secret", "s"}},
                  {{"client_id", "other"}, {"client_secret", "s"}},
                  {{"client_id", "pub"}}}},
                {"users",
                 {{{"username", "u"}, {"password", "p"}}, {{"username", "v"}, {"password", "p"}}}}};
    doc.update(extra);
    fixture_ = std::make_shared<const Fixture>(parse_fixture(doc, "test.json"));
    store_ = std::make_unique<TokenStore>(fixture_);
  }
  void SetUp() override { load(json::object()); }

  IssuedTokens login(const std::string& user = "u", TimeMs now = kT0,
                     const std::string& scope = "") {
    return store_->issue_for_password(client("c"), fixture_->users.at(user), scope, !scope.empty(),
                                      now);
  }
  const Client& client(const std::string& id) { return fixture_->clients.at(id); }
  GrantResult refresh(const std::string& token, TimeMs now, const std::string& client_id = "c") {
    return store_->refresh(token, client(client_id), std::nullopt, now);
  }

  std::shared_ptr<const Fixture> fixture_;
  std::unique_ptr<TokenStore> store_;
};

TEST_F(TokenStoreTest, LoginIssuesOpaqueUrlSafeTokens) {
  IssuedTokens t = login();
  EXPECT_EQ(t.access_token.size(), 43u);
  ASSERT_TRUE(t.refresh_token);
  EXPECT_NE(*t.refresh_token, t.access_token);
  EXPECT_EQ(t.access_token.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_EQ(t.expires_in, 3600);
  EXPECT_EQ(store_->check_access(t.access_token, kT0).state, TokenState::kActive);
  EXPECT_EQ(store_->check_access(t.access_token, kT0 + 3600'000).state, TokenState::kExpired);
  EXPECT_EQ(store_->check_access("nope", kT0).state, TokenState::kUnknown);
}

TEST_F(TokenStoreTest, RefreshRotatesAndRejectsReuse) {
  IssuedTokens t = login();
  GrantResult r = refresh(*t.refresh_token, kT0 + 1000);
  ASSERT_TRUE(r.tokens);
  ASSERT_TRUE(r.tokens->refresh_token);
  EXPECT_NE(*r.tokens->refresh_token, *t.refresh_token);
  EXPECT_EQ(store_->refresh_state(*t.refresh_token, kT0 + 1000), TokenState::kRotated);

  GrantResult reuse = refresh(*t.refresh_token, kT0 + 2000);
  ASSERT_TRUE(reuse.error);
  EXPECT_EQ(std::string(oauth_error_name(reuse.error->error)), "invalid_grant");
  EXPECT_EQ(reuse.error->state, TokenState::kRotated);
  // The default policy rejects the reuse but leaves the newest token working.
  EXPECT_TRUE(refresh(*r.tokens->refresh_token, kT0 + 3000).tokens);
}

TEST_F(TokenStoreTest, ReuseCanRevokeTheWholeGrant) {
  load({{"reuse", "revoke_grant"}});
  IssuedTokens t = login();
  GrantResult r = refresh(*t.refresh_token, kT0);
  ASSERT_TRUE(r.tokens);
  EXPECT_TRUE(refresh(*t.refresh_token, kT0).error);
  EXPECT_EQ(store_->refresh_state(*r.tokens->refresh_token, kT0), TokenState::kRevoked);
  EXPECT_EQ(store_->check_access(r.tokens->access_token, kT0).state, TokenState::kRevoked);
  GrantResult after = refresh(*r.tokens->refresh_token, kT0);
  ASSERT_TRUE(after.error);
  EXPECT_EQ(after.error->state, TokenState::kRevoked);
}

TEST_F(TokenStoreTest, GraceWindowAcceptsAReuseBriefly) {
  load({{"reuse", "grace"}, {"reuse_grace_period", 30}});
  IssuedTokens t = login();
  GrantResult first = refresh(*t.refresh_token, kT0);
  ASSERT_TRUE(first.tokens);
  GrantResult again = refresh(*t.refresh_token, kT0 + 10'000);
  ASSERT_TRUE(again.tokens) << again.error->description;
  EXPECT_EQ(again.tokens->presented_state, TokenState::kRotated);
  // The successor handed out first is superseded by the second one.
  EXPECT_EQ(store_->refresh_state(*first.tokens->refresh_token, kT0 + 10'000),
            TokenState::kRotated);
  EXPECT_TRUE(refresh(*t.refresh_token, kT0 + 31'000).error);
}

TEST_F(TokenStoreTest, AbsoluteAndIdleExpiry) {
  load({{"refresh_token_lifetime", 100}, {"refresh_token_idle_lifetime", 30}});
  IssuedTokens t = login();
  GrantResult idle = refresh(*t.refresh_token, kT0 + 31'000);
  ASSERT_TRUE(idle.error);
  EXPECT_EQ(idle.error->state, TokenState::kExpired);

  IssuedTokens u = login("u", kT0);
  auto r1 = refresh(*u.refresh_token, kT0 + 20'000);
  ASSERT_TRUE(r1.tokens);
  auto r2 = refresh(*r1.tokens->refresh_token, kT0 + 40'000);  // used within 30 s: still alive
  ASSERT_TRUE(r2.tokens);
  auto dead = refresh(*r2.tokens->refresh_token, kT0 + 40'000 + 100'000);
  ASSERT_TRUE(dead.error);
  EXPECT_EQ(dead.error->description, "The refresh token has expired.");
}

TEST_F(TokenStoreTest, ZeroRefreshLifetimeMeansNeverExpires) {
  load({{"refresh_token_lifetime", 0}});
  IssuedTokens t = login();
  EXPECT_TRUE(refresh(*t.refresh_token, kT0 + 10LL * 365 * 24 * 3600'000).tokens);
}

TEST_F(TokenStoreTest, ScheduleKillsTheThirdRefreshToken) {
  load(json::object(),
       {{"schedules", {{{"token", "refresh_token"}, {"from", 3}, {"lifetime", 0}}}}});
  IssuedTokens t = login();                  // refresh token #1
  auto r1 = refresh(*t.refresh_token, kT0);  // #2
  ASSERT_TRUE(r1.tokens);
  auto r2 = refresh(*r1.tokens->refresh_token, kT0);  // #3, born expired
  ASSERT_TRUE(r2.tokens);
  auto r3 = refresh(*r2.tokens->refresh_token, kT0);
  ASSERT_TRUE(r3.error);
  EXPECT_EQ(r3.error->state, TokenState::kExpired);
}

TEST_F(TokenStoreTest, PerUserScheduleCountsAcrossGrants) {
  load(
      json::object(),
      {{"schedules", {{{"token", "access_token"}, {"per", "user"}, {"nth", 2}, {"lifetime", 7}}}}});
  EXPECT_EQ(login("u").expires_in, 3600);
  EXPECT_EQ(login("u").expires_in, 7);
  EXPECT_EQ(login("v").expires_in, 3600);  // another user has its own count
  EXPECT_EQ(login("u").expires_in, 3600);
}

TEST_F(TokenStoreTest, RefreshTokenIsBoundToItsClient) {
  IssuedTokens t = login();
  auto r = refresh(*t.refresh_token, kT0, "other");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(std::string(oauth_error_name(r.error->error)), "invalid_grant");
  EXPECT_TRUE(refresh(*t.refresh_token, kT0).tokens);  // the failed attempt did not consume it
}

TEST_F(TokenStoreTest, NoRotationKeepsTheTokenAndCanOmitIt) {
  load({{"rotate_refresh_tokens", false}, {"return_refresh_token_on_refresh", false}});
  IssuedTokens t = login();
  auto r1 = refresh(*t.refresh_token, kT0);
  ASSERT_TRUE(r1.tokens);
  EXPECT_FALSE(r1.tokens->refresh_token);
  EXPECT_TRUE(refresh(*t.refresh_token, kT0 + 1000).tokens);
}

TEST_F(TokenStoreTest, ScopeWithoutOfflineAccessGetsNoRefreshToken) {
  EXPECT_FALSE(login("u", kT0, "openid unifeed").refresh_token);
  EXPECT_TRUE(login("u", kT0, "openid offline_access").refresh_token);
  auto t = login("u", kT0, "openid offline_access");
  auto widened = store_->refresh(*t.refresh_token, client("c"), std::string("apix"), kT0);
  ASSERT_TRUE(widened.error);
  EXPECT_EQ(std::string(oauth_error_name(widened.error->error)), "invalid_scope");
}

TEST_F(TokenStoreTest, CodesAreSingleUseAndReuseRevokes) {
  CodeRequest req{"c", "u", "http://127.0.0.1:9/cb", "", false, "", ""};
  auto [code, expires] = store_->create_code(req, kT0);
  EXPECT_EQ(expires, kT0 + 300'000);
  auto first = store_->redeem_code(code, client("c"), std::string("http://127.0.0.1:9/cb"),
                                   std::nullopt, kT0);
  ASSERT_TRUE(first.tokens);
  auto second = store_->redeem_code(code, client("c"), std::string("http://127.0.0.1:9/cb"),
                                    std::nullopt, kT0);
  ASSERT_TRUE(second.error);
  EXPECT_EQ(std::string(oauth_error_name(second.error->error)), "invalid_grant");
  EXPECT_EQ(store_->check_access(first.tokens->access_token, kT0).state, TokenState::kRevoked);
}

TEST_F(TokenStoreTest, CodeChecksClientRedirectExpiryAndPkce) {
  const std::string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";  // RFC 7636 App. B
  CodeRequest req{"pub", "u",   "http://127.0.0.1/cb",
                  "",    false, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                  "S256"};
  auto redeem = [&](const std::string& client_id, std::optional<std::string> redirect,
                    std::optional<std::string> v, TimeMs now) {
    auto [code, expires] = store_->create_code(req, kT0);
    return store_->redeem_code(code, client(client_id), redirect, v, now);
  };
  const std::string redirect = "http://127.0.0.1/cb";
  EXPECT_TRUE(redeem("c", redirect, verifier, kT0).error);                    // another client
  EXPECT_TRUE(redeem("pub", std::string("http://x/"), verifier, kT0).error);  // other redirect
  EXPECT_TRUE(redeem("pub", std::nullopt, verifier, kT0).error);              // redirect missing
  EXPECT_TRUE(redeem("pub", redirect, std::nullopt, kT0).error);              // verifier missing
  EXPECT_TRUE(redeem("pub", redirect, std::string(43, 'w'), kT0).error);      // wrong verifier
  EXPECT_TRUE(redeem("pub", redirect, std::string("short"), kT0).error);      // bad syntax
  EXPECT_TRUE(redeem("pub", redirect, verifier, kT0 + 300'000).error);        // expired
  auto ok = redeem("pub", redirect, verifier, kT0);
  EXPECT_TRUE(ok.tokens) << (ok.error ? ok.error->description : "");
  req.code_challenge_method = "plain";
  req.code_challenge = verifier;
  EXPECT_TRUE(redeem("pub", redirect, verifier, kT0).tokens);
  EXPECT_TRUE(redeem("pub", redirect, std::string(43, 'w'), kT0).error);
}

TEST_F(TokenStoreTest, RevokeAndExpireBySelector) {
  IssuedTokens a = login("u");
  IssuedTokens b = login("v");
  TokenSelector by_user;
  by_user.user = "u";
  EXPECT_EQ(store_->revoke(by_user, kT0), 2);
  EXPECT_EQ(store_->check_access(a.access_token, kT0).state, TokenState::kRevoked);
  EXPECT_EQ(store_->check_access(b.access_token, kT0).state, TokenState::kActive);
  TokenSelector by_token;
  by_token.token = *b.refresh_token;
  EXPECT_EQ(store_->expire(by_token, kT0), 1);
  EXPECT_EQ(store_->refresh_state(*b.refresh_token, kT0), TokenState::kExpired);
  EXPECT_EQ(store_->check_access(b.access_token, kT0).state, TokenState::kActive);
}

TEST_F(TokenStoreTest, PurgeBoundsMemoryUnderSustainedLoad) {
  load({{"access_token_lifetime", 1}, {"refresh_token_lifetime", 2}});
  TimeMs now = kT0;
  for (int i = 0; i < 50'000; ++i) {
    now += 100;  // 10 issuances per virtual second
    login("u", now);
  }
  // Only tokens within their lifetime plus the retention window remain.
  EXPECT_LT(store_->access_token_count(), 10'000u);
  EXPECT_LT(store_->grant_count(), 10'000u);
  store_->purge(now + 3600'000);
  EXPECT_EQ(store_->access_token_count(), 0u);
  EXPECT_EQ(store_->refresh_token_count(), 0u);
  EXPECT_EQ(store_->grant_count(), 0u);
}

TEST_F(TokenStoreTest, ConcurrentRefreshesOfOneTokenHaveExactlyOneWinner) {
  for (int round = 0; round < 20; ++round) {
    IssuedTokens t = login();
    std::atomic<int> wins{0}, invalid_grants{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&] {
        auto r = refresh(*t.refresh_token, kT0);
        if (r.tokens) ++wins;
        if (r.error && std::string(oauth_error_name(r.error->error)) == "invalid_grant")
          ++invalid_grants;
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wins.load(), 1);
    EXPECT_EQ(invalid_grants.load(), 15);
  }
}

TEST_F(TokenStoreTest, HostileTokensAreLongAndFullOfSpecials) {
  load({{"token_format", "hostile"}});
  IssuedTokens t = login();
  EXPECT_GE(t.access_token.size(), 2048u);
  EXPECT_LE(t.access_token.size(), 4096u);
  for (char c : {'+', '/', '='}) EXPECT_NE(t.access_token.find(c), std::string::npos) << c;
  EXPECT_TRUE(refresh(*t.refresh_token, kT0).tokens);
}

TEST_F(TokenStoreTest, DescribeListsGrantsWithStates) {
  IssuedTokens t = login();
  refresh(*t.refresh_token, kT0);
  json d = store_->describe(std::nullopt, std::nullopt, kT0);
  ASSERT_EQ(d["grants"].size(), 1u);
  const json& g = d["grants"][0];
  EXPECT_EQ(g["username"], "u");
  EXPECT_EQ(g["refreshes"], 1);
  ASSERT_EQ(g["refresh_tokens"].size(), 2u);
  EXPECT_EQ(g["refresh_tokens"][0]["state"], "rotated");
  EXPECT_EQ(g["refresh_tokens"][1]["state"], "active");
  EXPECT_TRUE(store_->describe(std::string("v"), std::nullopt, kT0)["grants"].empty());
}

// What --state-file keeps, in the shape a snapshot has, with the grants in id order.
json persisted(TokenStore& store, TimeMs now) {
  std::string text;
  store.write_snapshot(text, now);
  json snapshot = json::parse(text);
  std::sort(snapshot["grants"].begin(), snapshot["grants"].end(),
            [](const json& a, const json& b) { return a["id"] < b["id"]; });
  return snapshot;
}

// --state-file appends what changed and now and then compacts into a new snapshot: a store
// read back from the file (the snapshot, then each line) is the store that wrote it.
TEST_F(TokenStoreTest, StateFileLinesAndCompactionsRestoreTheSameStore) {
  std::string dir = std::filesystem::temp_directory_path() / "token-store-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/state.json";
  std::atomic<TimeMs> now{kT0};
  auto follow = [&](uint64_t min_compaction_bytes) {
    return std::make_unique<StateFile>(
        path,
        [&] {
          std::string out;
          store_->write_snapshot(out, now);
          return out;
        },
        [&]() -> std::optional<std::string> {
          std::string out;
          if (!store_->write_changes(out, now)) return std::nullopt;
          return out;
        },
        min_compaction_bytes);
  };
  auto expect_file_restores_the_store = [&] {
    auto contents = StateFile::read(path);
    ASSERT_TRUE(contents);
    EXPECT_FALSE(contents->changes.empty());
    TokenStore restored(fixture_);
    restored.restore(contents->snapshot);
    for (const auto& change : contents->changes) restored.apply_changes(change);
    json expected = persisted(*store_, now);
    EXPECT_EQ(persisted(restored, now), expected);
    // Nothing more than the file meant to keep came back (a rotated token the snapshot leaves
    // out, an expired one purged since). The clock below stays within the 5 minutes a token
    // expired by the control API is kept, except where purging makes memory forget it too.
    EXPECT_EQ(restored.refresh_token_count(), expected["refresh"].size());
    EXPECT_EQ(restored.access_token_count(), expected["access"].size());
  };

  auto file = follow(4096);
  file->commit();
  std::vector<std::string> refresh_tokens;
  for (int i = 0; i < 300; ++i) {
    now += 500;
    switch (i % 6) {
      case 0:
        refresh_tokens.push_back(*login(i % 12 ? "u" : "v", now).refresh_token);
        break;
      case 1:
      case 2: {
        auto next = refresh(refresh_tokens.back(), now);
        ASSERT_TRUE(next.tokens) << next.error->description;
        refresh_tokens.back() = *next.tokens->refresh_token;
        break;
      }
      case 3:
        store_->revoke(TokenSelector{refresh_tokens[refresh_tokens.size() / 2], {}, {}, {}}, now);
        break;
      case 4: {
        CodeRequest request{"c", "u", "http://127.0.0.1:9/cb", "", false, "", ""};
        auto [code, expires] = store_->create_code(request, now);
        if (i % 12 == 4) store_->redeem_code(code, client("c"), request.redirect_uri, {}, now);
        break;
      }
      case 5:
        store_->expire(TokenSelector{{}, {}, {}, uint64_t(i / 6)}, now);
        break;
    }
    file->commit();
  }
  EXPECT_GT(file->snapshots(), 3u) << "the lines were never compacted";
  EXPECT_GT(file->writes(), 2 * file->snapshots()) << "changes were not appended";
  file.reset();
  expect_file_restores_the_store();

  // A grant refreshed many times: each line adds only its new access tokens, unless an older
  // one changed (here no compaction follows, so only the lines tell).
  file = follow(uint64_t{1} << 40);
  file->commit();
  IssuedTokens chain = login("u", now);
  file->commit();
  for (int i = 0; i < 20; ++i) {
    now += 10;
    auto next = refresh(*chain.refresh_token, now);
    ASSERT_TRUE(next.tokens);
    if (i == 10) store_->revoke(TokenSelector{chain.access_token, {}, {}, {}}, now);
    chain.refresh_token = next.tokens->refresh_token;
    file->commit();
  }
  EXPECT_EQ(file->snapshots(), 1u);
  expect_file_restores_the_store();

  // Purging in memory reaches the file as lines too.
  now += 2 * 3600 * 1000;  // every access token so far expires and is purged at the next issue
  login("u", now);
  file->commit();
  EXPECT_EQ(file->snapshots(), 1u);
  file.reset();
  expect_file_restores_the_store();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mock2ba
