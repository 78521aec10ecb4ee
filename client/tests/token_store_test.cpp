#include "twoba/token_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace twoba {
namespace {

class TokenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/twoba-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/sub/tokens.json";
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  static TokenSet sample(const std::string& suffix) {
    TokenSet t;
    t.access_token = "at-" + suffix;
    t.refresh_token = "rt+/=" + suffix;
    t.obtained_at = TokenTime(std::chrono::milliseconds(1'700'000'000'000));
    t.expires_in = std::chrono::hours(1);
    t.expires_at = t.obtained_at + *t.expires_in;
    return t;
  }

  static mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_mode & 0777;
  }

  std::string dir_;
  std::string path_;
};

TEST_F(TokenStoreTest, MissingStoreIsNotLoggedIn) {
  TokenStore store(path_);
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok());
  EXPECT_FALSE(loaded.value().has_value());
}

TEST_F(TokenStoreTest, SaveLoadRoundTripOwnerOnly) {
  TokenStore store(path_);
  ASSERT_TRUE(store.save(sample("1")).ok());
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded.value().has_value());
  EXPECT_EQ(loaded.value()->access_token, "at-1");
  EXPECT_EQ(loaded.value()->refresh_token, "rt+/=1");
  EXPECT_EQ(mode_of(path_), 0600u);
  EXPECT_EQ(mode_of(dir_ + "/sub"), 0700u);
  EXPECT_NE(::access((path_ + ".tmp").c_str(), F_OK), 0);  // no temporary left behind
}

TEST_F(TokenStoreTest, ReplacesByRenameNotInPlace) {
  TokenStore store(path_);
  ASSERT_TRUE(store.save(sample("1")).ok());
  struct stat before {};
  ASSERT_EQ(::stat(path_.c_str(), &before), 0);
  // A reader holding the old file keeps seeing the whole old content.
  std::ifstream reader(path_);
  ASSERT_TRUE(store.save(sample("2")).ok());
  struct stat after {};
  ASSERT_EQ(::stat(path_.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  std::string old_content((std::istreambuf_iterator<char>(reader)), {});
  EXPECT_NE(old_content.find("at-1"), std::string::npos);
  EXPECT_EQ(store.load().value()->access_token, "at-2");
}

TEST_F(TokenStoreTest, LeftoverTemporaryGetsOwnerOnlyMode) {
  TokenStore store(path_);
  ASSERT_TRUE(store.save(sample("1")).ok());
  { std::ofstream(path_ + ".tmp") << "half-written garbage"; }
  ASSERT_EQ(::chmod((path_ + ".tmp").c_str(), 0644), 0);
  ASSERT_TRUE(store.save(sample("2")).ok());
  EXPECT_EQ(mode_of(path_), 0600u);
  EXPECT_EQ(store.load().value()->access_token, "at-2");
}

TEST_F(TokenStoreTest, DamagedStoreIsAnError) {
  TokenStore store(path_);
  ASSERT_TRUE(store.save(sample("1")).ok());
  { std::ofstream(path_) << "{\"version\":1,\"acc"; }
  auto loaded = store.load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().kind, ErrorKind::kStore);
}

TEST_F(TokenStoreTest, RemoveDeletesAndToleratesAbsence) {
  TokenStore store(path_);
  ASSERT_TRUE(store.save(sample("1")).ok());
  ASSERT_TRUE(store.remove().ok());
  EXPECT_FALSE(store.load().value().has_value());
  EXPECT_TRUE(store.remove().ok());
}

TEST_F(TokenStoreTest, LockExcludesOtherHolders) {
  TokenStore store(path_);
  auto held = store.lock();
  ASSERT_TRUE(held.ok());
  // Another open file description (as another process would have) cannot take it.
  const int fd = ::open((path_ + ".lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_NE(::flock(fd, LOCK_EX | LOCK_NB), 0);
  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    auto second = store.lock();
    acquired = second.ok();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(acquired.load());
  { auto release = std::move(held).value(); }  // destroyed here: lock released
  waiter.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ::close(fd);
}

}  // namespace
}  // namespace twoba
