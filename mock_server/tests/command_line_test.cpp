#include "server/command_line.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace mock2ba {
namespace {

using ::testing::HasSubstr;

std::optional<CommandLine> parse(std::vector<std::string> args, std::string* error) {
  return parse_command_line(args, "default.json", error);
}

TEST(CommandLine, Defaults) {
  std::string error;
  auto cl = parse({}, &error);
  ASSERT_TRUE(cl);
  EXPECT_EQ(cl->options.fixture_path, "default.json");
  EXPECT_EQ(cl->options.host, "127.0.0.1");
  EXPECT_EQ(cl->options.port, 8080);
  EXPECT_EQ(cl->options.log_format, LogFormat::kText);
}

TEST(CommandLine, EveryFlagInBothSpellings) {
  std::string error;
  auto cl = parse(
      {"--fixture", "f.json", "--host=::1", "--port", "0", "--tls-cert", "c.pem", "--tls-key=k.pem",
       "--admin-token", "0123456789", "--log-format", "json", "--journal-capacity", "5"},
      &error);
  ASSERT_TRUE(cl) << error;
  EXPECT_EQ(cl->options.fixture_path, "f.json");
  EXPECT_EQ(cl->options.host, "::1");
  EXPECT_EQ(cl->options.port, 0);
  EXPECT_EQ(cl->options.tls_cert, "c.pem");
  EXPECT_EQ(cl->options.tls_key, "k.pem");
  EXPECT_EQ(cl->options.admin_token, "0123456789");
  EXPECT_EQ(cl->options.log_format, LogFormat::kJson);
  EXPECT_EQ(cl->options.journal_capacity, 5u);
}

TEST(CommandLine, BadFlagsSaySpecificallyWhatIsWrong) {
  std::string error;
  EXPECT_FALSE(parse({"--prot", "1"}, &error));
  EXPECT_THAT(error, HasSubstr("unknown option '--prot'"));
  EXPECT_FALSE(parse({"--port", "70000"}, &error));
  EXPECT_THAT(error, HasSubstr("--port: expected a number from 0 to 65535"));
  EXPECT_FALSE(parse({"--port"}, &error));
  EXPECT_THAT(error, HasSubstr("--port needs a value"));
  EXPECT_FALSE(parse({"--log-format", "xml"}, &error));
  EXPECT_THAT(error, HasSubstr("--log-format"));
}

TEST(CommandLine, EmptyValuesAndRepeatsAreHandledAsBefore) {
  std::string error;
  EXPECT_FALSE(parse({"--state-file", ""}, &error));
  EXPECT_THAT(error, HasSubstr("--state-file: expected a file name"));
  EXPECT_FALSE(parse({"--https", "--https-dir", ""}, &error));
  EXPECT_THAT(error, HasSubstr("--https-dir: expected a folder"));
  EXPECT_FALSE(parse({"--prot=1"}, &error));
  EXPECT_THAT(error, HasSubstr("unknown option '--prot'"));
  EXPECT_FALSE(parse({"stray"}, &error));
  EXPECT_THAT(error, HasSubstr("unknown option 'stray'"));
  auto cl = parse({"--port", "1", "--port=2", "-h"}, &error);  // the last one wins
  ASSERT_TRUE(cl) << error;
  EXPECT_EQ(cl->options.port, 2);
  EXPECT_TRUE(cl->show_help);
  EXPECT_TRUE(cl->options.fixture_is_default);
}

TEST(CommandLine, QuietWinsOverLogFormat) {
  std::string error;
  auto cl = parse({"--quiet", "--log-format", "json"}, &error);
  ASSERT_TRUE(cl);
  EXPECT_EQ(cl->options.log_format, LogFormat::kNone);
}

TEST(CommandLine, PublicHostsRepeatAndComeFromTheEnvironmentToo) {
  ::unsetenv("TWOBA_PUBLIC_HOST");
  std::string error;
  auto cl =
      parse({"--public-host", "twoba-mock", "--public-host=mock.ci.example,[fd00::5]"}, &error);
  ASSERT_TRUE(cl) << error;
  EXPECT_EQ(cl->options.public_hosts,
            (std::vector<std::string>{"twoba-mock", "mock.ci.example", "fd00::5"}));
  ASSERT_TRUE(cl = parse({}, &error));
  EXPECT_TRUE(cl->options.public_hosts.empty());

  // The image's way: a service container takes environment variables, not arguments.
  ::setenv("TWOBA_PUBLIC_HOST", "twoba-mock,10.89.0.7", 1);
  cl = parse({}, &error);
  ASSERT_TRUE(cl) << error;
  EXPECT_EQ(cl->options.public_hosts, (std::vector<std::string>{"twoba-mock", "10.89.0.7"}));
  cl = parse({"--public-host", "other"}, &error);  // the flag wins over the variable
  ASSERT_TRUE(cl) << error;
  EXPECT_EQ(cl->options.public_hosts, (std::vector<std::string>{"other"}));
  ::setenv("TWOBA_PUBLIC_HOST", "http://twoba-mock:8080", 1);
  EXPECT_FALSE(parse({}, &error));
  EXPECT_THAT(error, HasSubstr("--public-host: expected a host name"));
  ::unsetenv("TWOBA_PUBLIC_HOST");

  for (const char* bad : {"twoba-mock:8080", "", "*", "a..b", "-x", "mock/"}) {
    EXPECT_FALSE(parse({"--public-host", bad}, &error)) << bad;
    EXPECT_THAT(error, HasSubstr("--public-host")) << bad;
  }
}

TEST(CommandLine, HelpMentionsEveryFlag) {
  std::string help = usage_text();
  for (const char* flag :
       {"--fixture", "--host", "--port", "--tls-cert", "--tls-key", "--admin-token", "--log-format",
        "--quiet", "--journal-capacity", "--threads", "--state-file", "--https", "--https-dir",
        "--control-from", "--public-host", "TWOBA_PUBLIC_HOST", "--help", "--version"}) {
    EXPECT_THAT(help, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace mock2ba
