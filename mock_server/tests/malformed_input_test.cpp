// Malformed and hostile requests against every endpoint: each gets its documented 4xx JSON
// error (or, where there is no request to answer, a closed connection), and the server keeps
// serving afterwards without leaking descriptors.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "reliability_support.h"
#include "server/server.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using testing::raw_exchange;
using testing::raw_request;
using testing::RawReply;

const std::string kForm = "Content-Type: application/x-www-form-urlencoded";
const std::string kJson = "Content-Type: application/json";
const std::string kGoodLogin =
    "grant_type=password&username=demo&password=demo&client_id=demo-client&client_secret=demo-"
    "secret";

// What a reply must look like: status, and one JSON member with its value (or just present).
struct Expect {
  int status;
  std::string member;       // e.g. "error" or "Status"; empty: no body expected (closed)
  std::string value;        // expected value of member; empty: any
  std::string header = {};  // a header that must be present (lower-case), e.g. "www-authenticate"
};

struct Case {
  std::string name;
  std::function<std::string(const std::string& access_token)> request;
  Expect expect;
};

std::string token_post(const std::string& body, std::vector<std::string> headers = {kForm}) {
  return raw_request("POST", "/OAuth/Token", body, headers);
}

std::string many_params(int n) {
  std::string out = "grant_type=password";
  for (int i = 0; i < n; ++i) out += "&p" + std::to_string(i) + "=1";
  return out;
}

std::string control_post(const std::string& path, const std::string& body,
                         const std::string& method = "POST") {
  return raw_request(method, path, body, {kJson});
}

std::string fixture_put(const json& fixture) {
  return control_post("/__mock/fixture", fixture.dump(), "PUT");
}

json minimal_fixture() {
  return json{{"clients", {{{"client_id", "c"}, {"client_secret", "s"}}}},
              {"users", {{{"username", "u"}, {"password", "p"}}}}};
}

std::string api_get(const std::string& target, const std::string& token) {
  return raw_request("GET", target, "", {"Authorization: Bearer " + token});
}

