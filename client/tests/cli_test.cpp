#include "cli.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "twoba/token_store.h"

namespace twoba::cli {
namespace {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

std::string slurp(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
  std::fclose(f);
  return s;
}

Outcome run_cli(const std::vector<std::string>& args) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  const int code = run(args, out, err);
  return {code, slurp(out), slurp(err)};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name :
         {"TWOBA_TOKEN_URL", "TWOBA_CLIENT_ID", "TWOBA_STORE", "TWOBA_JSON", "TWOBA_API_BASE",
          "TWOBA_CLIENT_SECRET", "TWOBA_CLIENT_AUTH", "TWOBA_CONNECT_TIMEOUT"}) {
      ::unsetenv(name);
    }
  }
};

TEST_F(CliTest, HelpDocumentsCommandsAndExitCodes) {
  const Outcome o = run_cli({"--help"});
  EXPECT_EQ(o.code, 0);
  for (const char* word : {"login-code", "--password-stdin", "--concurrency", "TWOBA_TOKEN_URL",
                           "3 relogin required", "7 parse error", "AUTHORIZE <url>"}) {
    EXPECT_NE(o.out.find(word), std::string::npos) << word;
  }
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(run_cli({}).code, kExitUsage);
  EXPECT_EQ(run_cli({"frobnicate"}).code, kExitUsage);
  EXPECT_EQ(run_cli({"--bogus", "status"}).code, kExitUsage);
  EXPECT_EQ(run_cli({"refresh"}).code, kExitUsage);  // no token URL
  EXPECT_EQ(run_cli({"--token-url", "http://127.0.0.1:1/OAuth/Token", "--client-id", "x",
                     "--client-auth", "digest", "refresh"})
                .code,
            kExitUsage);
  EXPECT_EQ(run_cli({"--token-url=http://127.0.0.1:1/OAuth/Token", "--client-id=x", "login",
                     "--username", "u"})
                .code,
            kExitUsage);  // no password source
}

TEST_F(CliTest, VersionPrintsOneLine) {
  const Outcome o = run_cli({"--version"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out.rfind("twoba-client ", 0), 0u);
}

TEST_F(CliTest, StatusWithoutStoreIsReloginRequiredAsJson) {
  const Outcome o = run_cli({"--json", "--store", "/tmp/twoba-cli-test-none/x.json", "status"});
  EXPECT_EQ(o.code, kExitRelogin);
  EXPECT_NE(o.out.find("\"ok\":false"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\"kind\":\"relogin_required\""), std::string::npos) << o.out;
}

TEST_F(CliTest, TransportFailureExitsFour) {
  // Port 1 on loopback: nothing listens, the connection is refused.
  const Outcome o =
      run_cli({"--token-url", "http://127.0.0.1:1/OAuth/Token", "--client-id", "x",
               "--connect-timeout", "2", "login", "--username", "u", "--password", "p"});
  EXPECT_EQ(o.code, kExitTransport) << o.err;
  EXPECT_EQ(o.err.find("p\n"), std::string::npos);
}

TEST_F(CliTest, FlagWinsOverEnvironmentAndMayFollowTheCommand) {
  char pattern[] = "/tmp/twoba-cli-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  TokenSet tokens;
  tokens.access_token = "at";
  ASSERT_TRUE(TokenStore(dir + "/flag.json").save(tokens).ok());
  ASSERT_TRUE(TokenStore(dir + "/env.json").save(tokens).ok());
  ::setenv("TWOBA_STORE", (dir + "/env.json").c_str(), 1);
  const Outcome from_env = run_cli({"--json", "status"});
  const Outcome from_flag = run_cli({"status", "--store", dir + "/flag.json", "--json"});
  ::unsetenv("TWOBA_STORE");
  std::system(("rm -rf '" + dir + "'").c_str());
  EXPECT_EQ(from_env.code, 0) << from_env.err;
  EXPECT_NE(from_env.out.find("env.json"), std::string::npos) << from_env.out;
  EXPECT_EQ(from_flag.code, 0) << from_flag.err;
  EXPECT_NE(from_flag.out.find("flag.json"), std::string::npos) << from_flag.out;
  EXPECT_NE(from_flag.out.find("\"logged_in\":true"), std::string::npos) << from_flag.out;
}

TEST_F(CliTest, BadEnvironmentValuesAreUsageErrors) {
  ::setenv("TWOBA_CLIENT_AUTH", "digest", 1);
  EXPECT_EQ(run_cli({"status"}).code, kExitUsage);
  ::unsetenv("TWOBA_CLIENT_AUTH");
  ::setenv("TWOBA_CONNECT_TIMEOUT", "0", 1);
  EXPECT_EQ(run_cli({"status"}).code, kExitUsage);
  ::unsetenv("TWOBA_CONNECT_TIMEOUT");
}

TEST_F(CliTest, CommandOptionsBelongToTheirCommand) {
  const Outcome o =
      run_cli({"--store", "/tmp/twoba-cli-test-none/x.json", "status", "--concurrency", "2"});
  EXPECT_EQ(o.code, kExitUsage) << o.err;
  EXPECT_NE(run_cli({"frobnicate"}).err.find("unknown command frobnicate"), std::string::npos);
}

TEST(ExitCodes, MapEachErrorKind) {
  EXPECT_EQ(exit_code_for(Error::relogin_required("")), 3);
  EXPECT_EQ(exit_code_for(Error::transport("")), 4);
  EXPECT_EQ(exit_code_for(Error::http(503, "")), 5);
  EXPECT_EQ(exit_code_for(Error::oauth("", 500, "server_error")), 5);
  EXPECT_EQ(exit_code_for(Error::oauth("", 401, "invalid_client")), 6);
  EXPECT_EQ(exit_code_for(Error::http(404, "")), 6);
  EXPECT_EQ(exit_code_for(Error::parse("")), 7);
  EXPECT_EQ(exit_code_for(Error::invalid_argument("")), 2);
}

}  // namespace
}  // namespace twoba::cli
