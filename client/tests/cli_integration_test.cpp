// The twoba-client executable against the real mock server.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "mock_process.h"
#include "twoba/authorization.h"
#include "twoba/encoding.h"
#include "url.h"

namespace twoba {
namespace {

using testing::CliRun;
using testing::form_value;
using testing::json;
using testing::MockServer;
using testing::run_cli;
using testing::Subprocess;
using testing::TempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CliIntegrationTest : public ::testing::Test {
 protected:
  std::string store() const { return dir_.path() + "/state/tokens.json"; }
  std::vector<std::string> env(const MockServer& mock) const {
    return testing::demo_env(mock, store());
  }
  CliRun login(const MockServer& mock) const {
    return run_cli({"--json", "login", "--username", "demo", "--password-stdin"}, env(mock),
                   "demo\n");
  }

  TempDir dir_;
};

TEST_F(CliIntegrationTest, LoginCallRefreshStatusLogout) {
  MockServer mock;
  const CliRun in =
      run_cli({"--json", "login", "--username", "demo", "--password-stdin"}, env(mock), "demo\n");
  ASSERT_EQ(in.code, 0) << in.err;
  const json result = json::parse(in.out);
  EXPECT_EQ(result["ok"], true);
  EXPECT_EQ(result["expires_in"], 3600);
  EXPECT_EQ(slurp(store()).find("\"demo\""), std::string::npos) << "password stored";

  const CliRun call =
      run_cli({"call", "/Product/DetailsForProduct?gtin=08711893010011"}, env(mock));
  ASSERT_EQ(call.code, 0) << call.err;
  EXPECT_EQ(json::parse(call.out)["GTIN"], "08711893010011");

  const std::string before = json::parse(slurp(store()))["refresh_token"];
  const CliRun refresh = run_cli({"--json", "refresh"}, env(mock));
  ASSERT_EQ(refresh.code, 0) << refresh.err;
  EXPECT_NE(json::parse(slurp(store()))["refresh_token"], before);
  EXPECT_EQ(refresh.out.find(before), std::string::npos) << "tokens must never be printed";

  const CliRun status = run_cli({"--json", "status"}, env(mock));
  ASSERT_EQ(status.code, 0);
  EXPECT_EQ(json::parse(status.out)["logged_in"], true);

  ASSERT_EQ(run_cli({"logout"}, env(mock)).code, 0);
  EXPECT_NE(::access(store().c_str(), F_OK), 0);
  EXPECT_EQ(run_cli({"status"}, env(mock)).code, 3);
}

TEST_F(CliIntegrationTest, ConcurrentCallsInOneProcessRefreshOnce) {
  MockServer mock;
  ASSERT_EQ(login(mock).code, 0);
  mock.advance_clock(3700);
  const CliRun call =
      run_cli({"--json", "call", "/Product/Search?query=Niko", "--concurrency", "16"}, env(mock));
  ASSERT_EQ(call.code, 0) << call.err;
  const json result = json::parse(call.out);
  EXPECT_EQ(result["calls"].size(), 16u);
  for (const json& c : result["calls"]) EXPECT_EQ(c["status"], 200);
  EXPECT_EQ(mock.token_requests("refresh_token").size(), 1u);
}

TEST_F(CliIntegrationTest, TwoProcessesRefreshOnce) {
  MockServer mock;
  ASSERT_EQ(login(mock).code, 0);
  for (int round = 0; round < 3; ++round) {
    mock.advance_clock(3700);
    std::vector<std::unique_ptr<Subprocess>> processes;
    for (int i = 0; i < 2; ++i) {
      processes.push_back(std::make_unique<Subprocess>(
          std::vector<std::string>{TWOBA_CLIENT_CLI, "call", "/Product/Search?query=Niko",
                                   "--concurrency", "4"},
          env(mock)));
    }
    for (auto& p : processes) EXPECT_EQ(p->wait(), 0) << p->err();
    EXPECT_EQ(mock.token_requests("refresh_token").size(), static_cast<std::size_t>(round + 1));
  }
  for (const json& e : mock.token_requests("refresh_token")) EXPECT_EQ(e["status"], 200);
}

TEST_F(CliIntegrationTest, ExpiredRefreshTokenExitsThreeAndClearsTheStore) {
  MockServer mock;
  ASSERT_EQ(login(mock).code, 0);
  mock.advance_clock(15 * 24 * 3600);
  const CliRun call = run_cli({"--json", "call", "/Product/Search?query=Niko"}, env(mock));
  EXPECT_EQ(call.code, 3) << call.err;
  EXPECT_EQ(json::parse(call.out)["error"]["kind"], "relogin_required");
  EXPECT_NE(::access(store().c_str(), F_OK), 0);
  EXPECT_EQ(run_cli({"refresh"}, env(mock)).code, 3);
  EXPECT_EQ(mock.token_requests("refresh_token").size(), 1u);
  EXPECT_EQ(mock.token_requests("password").size(), 1u);
}

TEST_F(CliIntegrationTest, PersistentServiceUnavailableExitsFiveAndKeepsTokens) {
  MockServer mock;
  ASSERT_EQ(login(mock).code, 0);
  const std::string before = slurp(store());
  mock.add_fault({{"path", "/OAuth/Token"},
                  {"status", 503},
                  {"headers", {{"Retry-After", "0"}}},
                  {"times", 0}});
  const CliRun refresh = run_cli({"refresh"}, env(mock));
  EXPECT_EQ(refresh.code, 5) << refresh.err;
  EXPECT_EQ(mock.token_requests("refresh_token").size(), 4u);  // 1 + 3 bounded retries
  EXPECT_EQ(slurp(store()), before);
}

TEST_F(CliIntegrationTest, MalformedTokenReplyExitsSeven) {
  MockServer mock;
  ASSERT_EQ(login(mock).code, 0);
  mock.add_fault({{"path", "/OAuth/Token"}, {"status", 200}, {"body", "{\"access_tok"}});
  EXPECT_EQ(run_cli({"refresh"}, env(mock)).code, 7);
}

TEST_F(CliIntegrationTest, WrongClientSecretIsAnOAuthError) {
  MockServer mock;
  auto e = env(mock);
  for (auto& entry : e) {
    if (entry.rfind("TWOBA_CLIENT_SECRET=", 0) == 0) entry = "TWOBA_CLIENT_SECRET=wrong";
  }
  e.push_back("TWOBA_CLIENT_AUTH=basic");
  const CliRun in = run_cli({"--json", "login", "--username", "demo", "--password", "demo"}, e);
  EXPECT_EQ(in.code, 6) << in.out;
  EXPECT_EQ(json::parse(in.out)["error"]["oauth_error"], "invalid_client");
  EXPECT_EQ(mock.token_requests("password").size(), 1u);  // terminal: not retried
}

// Drives `login-code --no-browser` like a browser would: the code comes from the control API.
class LoginCodeTest : public CliIntegrationTest {
 protected:
  struct Flow {
    std::unique_ptr<Subprocess> process;
    std::map<std::string, std::string> query;  // of the AUTHORIZE URL
  };