std::vector<Case> cases() {
  const Expect kInvalidRequest{400, "error", "invalid_request"};
  const Expect kInvalidClient401{401, "error", "invalid_client", "www-authenticate"};
  const Expect kApiBadRequest{400, "Status", "BadRequest"};
  const Expect kApiUnauthorized{401, "Status", "Unauthorized", "www-authenticate"};
  const Expect kControl400{400, "error", ""};
  auto fixed = [](std::string bytes) { return [bytes](const std::string&) { return bytes; }; };
  std::string chunked_head =
      "POST /OAuth/Token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + kForm +
      "\r\nConnection: close\r\n\r\n";
  std::string big_chunked;
  for (int i = 0; i < 3000; ++i) big_chunked += "5\r\na=1&b\r\n";

  std::vector<Case> c = {
      // Token endpoint: sizes and framing.
      {"form body over 8 KiB", fixed(token_post(kGoodLogin + "&pad=" + std::string(9000, 'x'))),
       {413, "error", "invalid_request"}},
      {"JSON body over the body limit", fixed(control_post("/__mock/fixture", std::string(70000, ' ') + "{}", "PUT")),
       {413, "error", "invalid_request"}},
      {"300 parameters", fixed(token_post(many_params(300))), kInvalidRequest},
      {"chunked body that is malformed", fixed(chunked_head + "ZZ\r\nabc\r\n0\r\n\r\n"), kInvalidRequest},
      {"chunked body over the limit", fixed(chunked_head + big_chunked + "0\r\n\r\n"),
       {413, "error", "invalid_request"}},
      {"body that stalls half-way",
       fixed("POST /OAuth/Token HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n" + kForm + "\r\n\r\ngrant_type=pass"),
       kInvalidRequest},
      {"request line that stalls half-way", fixed("POST /OAuth/To"), {0, "", ""}},
      {"garbage request line", fixed("GARBAGE\r\n\r\n"), kInvalidRequest},
      {"folded header line",
       fixed("POST /OAuth/Token HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n" + kForm + "\r\nContent-Length: 1\r\n\r\na"),
       kInvalidRequest},
      {"header line without a colon", fixed("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"), kInvalidRequest},
      {"space before the colon", fixed("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), kInvalidRequest},
      {"Content-Length and Transfer-Encoding",
       fixed("POST /OAuth/Token HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n" + kForm +
             "\r\n\r\n0\r\n\r\n"),
       kInvalidRequest},
      {"two different Content-Lengths",
       fixed("POST /OAuth/Token HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n" + kForm +
             "\r\n\r\na=1&"),
       kInvalidRequest},
      {"transfer coding other than chunked",
       fixed("POST /OAuth/Token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n" + kForm + "\r\n\r\n"),
       {501, "error", ""}},
      {"HTTP/2.0 request line", fixed("GET / HTTP/2.0\r\nHost: x\r\n\r\n"), {505, "error", ""}},
      {"unknown method", fixed("BREW / HTTP/1.1\r\nHost: x\r\n\r\n"), {501, "error", ""}},
      {"request target not a path", fixed("GET x HTTP/1.1\r\nHost: x\r\n\r\n"), kInvalidRequest},
      {"chunk extensions past the framing limit",
       fixed(chunked_head + [] {
         std::string chunks;
         while (chunks.size() < 70 * 1024) chunks += "1;e=" + std::string(1000, 'e') + "\r\na\r\n";
         return chunks;
       }() + "0\r\n\r\n"),
       {413, "error", "invalid_request"}},
      {"header line over 8 KiB", fixed(token_post(kGoodLogin, {kForm, "X-Big: " + std::string(9000, 'a')})),
       {431, "error", "invalid_request"}},
      {"request target over 8 KiB", fixed(raw_request("GET", "/" + std::string(9000, 'a'))),
       {414, "error", "invalid_request"}},
      {"Content-Length not a number",
       fixed("POST /OAuth/Token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n" + kForm +
             "\r\nConnection: close\r\n\r\n"),
       kInvalidRequest},
      {"NUL byte in a header", fixed(token_post(kGoodLogin, {kForm, std::string("X-Note: a\0b", 11)})),
       kInvalidRequest},
      {"NUL byte in the path", fixed(raw_request("GET", "/OAuth%00/Token")), kInvalidRequest},
      {"path not UTF-8 once decoded", fixed(raw_request("GET", "/OAuth/%ff")), kInvalidRequest},
      {"raw 0xFF byte in the path", fixed(raw_request("GET", "/\xff")), kInvalidRequest},
      {"raw 0xFF byte in the query", fixed(raw_request("GET", "/1/json/Product/Search?\xff%zz=1")), kInvalidRequest},
      {"control path not UTF-8", fixed(raw_request("GET", "/__mock/%ff")), kInvalidRequest},
      {"bad escape after a 0xFF byte in a form name", fixed(token_post("\xff%zz=1")), kInvalidRequest},
      {"0xFF byte in a header value",
       fixed(raw_request("GET", "/OAuth/Token", "", {"X-Note: caf\xe9"})), {405, "error", "invalid_request"}},
      {"journal after a request with a 0xFF header", fixed(raw_request("GET", "/__mock/requests")),
       {200, "requests", ""}},
      // Token endpoint: content type and parameters.
      {"no content type", fixed(token_post(kGoodLogin, {})), kInvalidRequest},
      {"text/plain content type", fixed(token_post(kGoodLogin, {"Content-Type: text/plain"})), kInvalidRequest},
      {"JSON body", fixed(token_post(R"({"grant_type":"password"})", {kJson})), kInvalidRequest},
      {"multipart body", fixed(token_post("--x\r\n\r\n--x--", {"Content-Type: multipart/form-data; boundary=x"})),
       kInvalidRequest},
      {"duplicated grant_type", fixed(token_post(kGoodLogin + "&grant_type=password")), kInvalidRequest},
      {"duplicated client_id", fixed(token_post(kGoodLogin + "&client_id=demo-client")), kInvalidRequest},
      {"duplicated password", fixed(token_post(kGoodLogin + "&password=demo")), kInvalidRequest},
      {"bad percent-encoding", fixed(token_post(kGoodLogin + "&scope=%zz")), kInvalidRequest},
      {"truncated percent-encoding", fixed(token_post(kGoodLogin + "&scope=%4")), kInvalidRequest},
      {"invalid UTF-8", fixed(token_post("grant_type=password&username=%ff%fe&password=x&client_id=demo-client")),
       kInvalidRequest},
      {"overlong UTF-8", fixed(token_post("grant_type=password&username=%c0%af&password=x&client_id=demo-client")),
       kInvalidRequest},
      {"encoded NUL byte", fixed(token_post("grant_type=password&username=de%00mo&password=demo&client_id=demo-client")),
       kInvalidRequest},
      {"raw NUL byte in the body", fixed(token_post(std::string("grant_type=pass\0word&client_id=demo-client", 42))),
       kInvalidRequest},
      {"empty body", fixed(raw_request("POST", "/OAuth/Token", "", {kForm, "Content-Length: 0"})),
       {400, "error", "invalid_client"}},
      {"grant_type missing",
       fixed(token_post("username=demo&password=demo&client_id=demo-client&client_secret=demo-secret")),
       kInvalidRequest},
      {"refresh_token missing",
       fixed(token_post("grant_type=refresh_token&client_id=demo-client&client_secret=demo-secret")),
       kInvalidRequest},
      {"unknown grant type",
       fixed(token_post("grant_type=urn:example:no-such-grant&client_id=demo-client&client_secret=demo-secret")),
       {400, "error", "unsupported_grant_type"}},
      {"unknown client", fixed(token_post("grant_type=password&username=demo&password=demo&client_id=nobody")),
       {400, "error", "invalid_client"}},
      {"Basic with bad base64", fixed(token_post("grant_type=password", {kForm, "Authorization: Basic !!!!"})),
       kInvalidClient401},
      {"Basic without a colon",
       fixed(token_post("grant_type=password", {kForm, "Authorization: Basic " + base64_encode("demo-client")})),
       kInvalidClient401},
      {"Basic and a body secret",
       fixed(token_post("grant_type=password&client_secret=demo-secret",
                        {kForm, "Authorization: Basic " + base64_encode("demo-client:demo-secret")})),
       kInvalidRequest},
      {"GET on the token endpoint", fixed(raw_request("GET", "/OAuth/Token")), {405, "error", "invalid_request", "allow"}},
      {"PUT on the token endpoint", fixed(token_post(kGoodLogin).replace(0, 4, "PUT")), {405, "error", "invalid_request", "allow"}},
      // Product API.
      {"product API without a token", fixed(raw_request("GET", "/1/json/Product/Search?query=a")), kApiUnauthorized},
      {"product API with an unknown token",
       [](const std::string&) { return api_get("/1/json/Product/Search?query=a", "not-a-token"); }, kApiUnauthorized},
      {"product API with an empty Bearer", fixed(raw_request("GET", "/1/json/Product/Search?query=a", "",
                                                              {"Authorization: Bearer "})),
       kApiUnauthorized},
      {"product API bad percent-encoding",
       [](const std::string& t) { return api_get("/1/json/Product/Search?query=%g1", t); }, kApiBadRequest},
      {"product API 300 parameters",
       [](const std::string& t) { return api_get("/1/json/Product/Search?" + many_params(300), t); },
       kApiBadRequest},
      {"product API missing gtin",
       [](const std::string& t) { return api_get("/1/json/Product/DetailsForProduct", t); }, kApiBadRequest},
      {"product API non-numeric gtin",
       [](const std::string& t) { return api_get("/1/json/Product/DetailsForProduct?gtin=abc", t); },
       kApiBadRequest},
      {"product API bad GLN", [](const std::string& t) { return api_get("/1/json/TradeItem/ForGLN?gln=12", t); },
       kApiBadRequest},
      {"product API token in header and query",
       [](const std::string& t) { return api_get("/1/json/Product/Search?query=a&access_token=" + t, t); },
       kApiBadRequest},
      {"product API POST",
       [](const std::string& t) {
         return raw_request("POST", "/1/json/Product/Search", "query=a", {kForm, "Authorization: Bearer " + t});
       },
       {405, "Status", "MethodNotAllowed", "allow"}},
      // Control API.
      {"clock body not JSON", fixed(control_post("/__mock/clock", "{advance:")), kControl400},
      {"clock body an array", fixed(control_post("/__mock/clock", "[60]")), kControl400},
      {"clock advance a string", fixed(control_post("/__mock/clock", R"({"advance":"60"})")), kControl400},
      {"clock advance absurdly large", fixed(control_post("/__mock/clock", R"({"advance":1e300})")), kControl400},
      {"clock set negative", fixed(control_post("/__mock/clock", R"({"set":-1})")), kControl400},
      {"clock unknown key", fixed(control_post("/__mock/clock", R"({"forward":60})")), kControl400},
      {"clock advance and set", fixed(control_post("/__mock/clock", R"({"advance":1,"set":2})")), kControl400},
      {"fault without a path", fixed(control_post("/__mock/faults", R"({"status":500})")), kControl400},
      {"fault status a string", fixed(control_post("/__mock/faults", R"({"path":"/x","status":"500"})")),
       kControl400},
      {"fault list of numbers", fixed(control_post("/__mock/faults", "[1,2]")), kControl400},
      {"fault header with CR LF",
       fixed(control_post("/__mock/faults", R"({"path":"/x","status":500,"headers":{"X":"a\r\nB: c"}})")),
       kControl400},
      {"fault times huge", fixed(control_post("/__mock/faults", R"({"path":"/x","status":500,"times":1e20})")),
       kControl400},
      {"revoke token a number", fixed(control_post("/__mock/tokens/revoke", R"({"token":1})")), kControl400},
      {"revoke empty object", fixed(control_post("/__mock/tokens/revoke", "{}")), kControl400},
      {"expire bad grant id", fixed(control_post("/__mock/tokens/expire", R"({"grant":"gx"})")), kControl400},
      {"revoke two selectors", fixed(control_post("/__mock/tokens/revoke", R"({"user":"demo","client":"x"})")),
       kControl400},
      {"code with a numeric client", fixed(control_post("/__mock/codes", R"({"client_id":5})")), kControl400},
      {"code for an unknown client",
       fixed(control_post("/__mock/codes", R"({"client_id":"x","username":"demo","redirect_uri":"http://a"})")),
       kControl400},
      {"code with a bad PKCE method",
       fixed(control_post("/__mock/codes", R"({"client_id":"demo-client","username":"demo","redirect_uri":"http://a","code_challenge":"a",)"
                                           R"("code_challenge_method":"MD5"})")),
       kControl400},
      {"journal since not a number", fixed(raw_request("GET", "/__mock/requests?since=abc")), kControl400},
      {"fixture of wrong types", fixed(fixture_put(json{{"users", "x"}, {"clients", json::array()}})), kControl400},
      {"fixture with an unknown key", fixed(fixture_put([] {
         json f = minimal_fixture();
         f["polcy"] = json::object();
         return f;
       }())),
       kControl400},
      {"fixture with a negative lifetime", fixed(fixture_put([] {
         json f = minimal_fixture();
         f["policy"] = {{"access_token_lifetime", -5}};
         return f;
       }())),
       kControl400},
      {"fixture with an absurd lifetime", fixed(fixture_put([] {
         json f = minimal_fixture();
         f["policy"] = {{"refresh_token_lifetime", 9000000000000000000LL}};
         return f;
       }())),
       kControl400},
      {"fixture with a public client without PKCE", fixed(fixture_put([] {
         json f = minimal_fixture();
         f["clients"].push_back({{"client_id", "p"}, {"require_pkce", false}});
         return f;
       }())),
       kControl400},
      {"unknown control endpoint", fixed(raw_request("GET", "/__mock/nope")), {404, "error", ""}},
      {"GET on reset", fixed(raw_request("GET", "/__mock/reset")), {405, "error", ""}},
      {"DELETE on the clock", fixed(raw_request("DELETE", "/__mock/clock")), {405, "error", ""}},
      // Discovery and unknown paths.
      {"POST to discovery", fixed(raw_request("POST", "/.well-known/openid-configuration", "x=1", {kForm})),
       {405, "error", "", "allow"}},
      {"discovery with a malformed chunked body",
       fixed("POST /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
             "Connection: close\r\n\r\nQ\r\n"),
       kInvalidRequest},
      {"unknown scenario name", fixed(raw_request("GET", "/s/Bad%20Name/OAuth/Token")), {404, "error", ""}},
  };
  return c;
}

// Every case runs over plain HTTP and over TLS: both are served by the same layer.
class MalformedInputTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ServerOptions options = testing::test_server_options();
    options.read_timeout_ms = 1000;  // the stalled-request cases wait this long
    options.max_body_bytes = 64 * 1024;
    if (tls()) {
      certificate_ = std::make_unique<testing::TestCertificate>();
      options.tls_cert = certificate_->cert();
      options.tls_key = certificate_->key();
    }
    server_ = std::make_unique<MockServer>(options);
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }
  void TearDown() override { server_->stop(); }

  bool tls() const { return GetParam(); }
  RawReply exchange(const std::string& bytes, int timeout_ms = 10000) {
    return raw_exchange(server_->port(), bytes, timeout_ms, tls());
  }

  // A good request: a password grant must still succeed. Returns the access token.
  std::string good_request() {
    RawReply reply = exchange(token_post(kGoodLogin));
    EXPECT_EQ(reply.status, 200) << reply.body;
    json body = json::parse(reply.body, nullptr, false);
    return body.is_object() ? body.value("access_token", "") : "";
  }

  std::unique_ptr<testing::TestCertificate> certificate_;
  std::unique_ptr<MockServer> server_;
};

TEST_P(MalformedInputTest, EveryBadRequestGetsItsErrorAndTheServerKeepsServing) {
  std::string token = good_request();
  ASSERT_FALSE(token.empty());
  size_t fds_before = testing::open_fd_count();
  auto table = cases();
  ASSERT_GE(table.size(), 40u);
  size_t tried = 0;
  for (const auto& c : table) {
    SCOPED_TRACE(c.name);
    RawReply reply = exchange(c.request(token), 8000);
    ++tried;
    EXPECT_EQ(reply.status, c.expect.status) << reply.body;
    if (c.expect.member.empty()) {
      EXPECT_TRUE(reply.body.empty());
    } else {
      EXPECT_TRUE(starts_with(reply.headers["content-type"], "application/json"))
          << reply.headers["content-type"];
      json body = json::parse(reply.body, nullptr, false);
      ASSERT_TRUE(body.is_object()) << reply.body;
      ASSERT_TRUE(body.contains(c.expect.member)) << reply.body;
      if (!c.expect.value.empty()) {
        EXPECT_EQ(body[c.expect.member], c.expect.value) << reply.body;
      }
      if (body.contains("error")) {
        EXPECT_TRUE(body["error"].is_string() && !body["error"].get<std::string>().empty())
            << reply.body;
      }
    }
    if (!c.expect.header.empty()) {
      EXPECT_TRUE(reply.headers.count(c.expect.header)) << c.expect.header;
    }
    EXPECT_FALSE(good_request().empty()) << "the server stopped serving after: " << c.name;
  }
  std::printf("malformed-input (%s): %zu bad requests tried, each followed by a good one\n",
              tls() ? "TLS" : "plain HTTP", tried);

  // Descriptors: every connection the table opened is closed again (the server may take up to
  // its keep-alive timeout to notice).
  size_t fds_after = 0;
  for (int i = 0; i < 60; ++i) {
    fds_after = testing::open_fd_count();
    if (fds_after <= fds_before) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_LE(fds_after, fds_before);
}

TEST_P(MalformedInputTest, StalledRequestDoesNotHoldUpOthers) {
  // A client that sends half a request occupies one worker until the read timeout, no more.
  std::thread stalled([&] {
    exchange(
        "POST /OAuth/Token HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n" + kForm + "\r\n\r\ngrant",
        5000);
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(good_request().empty());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.5);
  stalled.join();
}

INSTANTIATE_TEST_SUITE_P(Transports, MalformedInputTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Tls" : "Http";
                         });

}  // namespace
}  // namespace mock2ba
