// In-process tests of the authorization endpoint: validation in RFC 6749 §4.1.2.1 order, the
// login form, codes and their exchange, PKCE, redirect_uri matching, the base-URL page,
// auto_login and password redaction in the journal.
#include "oauth/authorize_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "test_server.h"

namespace mock2ba::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Fields = std::vector<std::pair<std::string, std::string>>;

// RFC 7636 Appendix B.
constexpr char kVerifier[] = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr char kChallenge[] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
constexpr char kCallback[] = "http://127.0.0.1:4711/callback";

Fields confidential_request(const std::string& state = "st-1") {
  return {{"response_type", "code"},
          {"client_id", "demo-client"},
          {"redirect_uri", kCallback},
          {"state", state}};
}

Fields public_request() {
  return {{"response_type", "code"},
          {"client_id", "demo-public"},
          {"redirect_uri", "http://127.0.0.1:43215/tokenreceiver"},
          {"scope", "openid offline_access"},
          {"code_challenge", kChallenge},
          {"code_challenge_method", "S256"}};
}

Fields with(Fields fields, const Fields& extra) {
  fields.insert(fields.end(), extra.begin(), extra.end());
  return fields;
}

Fields without(Fields fields, const std::string& name) {
  fields.erase(
      std::remove_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == name; }),
      fields.end());
  return fields;
}

// The query parameters of a Location header.
Form query_of(const std::string& location) {
  size_t q = location.find('?');
  auto form = Form::parse(q == std::string::npos ? "" : location.substr(q + 1), nullptr);
  return form ? *form : Form();
}