  Flow start(const MockServer& mock) {
    Flow flow;
    flow.process = std::make_unique<Subprocess>(
        std::vector<std::string>{TWOBA_CLIENT_CLI, "--json", "--scope", "openid offline_access",
                                 "login-code", "--no-browser"},
        env(mock));
    std::string line;
    EXPECT_TRUE(flow.process->read_line(&line));
    EXPECT_EQ(line.rfind("AUTHORIZE " + mock.base_url() + "/OAuth/Authorize?", 0), 0u) << line;
    for (const auto& [k, v] : parse_form(line.substr(line.find('?') + 1))) flow.query[k] = v;
    return flow;
  }

  // GETs the redirect URI with the given query, as the browser would after login.
  static int redirect(const std::string& redirect_uri, const std::string& query) {
    const auto url = parse_url(redirect_uri);
    httplib::Client browser(url->host, url->port);
    browser.set_url_encode(false);
    auto res = browser.Get((url->target + "?" + query).c_str());
    return res ? res->status : -1;
  }

  static std::string issue_code(const MockServer& mock, const Flow& flow) {
    return mock
        .post("/__mock/codes", {{"client_id", "demo-client"},
                                {"username", "demo"},
                                {"redirect_uri", flow.query.at("redirect_uri")},
                                {"scope", flow.query.at("scope")},
                                {"code_challenge", flow.query.at("code_challenge")},
                                {"code_challenge_method", "S256"}})
        .at("code");
  }
};

TEST_F(LoginCodeTest, PkceStateAndLoopbackRedirect) {
  MockServer mock;
  Flow flow = start(mock);
  EXPECT_EQ(flow.query.at("response_type"), "code");
  EXPECT_EQ(flow.query.at("client_id"), "demo-client");
  EXPECT_EQ(flow.query.at("code_challenge_method"), "S256");
  EXPECT_EQ(flow.query.at("state").size(), 43u);
  EXPECT_EQ(flow.query.at("redirect_uri").rfind("http://127.0.0.1:", 0), 0u);
  const std::string code = issue_code(mock, flow);
  EXPECT_EQ(redirect(flow.query.at("redirect_uri"), "code=" + form_urlencode(code) + "&state=" +
                                                        form_urlencode(flow.query.at("state"))),
            200);
  ASSERT_EQ(flow.process->wait(), 0) << flow.process->err();
  const auto exchanges = mock.token_requests("authorization_code");
  ASSERT_EQ(exchanges.size(), 1u);
  EXPECT_EQ(exchanges[0]["status"], 200);
  EXPECT_EQ(form_value(exchanges[0], "redirect_uri"), flow.query.at("redirect_uri"));
  EXPECT_EQ(pkce_challenge(form_value(exchanges[0], "code_verifier")),
            flow.query.at("code_challenge"));
  EXPECT_EQ(run_cli({"call", "/Product/Search?query=Niko"}, env(mock)).code, 0);
  // A second flow uses a fresh state and verifier.
  Flow second = start(mock);
  EXPECT_NE(second.query.at("state"), flow.query.at("state"));
  EXPECT_NE(second.query.at("code_challenge"), flow.query.at("code_challenge"));
}

TEST_F(LoginCodeTest, WrongOrMissingStateMakesNoTokenRequest) {
  MockServer mock;
  for (const std::string bad : {"state=forged", "", "state="}) {
    Flow flow = start(mock);
    const std::string code = issue_code(mock, flow);
    std::string query = "code=" + form_urlencode(code);
    if (!bad.empty()) query += "&" + bad;
    EXPECT_EQ(redirect(flow.query.at("redirect_uri"), query), 400);
    EXPECT_EQ(flow.process->wait(), 6) << bad;
    EXPECT_NE(flow.process->out().find("state"), std::string::npos) << flow.process->out();
  }
  EXPECT_TRUE(mock.journal("/OAuth/Token").empty());
  EXPECT_NE(::access(store().c_str(), F_OK), 0);
}

TEST_F(LoginCodeTest, AccessDeniedMakesNoTokenRequest) {
  MockServer mock;
  Flow flow = start(mock);
  EXPECT_EQ(redirect(flow.query.at("redirect_uri"),
                     "error=access_denied&state=" + form_urlencode(flow.query.at("state"))),
            400);
  EXPECT_EQ(flow.process->wait(), 6);
  EXPECT_EQ(json::parse(flow.process->out())["error"]["oauth_error"], "access_denied");
  EXPECT_TRUE(mock.journal("/OAuth/Token").empty());
}

}  // namespace
}  // namespace twoba