json load_default_fixture() {
  std::ifstream in(fixture_path("default"));
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

class AuthorizeTest : public ::testing::Test {
 protected:
  Reply authorize(const Fields& fields, const std::string& path = "/OAuth/Authorize") {
    return server_.get(path + "?" + form_body(fields));
  }
  Reply submit(const Fields& request, const Fields& login,
               const std::string& path = "/OAuth/Authorize") {
    return server_.post_form(path, with(request, login));
  }
  Reply log_in(const Fields& request, const std::string& password = "demo") {
    return submit(request, {{"username", "demo"}, {"password", password}, {"action", "login"}});
  }
  Reply exchange(const std::string& code, const std::string& redirect_uri = kCallback) {
    return server_.post_form("/OAuth/Token", {{"grant_type", "authorization_code"},
                                              {"code", code},
                                              {"redirect_uri", redirect_uri},
                                              {"client_id", "demo-client"},
                                              {"client_secret", "demo-secret"}});
  }
  // Expects a redirect to the client with error=`error`, and the state echoed when given.
  void expect_error_redirect(const Reply& reply, const std::string& redirect_prefix,
                             const std::string& error, const std::string& state = "") {
    EXPECT_EQ(reply.status, 302) << reply.body;
    std::string location = reply.header("Location");
    EXPECT_THAT(location, StartsWith(redirect_prefix + "?"));
    Form query = query_of(location);
    EXPECT_EQ(query.value("error"), error);
    EXPECT_FALSE(query.value("error_description").empty());
    EXPECT_EQ(query.count("code"), 0u);
    if (!state.empty()) {
      EXPECT_EQ(query.value("state"), state);
    }
  }
  // Expects the error page: 400, HTML, and never a redirect.
  void expect_error_page(const Reply& reply, const std::string& message_part) {
    EXPECT_EQ(reply.status, 400) << reply.body;
    EXPECT_EQ(reply.header("Location"), "");
    EXPECT_THAT(reply.header("Content-Type"), StartsWith("text/html"));
    EXPECT_THAT(reply.body, HasSubstr(message_part));
  }
  void load_fixture(const json& fixture) {
    Reply r = server_.request("PUT", "/__mock/fixture", fixture.dump(), "application/json");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  TestServer server_;
};

// ---- the form ------------------------------------------------------------------------------

TEST_F(AuthorizeTest, GetShowsALoginPageNamingTheClient) {
  Reply r = authorize(with(confidential_request(), {{"scope", "openid offline_access"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "text/html;charset=UTF-8");
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  EXPECT_THAT(r.header("Content-Security-Policy"), HasSubstr("default-src 'none'"));
  EXPECT_THAT(r.body,
              HasSubstr("<strong>Demo Application</strong> wants to access your 2BA account"));
  EXPECT_THAT(r.body, HasSubstr("<label for=\"username\">"));
  EXPECT_THAT(r.body, HasSubstr("<label for=\"password\">"));
  EXPECT_THAT(r.body, HasSubstr("type=\"password\""));
  EXPECT_THAT(r.body, HasSubstr("autofocus"));
  EXPECT_THAT(r.body, HasSubstr("value=\"login\">Log in</button>"));
  EXPECT_THAT(r.body, HasSubstr("value=\"cancel\" formnovalidate>Cancel</button>"));
  EXPECT_LT(r.body.find(">Log in<"), r.body.find(">Cancel<")) << "Enter must submit Log in";
  EXPECT_THAT(r.body, HasSubstr("name=\"state\" value=\"st-1\""));
  EXPECT_THAT(r.body, HasSubstr("name=\"redirect_uri\" value=\"http://127.0.0.1:4711/callback\""));
  EXPECT_THAT(r.body, HasSubstr("<span class=\"chip\">offline_access</span>"));
  EXPECT_THAT(r.body, Not(HasSubstr("<script")));
  EXPECT_THAT(r.body, Not(HasSubstr("http-equiv")));
  json entry = server_.journal().back();
  EXPECT_EQ(entry["outcome"]["login"], "form");
  EXPECT_EQ(entry["outcome"]["authorize"]["client_id"], "demo-client");
  EXPECT_EQ(entry["outcome"]["authorize"]["state"], "st-1");
}

TEST_F(AuthorizeTest, ConnectPathAndAnyCaseServeTheSameEndpoint) {
  for (const char* path : {"/connect/authorize", "/oauth/authorize", "/OAUTH/AUTHORIZE"}) {
    Reply r = authorize(confidential_request(), path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_THAT(r.body, HasSubstr(std::string("action=\"") + path + "\"")) << path;
  }
}

TEST_F(AuthorizeTest, DiscoveryAdvertisesAWorkingEndpoint) {
  std::string endpoint =
      server_.get("/.well-known/openid-configuration").json()["authorization_endpoint"];
  ASSERT_THAT(endpoint, StartsWith(server_.base_url()));
  Reply r = authorize(confidential_request(), endpoint.substr(server_.base_url().size()));
  EXPECT_EQ(r.status, 200);
}

TEST_F(AuthorizeTest, EverythingShownIsHtmlEscaped) {
  json fixture = load_default_fixture();
  fixture["clients"][0]["name"] = "<b>Evil</b> & \"Co\"";
  load_fixture(fixture);
  Reply r = authorize(confidential_request("\"><script>alert(1)</script>"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, Not(HasSubstr("<script>")));
  EXPECT_THAT(r.body, Not(HasSubstr("<b>Evil")));
  EXPECT_THAT(r.body, HasSubstr("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(r.body, HasSubstr("&lt;b&gt;Evil&lt;/b&gt; &amp; &quot;Co&quot;"));
}

TEST_F(AuthorizeTest, PostWithoutCredentialsIsAnAuthorizationRequest) {
  Reply r = server_.post_form("/OAuth/Authorize", confidential_request());
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("name=\"password\""));
}

TEST_F(AuthorizeTest, OtherMethodsAndBodiesAreRejected) {
  Reply put = server_.request("PUT", "/OAuth/Authorize", "", "");
  EXPECT_EQ(put.status, 405);
  EXPECT_EQ(put.header("Allow"), "GET, HEAD, POST");
  Reply json_post = server_.request("POST", "/OAuth/Authorize", "{}", "application/json");
  expect_error_page(json_post, "application/x-www-form-urlencoded");
  expect_error_page(server_.get("/OAuth/Authorize?client_id=demo-client&redirect_uri=%ZZ"),
                    "malformed");
}

// ---- logging in ----------------------------------------------------------------------------

TEST_F(AuthorizeTest, LoginRedirectsWithACodeThatBuysTokensForTheProductApi) {
  Reply r = log_in(confidential_request("a b&c=d/é"));
  ASSERT_EQ(r.status, 302) << r.body;
  // httplib's client decodes Location headers; the page's link shows what was sent.
  size_t href = r.body.find("href=\"");
  ASSERT_NE(href, std::string::npos);
  std::string location = r.body.substr(href + 6, r.body.find('"', href + 6) - href - 6);
  for (size_t amp; (amp = location.find("&amp;")) != std::string::npos;)
    location.replace(amp, 5, "&");
  EXPECT_THAT(location, StartsWith(std::string(kCallback) + "?code="));
  EXPECT_THAT(location, HasSubstr("&state=a%20b%26c%3Dd%2F%C3%A9"));
  Form query = query_of(location);
  EXPECT_EQ(query.value("state"), "a b&c=d/é");
  std::string code = query.value("code");
  ASSERT_FALSE(code.empty());
  EXPECT_EQ(server_.journal().back()["outcome"]["login"], "ok");

  Reply tokens = exchange(code);
  ASSERT_EQ(tokens.status, 200) << tokens.body;
  std::string access_token = tokens.json()["access_token"];
  Reply product = server_.get("/1/json/Product/DetailsForProduct?gtin=08711893010011",
                              {{"Authorization", "Bearer " + access_token}});
  EXPECT_EQ(product.status, 200) << product.body;
  EXPECT_THAT(product.body, HasSubstr("08711893010011"));
}

TEST_F(AuthorizeTest, CodeIsSingleUseBoundToRedirectUriAndShortLived) {
  std::string first = query_of(log_in(confidential_request()).header("Location")).value("code");
  EXPECT_EQ(exchange(first, "http://127.0.0.1:4712/callback").json()["error"], "invalid_grant");
  EXPECT_EQ(exchange(first).status, 200);
  EXPECT_EQ(exchange(first).json()["error"], "invalid_grant");

  std::string second = query_of(log_in(confidential_request()).header("Location")).value("code");
  server_.advance_clock(301);  // the default fixture's code_lifetime is 300 s
  Reply late = exchange(second);
  EXPECT_EQ(late.status, 400);
  EXPECT_EQ(late.json()["error"], "invalid_grant");
}

TEST_F(AuthorizeTest, ScopeIsBoundToTheCode) {
  Fields request = with(confidential_request(), {{"scope", "openid unifeed"}});
  std::string code = query_of(log_in(request).header("Location")).value("code");
  json tokens = exchange(code).json();
  EXPECT_EQ(tokens["scope"], "openid unifeed");
  EXPECT_FALSE(tokens.contains("refresh_token")) << "no offline_access";
}

TEST_F(AuthorizeTest, WrongPasswordShowsTheFormAgain) {
  Reply r = log_in(confidential_request(), "not-the-password");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Location"), "");
  EXPECT_THAT(r.body, HasSubstr("role=\"alert\">The user name or password is incorrect."));
  EXPECT_THAT(r.body, HasSubstr("name=\"username\" autocomplete=\"username\""));
  EXPECT_THAT(r.body, HasSubstr("value=\"demo\">"));  // the user name is kept
  EXPECT_THAT(r.body, HasSubstr("autocomplete=\"current-password\" required autofocus"));
  EXPECT_THAT(r.body, HasSubstr("name=\"state\" value=\"st-1\""));
  EXPECT_EQ(server_.journal().back()["outcome"]["login"], "wrong_password");

  Reply unknown = submit(confidential_request(), {{"username", "nobody"}, {"password", "demo"}});
  EXPECT_EQ(unknown.status, 200);
  EXPECT_THAT(unknown.body, HasSubstr("The user name or password is incorrect."));

  Reply empty =
      submit(confidential_request(), {{"username", "demo"}, {"password", ""}, {"action", "login"}});
  EXPECT_EQ(empty.status, 200);
  EXPECT_THAT(empty.body, HasSubstr("Enter your user name and password."));
  EXPECT_EQ(server_.journal().back()["outcome"]["login"], "missing_credentials");
}

TEST_F(AuthorizeTest, CancelRedirectsWithAccessDenied) {
  Reply r = submit(confidential_request("keep-me"),
                   {{"username", ""}, {"password", ""}, {"action", "cancel"}});
  expect_error_redirect(r, kCallback, "access_denied", "keep-me");
  EXPECT_EQ(server_.journal().back()["outcome"]["login"], "cancel");
}

TEST_F(AuthorizeTest, PasswordsNeverReachTheJournal) {
  log_in(confidential_request(), "Sup3r-Secret-Pw");
  log_in(confidential_request());
  std::string everything = server_.get("/__mock/requests").body;
  EXPECT_THAT(everything, Not(HasSubstr("Sup3r-Secret-Pw")));
  json entries = server_.journal();
  for (const auto& entry : entries) {
    if (entry["method"] != "POST") continue;
    EXPECT_THAT(entry["body"].get<std::string>(), HasSubstr("password=%5Bredacted%5D"));
    EXPECT_EQ(entry["form"]["password"][0], "[redacted]");
    EXPECT_EQ(entry["form"]["username"][0], "demo");
  }
}

TEST_F(AuthorizeTest, TamperedHiddenFieldsAreValidatedAgain) {
  Fields evil = confidential_request();
  evil[2].second = "http://attacker.example/cb";
  expect_error_page(log_in(evil), "is not registered");
  Fields no_pkce = without(public_request(), "code_challenge");
  no_pkce = without(no_pkce, "code_challenge_method");
  expect_error_redirect(log_in(no_pkce), "http://127.0.0.1:43215/tokenreceiver", "invalid_request");
}

// ---- PKCE ----------------------------------------------------------------------------------

TEST_F(AuthorizeTest, PublicClientWithS256) {
  Reply r = log_in(public_request());
  ASSERT_EQ(r.status, 302) << r.body;
  std::string code = query_of(r.header("Location")).value("code");
  auto exchange_public = [&](const std::string& verifier) {
    return server_.post_form("/OAuth/Token",
                             {{"grant_type", "authorization_code"},
                              {"code", code},
                              {"redirect_uri", "http://127.0.0.1:43215/tokenreceiver"},
                              {"client_id", "demo-public"},
                              {"code_verifier", verifier}});
  };
  EXPECT_EQ(exchange_public(std::string(43, 'a')).json()["error"], "invalid_grant");
  // A failed verifier does not burn the code; the right one still works once.
  Reply ok = exchange_public(kVerifier);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(ok.json().contains("refresh_token"));
}

TEST_F(AuthorizeTest, PlainChallengeIsTheDefaultMethod) {
  std::string verifier(50, 'v');
  Fields request = without(without(public_request(), "code_challenge"), "code_challenge_method");
  request.emplace_back("code_challenge", verifier);
  std::string code = query_of(log_in(request).header("Location")).value("code");
  Reply r =
      server_.post_form("/OAuth/Token", {{"grant_type", "authorization_code"},
                                         {"code", code},
                                         {"redirect_uri", "http://127.0.0.1:43215/tokenreceiver"},
                                         {"client_id", "demo-public"},
                                         {"code_verifier", verifier}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(AuthorizeTest, PkceErrorsRedirectWithInvalidRequest) {
  const std::string redirect = "http://127.0.0.1:43215/tokenreceiver";
  Fields base = with(public_request(), {{"state", "s9"}});
  expect_error_redirect(
      authorize(without(without(base, "code_challenge"), "code_challenge_method")), redirect,
      "invalid_request", "s9");
  Fields bad_method = without(base, "code_challenge_method");
  bad_method.emplace_back("code_challenge_method", "S512");
  expect_error_redirect(authorize(bad_method), redirect, "invalid_request", "s9");
  Fields method_only = without(base, "code_challenge");
  expect_error_redirect(authorize(method_only), redirect, "invalid_request", "s9");
  Fields short_challenge = without(base, "code_challenge");
  short_challenge.emplace_back("code_challenge", "too-short");
  expect_error_redirect(authorize(short_challenge), redirect, "invalid_request", "s9");
}

// ---- other redirect errors -----------------------------------------------------------------

TEST_F(AuthorizeTest, ResponseTypeScopeAndRepeatedParametersRedirectWithErrors) {
  expect_error_redirect(authorize(without(confidential_request(), "response_type")), kCallback,
                        "invalid_request", "st-1");
  Fields token = without(confidential_request(), "response_type");
  token.emplace_back("response_type", "token");
  expect_error_redirect(authorize(token), kCallback, "unsupported_response_type", "st-1");
  expect_error_redirect(authorize(with(confidential_request(), {{"scope", "openid admin"}})),
                        kCallback, "invalid_scope", "st-1");
  expect_error_redirect(authorize(with(confidential_request(), {{"state", "again"}})), kCallback,
                        "invalid_request", "st-1");
  EXPECT_EQ(server_.journal().back()["outcome"]["error"], "invalid_request");
}

TEST_F(AuthorizeTest, ClientWithoutTheCodeGrantGetsUnauthorizedClient) {
  json fixture = load_default_fixture();
  fixture["clients"][0]["grant_types"] = {"password", "refresh_token"};
  load_fixture(fixture);
  expect_error_redirect(authorize(confidential_request()), kCallback, "unauthorized_client",
                        "st-1");
}

TEST_F(AuthorizeTest, NoStateMeansNoStateInTheRedirect) {
  Reply r = log_in(without(confidential_request(), "state"));
  ASSERT_EQ(r.status, 302);
  EXPECT_EQ(query_of(r.header("Location")).count("state"), 0u);
  EXPECT_THAT(r.body, Not(HasSubstr("name=\"state\"")));
}

// ---- errors that must never redirect -------------------------------------------------------

TEST_F(AuthorizeTest, UnknownClientOrRedirectUriGetsAnErrorPage) {
  Fields unknown = confidential_request();
  unknown[1].second = "no-such-client";
  expect_error_page(authorize(unknown), "is not registered");
  expect_error_page(authorize(without(confidential_request(), "client_id")),
                    "client_id parameter is missing");
  expect_error_page(authorize(without(confidential_request(), "redirect_uri")),
                    "redirect_uri parameter is missing");
  for (const char* uri :
       {"http://127.0.0.1:4711/other", "https://127.0.0.1:4711/callback",
        "http://localhost:4711/callback", "http://127.0.0.1.attacker.example/callback",
        "http://127.0.0.1:4711/callback/", "http://127.0.0.1:4711/callback?x=1",
        "http://user@127.0.0.1:4711/callback", "nl.2ba.uol://tokenreceiver"}) {
    Fields request = confidential_request();
    request[2].second = uri;
    expect_error_page(authorize(request), "is not registered");
  }
  Fields fragment = confidential_request();
  fragment[2].second = std::string(kCallback) + "#frag";
  expect_error_page(authorize(fragment), "fragment");
  expect_error_page(authorize(with(confidential_request(), {{"redirect_uri", kCallback}})),
                    "repeated");
  json entry = server_.journal().back();
  EXPECT_EQ(entry["outcome"]["error_page"], true);
  EXPECT_EQ(entry["status"], 400);
}

// ---- redirect URIs -------------------------------------------------------------------------

TEST_F(AuthorizeTest, RegisteredRedirectUriKinds) {
  // Loopback on any port, for both loopback spellings 2BA's samples use.
  for (const char* uri : {"http://127.0.0.1:1/tokenreceiver", "http://127.0.0.1/tokenreceiver",
                          "http://localhost:43215/tokenreceiver", "nl.2ba.uol://tokenreceiver"}) {
    Fields request = without(public_request(), "redirect_uri");
    request.emplace_back("redirect_uri", uri);
    Reply r = log_in(request);
    EXPECT_EQ(r.status, 302) << uri << "\n" << r.body;
    EXPECT_THAT(r.header("Location"), StartsWith(std::string(uri) + "?code=")) << uri;
  }
}

TEST_F(AuthorizeTest, RedirectUriKeepsItsOwnQuery) {
  json fixture = load_default_fixture();
  fixture["clients"][0]["redirect_uris"] = {"https://app.example/cb?tenant=7"};
  load_fixture(fixture);
  Fields request = confidential_request();
  request[2].second = "https://app.example/cb?tenant=7";
  Reply r = log_in(request);
  ASSERT_EQ(r.status, 302) << r.body;
  EXPECT_THAT(r.header("Location"), StartsWith("https://app.example/cb?tenant=7&code="));
}

TEST_F(AuthorizeTest, OwnBaseUrlAsRedirectUriShowsTheCode) {
  // 2BA's documented sample: redirect_uri is the authorization server's base URL, unencoded.
  for (const std::string& self : {server_.base_url(), server_.base_url() + "/"}) {
    Reply r = server_.post_form("/OAuth/Authorize", {{"response_type", "code"},
                                                     {"client_id", "demo-client"},
                                                     {"redirect_uri", self},
                                                     {"username", "demo"},
                                                     {"password", "demo"}});
    ASSERT_EQ(r.status, 302) << self << "\n" << r.body;
    std::string location = r.header("Location");
    EXPECT_THAT(location, StartsWith(self + "?code="));
    std::string code = query_of(location).value("code");
    Reply page = server_.get("/?code=" + code + "&state=s%3C1%3E");
    EXPECT_EQ(page.status, 200);
    EXPECT_THAT(page.body, HasSubstr("Authorization code received"));
    EXPECT_THAT(page.body, HasSubstr(code));
    EXPECT_THAT(page.body, HasSubstr("s&lt;1&gt;"));
    EXPECT_EQ(exchange(code, self).status, 200);
  }
}

TEST_F(AuthorizeTest, ScenarioPrefixIsPartOfTheOwnBaseUrl) {
  std::string self = server_.base_url() + "/s/fast-expiry";
  Reply r = server_.get(
      "/s/fast-expiry/OAuth/Authorize?" +
      form_body({{"response_type", "code"}, {"client_id", "demo-client"}, {"redirect_uri", self}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("action=\"/s/fast-expiry/OAuth/Authorize\""));
  Fields root_self = confidential_request();
  root_self[2].second = server_.base_url();
  expect_error_page(server_.get("/s/fast-expiry/OAuth/Authorize?" + form_body(root_self)),
                    "is not registered");
}

TEST(RedirectUriMatches, Rules) {
  const std::vector<std::string> self = {"http://127.0.0.1:8080", "http://localhost:8080"};
  EXPECT_TRUE(redirect_uri_matches("https://app.example/cb", "https://app.example/cb", self));
  EXPECT_FALSE(redirect_uri_matches("https://app.example/cb", "https://app.example/cb/", self));
  EXPECT_FALSE(redirect_uri_matches("https://app.example/cb", "https://app.example:444/cb", self));
  EXPECT_TRUE(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:50000/cb", self));
  EXPECT_TRUE(redirect_uri_matches("http://127.0.0.1:1234/cb", "http://127.0.0.1:50000/cb", self));
  EXPECT_TRUE(redirect_uri_matches("http://[::1]/cb", "http://[::1]:50000/cb", self));
  EXPECT_TRUE(redirect_uri_matches("http://localhost/cb", "http://LOCALHOST:5/cb", self));
  EXPECT_TRUE(redirect_uri_matches("http://127.0.0.1", "http://127.0.0.1:9/", self));
  EXPECT_FALSE(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:x/cb", self));
  EXPECT_FALSE(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.1:123456/cb", self));
  EXPECT_FALSE(redirect_uri_matches("http://127.0.0.1/cb", "http://127.0.0.2:5/cb", self));
  EXPECT_FALSE(redirect_uri_matches("http://app.example/cb", "http://app.example:5/cb", self));
  EXPECT_TRUE(
      redirect_uri_matches("nl.2ba.uol://tokenreceiver", "nl.2ba.uol://tokenreceiver", self));
  EXPECT_FALSE(
      redirect_uri_matches("nl.2ba.uol://tokenreceiver", "nl.2ba.uol://tokenreceiver/x", self));
  EXPECT_TRUE(redirect_uri_matches("self", "http://127.0.0.1:8080", self));
  EXPECT_TRUE(redirect_uri_matches("self", "http://localhost:8080/", self));
  EXPECT_FALSE(redirect_uri_matches("self", "http://127.0.0.1:8081", self));
  EXPECT_FALSE(redirect_uri_matches("self", "http://127.0.0.1:8080/x", self));
}

TEST(RedactPasswordFields, ReplacesOnlyPasswordValues) {
  EXPECT_EQ(redact_password_fields("username=demo&password=s%26cret&action=login"),
            "username=demo&password=%5Bredacted%5D&action=login");
  EXPECT_EQ(redact_password_fields("pass%77ord=x&password2=y"),
            "pass%77ord=%5Bredacted%5D&password2=y");
  EXPECT_EQ(redact_password_fields("password=a&password=b"),
            "password=%5Bredacted%5D&password=%5Bredacted%5D");
  EXPECT_EQ(redact_password_fields("password=&x=1"), "password=&x=1");
  EXPECT_EQ(redact_password_fields(""), "");
}

// ---- the base URL page ---------------------------------------------------------------------

TEST_F(AuthorizeTest, BasePageShowsErrorsAndALandingPage) {
  Reply error =
      server_.get("/?error=access_denied&error_description=The%20user%20cancelled&state=x");
  EXPECT_EQ(error.status, 200);
  EXPECT_THAT(error.body, HasSubstr("Authorization failed"));
  EXPECT_THAT(error.body, HasSubstr("access_denied"));
  Reply landing = server_.get("/");
  EXPECT_EQ(landing.status, 200);
  EXPECT_THAT(landing.body, HasSubstr(server_.base_url() + "/OAuth/Authorize"));
  Reply escaped = server_.get("/?code=%3Cimg%20src%3Dx%3E");
  EXPECT_THAT(escaped.body, Not(HasSubstr("<img")));
  EXPECT_THAT(escaped.body, HasSubstr("&lt;img src=x&gt;"));
  EXPECT_EQ(server_.request("POST", "/", "", "").status, 405);
}

// ---- auto_login (test-only) ----------------------------------------------------------------

TEST_F(AuthorizeTest, AutoLoginRedirectsWithoutTheForm) {
  json fixture = load_default_fixture();
  fixture["auto_login"] = "demo";
  load_fixture(fixture);
  Reply r = authorize(confidential_request());
  ASSERT_EQ(r.status, 302) << r.body;
  EXPECT_THAT(r.body, HasSubstr("Test-only"));
  Form query = query_of(r.header("Location"));
  EXPECT_EQ(query.value("state"), "st-1");
  json entry = server_.journal().back();
  EXPECT_EQ(entry["outcome"]["login"], "auto_login");
  EXPECT_EQ(entry["outcome"]["username"], "demo");
  Reply tokens = exchange(query.value("code"));
  EXPECT_EQ(tokens.status, 200) << tokens.body;
  // Validation still comes first.
  expect_error_redirect(authorize(without(confidential_request(), "response_type")), kCallback,
                        "invalid_request");
  Fields unknown = confidential_request();
  unknown[1].second = "nope";
  expect_error_page(authorize(unknown), "is not registered");
}

TEST_F(AuthorizeTest, AutoLoginScenarioByPathPrefix) {
  Fields request = confidential_request();
  request[2].second = server_.base_url() + "/s/auto-login";
  Reply r = server_.get("/s/auto-login/OAuth/Authorize?" + form_body(request));
  ASSERT_EQ(r.status, 302) << r.body;
  EXPECT_THAT(r.header("Location"), StartsWith(server_.base_url() + "/s/auto-login?code="));
  EXPECT_EQ(authorize(confidential_request()).status, 200)
      << "the root scenario still shows the form";
}

TEST_F(AuthorizeTest, AutoLoginMustNameAUser) {
  json fixture = load_default_fixture();
  fixture["auto_login"] = "ghost";
  Reply r = server_.request("PUT", "/__mock/fixture", fixture.dump(), "application/json");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("auto_login: no such user"));
  fixture["auto_login"] = true;
  r = server_.request("PUT", "/__mock/fixture", fixture.dump(), "application/json");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("auto_login"));
}

}  // namespace
}  // namespace mock2ba::testing
