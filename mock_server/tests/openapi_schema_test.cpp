// The control API's bodies against the schemas of openapi.json, checked by a JSON-schema
// validator (valijson): request examples and valid bodies pass their schema and the server,
// bodies the schema rejects are rejected by the server with 400, and every reply matches the
// schema of its status, with no member the document leaves out.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "control/openapi.h"
#include "test_server.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using testing::Reply;
using testing::TestServer;

const json& document() {
  static const json doc = json::parse(openapi_json());
  return doc;
}

// The node a {"$ref": "#/..."} points to, or the node itself.
const json& deref(const json& node) {
  if (!node.is_object() || !node.contains("$ref")) return node;
  return deref(document().at(json::json_pointer(node["$ref"].get<std::string>().substr(1))));
}

// OpenAPI 3.0's schema dialect as JSON Schema draft 7: $refs inlined (the document has no
// cycles) and `nullable` as a "null" type. `closed` also forbids members an object schema
// does not list, so a reply member the document does not mention is a violation. Members named
// like a keyword that holds data (example, enum, default) are not converted.
json to_json_schema(const json& node, bool closed) {
  if (node.is_array()) {
    json out = json::array();
    for (const auto& item : node) out.push_back(to_json_schema(item, closed));
    return out;
  }
  if (!node.is_object()) return node;
  if (node.contains("$ref")) return to_json_schema(deref(node), closed);
  json out = json::object();
  for (const auto& [key, value] : node.items()) {
    static const std::set<std::string> kData = {"example", "examples", "enum", "default"};
    out[key] = kData.count(key) ? value : to_json_schema(value, closed);
  }
  if (out.value("nullable", false) && out.contains("type")) {
    out["type"] = json::array({out["type"], "null"});
  }
  out.erase("nullable");
  if (closed && out.value("type", json()) == "object" && out.contains("properties") &&
      !out.contains("additionalProperties")) {
    out["additionalProperties"] = false;
  }
  return out;
}

// What is wrong with `value` by `schema` (an OpenAPI schema), one line per violation.
std::vector<std::string> violations(const json& schema, const json& value, bool closed) {
  const json root = to_json_schema(schema, closed);
  valijson::Schema compiled;
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter schema_adapter(root);
  parser.populateSchema(schema_adapter, compiled);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter value_adapter(value);
  validator.validate(compiled, value_adapter, &results);
  std::vector<std::string> out;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string where;
    for (const auto& part : error.context) where += part;
    out.push_back(where + ": " + error.description);
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += "\n  " + line;
  return out;
}

const json& operation(const std::string& method, const std::string& path) {
  return document().at("paths").at(path).at(method);
}

const json& request_schema(const json& op) {
  return op.at("requestBody").at("content").at("application/json").at("schema");
}

// One call of the control API; `body` null sends none.
struct Call {
  std::string method;  // lower case, as in the document
  std::string path;
  json body;

  std::string name() const {
    return method + " " + path + (body.is_null() ? "" : " " + body.dump());
  }
};

Reply send(TestServer& mock, const Call& call) {
  std::string method = call.method;
  std::transform(method.begin(), method.end(), method.begin(), ::toupper);
  return mock.request(method, call.path, call.body.is_null() ? "" : call.body.dump(),
                      call.body.is_null() ? "" : "application/json");
}

// The reply is documented for its status: same media type, body valid by the closed schema.
void expect_documented_reply(const Call& call, const Reply& reply) {
  const json& responses = operation(call.method, call.path).at("responses");
  const std::string status = std::to_string(reply.status);
  ASSERT_TRUE(responses.contains(status))
      << call.name() << ": undocumented status " << status << ": " << reply.body;
  const json& content = deref(responses[status]).at("content");
  ASSERT_EQ(content.size(), 1u) << call.name();
  const std::string media_type = content.begin().key();
  EXPECT_EQ(reply.header("Content-Type").substr(0, reply.header("Content-Type").find(';')),
            media_type.substr(0, media_type.find(';')))
      << call.name();
  const json body = reply.json();
  ASSERT_FALSE(body.is_discarded()) << call.name() << ": not JSON: " << reply.body;
  auto wrong = violations(content.begin().value().at("schema"), body, /*closed=*/true);
  EXPECT_TRUE(wrong.empty()) << call.name() << " replied " << status << " " << reply.body
                             << joined(wrong);
}

// A request body the schema accepts must be accepted by the server, with a documented reply.
void expect_accepted(TestServer& mock, const Call& call) {
  const json& op = operation(call.method, call.path);
  if (op.contains("requestBody")) {
    auto wrong = violations(request_schema(op), call.body, /*closed=*/false);
    EXPECT_TRUE(wrong.empty()) << call.name() << " breaks its schema" << joined(wrong);
  }
  Reply reply = send(mock, call);
  EXPECT_EQ(reply.status, 200) << call.name() << ": " << reply.body;
  expect_documented_reply(call, reply);
}

constexpr char kRedirectUri[] = "http://127.0.0.1/callback";

// A valid POST /__mock/codes body for demo-client with `extra` members added.
json code_request(const json& extra) {
  json body = {{"client_id", "demo-client"}, {"username", "demo"}, {"redirect_uri", kRedirectUri}};
  body.update(extra);
  return body;
}

// The default fixture with tokens of every kind issued, rotated and coded, a fault queued and
// the journal holding a body that is not UTF-8: the replies then carry every optional member.
void make_history(TestServer& mock) {
  Reply login = mock.login();
  ASSERT_EQ(login.status, 200);
  ASSERT_EQ(mock.refresh(login.json()["refresh_token"]).status, 200);
  ASSERT_EQ(mock.login("openid offline_access").status, 200);
  Reply code = mock.post_json("/__mock/codes", code_request(json::object()));
  ASSERT_EQ(code.status, 200) << code.body;
  ASSERT_EQ(mock.post_form("/OAuth/Token", {{"grant_type", "authorization_code"},
                                            {"code", code.json()["code"]},
                                            {"redirect_uri", kRedirectUri},
                                            {"client_id", "demo-client"},
                                            {"client_secret", "demo-secret"}})
                .status,
            200);
  mock.request("POST", "/OAuth/Token", "grant_type=\xff\xfe", "application/x-www-form-urlencoded");
  ASSERT_EQ(mock.post_json("/__mock/faults", {{"path", "/1/json/Product/Search"}, {"delay_ms", 1}})
                .status,
            200);
}

std::string fixture_text() {
  std::ifstream in(testing::fixture_path("default"));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// One valid call of every control operation.
std::vector<Call> valid_calls() {
  return {
      {"get", "/__mock/health", nullptr},
      {"get", "/__mock/clock", nullptr},
      {"post", "/__mock/clock", {{"advance", 60}}},
      {"post", "/__mock/clock", {{"set", 1767225600}, {"frozen", true}}},
      {"post", "/__mock/clock", {{"frozen", false}}},
      {"get", "/__mock/requests", nullptr},
      {"get", "/__mock/faults", nullptr},
      {"post", "/__mock/faults", {{"path", "/OAuth/Token"}, {"status", 503}, {"times", 1}}},
      {"post", "/__mock/faults",
       json::array({{{"path", "/OAuth/Token"}, {"drop", true}},
                    {{"path", "/connect/token"},
                     {"grant_type", "password"},
                     {"status", 500},
                     {"headers", {{"Retry-After", "1"}}},
                     {"body", "{}"},
                     {"delay_ms", 0}}})},
      {"get", "/__mock/tokens", nullptr},
      {"post", "/__mock/tokens/expire", {{"user", "demo"}}},
      {"post", "/__mock/tokens/expire", {{"grant", "g1"}}},
      {"post", "/__mock/tokens/revoke", {{"grant", 2}}},
      {"post", "/__mock/tokens/revoke", {{"client", "demo-client"}}},
      {"post", "/__mock/tokens/revoke", {{"token", "no-such-token"}}},
      {"post", "/__mock/codes",
       code_request({{"client_id", "demo-public"},
                     {"scope", "openid"},
                     {"code_challenge", std::string(43, 'a')},
                     {"code_challenge_method", "plain"}})},
      {"get", "/__mock/openapi.json", nullptr},
      {"delete", "/__mock/requests", nullptr},
      {"delete", "/__mock/faults", nullptr},
      {"put", "/__mock/fixture", json::parse(fixture_text())},
      {"post", "/__mock/reset", nullptr},
  };
}

TEST(OpenApiSchema, RequestExamplesMatchTheirSchemasAndTheServerTakesThem) {
  int examples = 0;
  for (const auto& [path, item] : document().at("paths").items()) {
    for (const auto& [method, op] : item.items()) {
      if (!op.contains("requestBody")) continue;
      const json& media = op["requestBody"]["content"];
      if (!media.contains("application/json")) continue;
      const json listed = media["application/json"].value("examples", json::object());
      for (const auto& [name, example] : listed.items()) {
        ++examples;
        TestServer mock;
        expect_accepted(mock, {method, path, example.at("value")});
      }
    }
  }
  EXPECT_GE(examples, 4);
}

TEST(OpenApiSchema, EveryControlOperationTakesValidBodiesAndRepliesAsDocumented) {
  TestServer mock;
  make_history(mock);
  std::set<std::string> covered;
  for (const Call& call : valid_calls()) {
    covered.insert(call.method + " " + call.path);
    expect_accepted(mock, call);
  }
  for (const auto& [path, item] : document().at("paths").items()) {
    if (path.rfind("/__mock/", 0) != 0) continue;
    for (const auto& [method, op] : item.items()) {
      EXPECT_TRUE(covered.count(method + " " + path))
          << "no valid call of " << method << " " << path;
    }
  }
}

TEST(OpenApiSchema, BodiesTheSchemaRejectsTheServerRejectsWith400) {
  TestServer mock;
  const std::vector<Call> rejected = {
      {"post", "/__mock/clock", {{"advance", "60"}}},
      {"post", "/__mock/clock", {{"advance", 60}, {"set", 0}}},
      {"post", "/__mock/clock", {{"frozen", 1}}},
      {"post", "/__mock/clock", {{"speed", 2}}},
      {"post", "/__mock/clock", json::array()},
      {"post", "/__mock/faults", {{"status", 503}}},
      {"post", "/__mock/faults", {{"path", "/OAuth/Token"}, {"status", "503"}}},
      {"post", "/__mock/faults", {{"path", "/OAuth/Token"}, {"delay_ms", -1}}},
      {"post", "/__mock/faults", {{"path", "/OAuth/Token"}, {"status", 503}, {"times", -1}}},
      {"post", "/__mock/faults", {{"path", "/OAuth/Token"}, {"status", 503}, {"color", "red"}}},
      {"post", "/__mock/faults", {{"path", "/OAuth/Token"}, {"status", 99}}},
      {"post", "/__mock/faults", {{"path", "/OAuth/Token"}, {"status", 600}}},
      {"post", "/__mock/faults", {{"path", "/OAuth/Token"}, {"delay_ms", 600001}}},
      {"post", "/__mock/faults", {{"path", "OAuth/Token"}, {"status", 503}}},
      {"post", "/__mock/faults", {{"path", "/OAuth/Token"}}},
      {"post", "/__mock/faults", {{"path", "/OAuth/Token"}, {"drop", true}, {"status", 503}}},
      {"post", "/__mock/faults", json::array({{{"path", "/OAuth/Token"}, {"drop", "yes"}}})},
      {"post", "/__mock/tokens/revoke", json::object()},
      {"post", "/__mock/tokens/revoke", {{"user", "demo"}, {"client", "demo-client"}}},
      {"post", "/__mock/tokens/revoke", {{"token", 1}}},
      {"post", "/__mock/tokens/revoke", {{"token", ""}}},
      {"post", "/__mock/tokens/expire", {{"grant", "gx"}}},
      {"post", "/__mock/tokens/expire", {{"grant", true}}},
      {"post", "/__mock/tokens/expire", {{"scope", "openid"}}},
      {"post", "/__mock/codes", {{"client_id", "demo-client"}, {"username", "demo"}}},
      {"post", "/__mock/codes", {{"client_id", 5}, {"username", "demo"}, {"redirect_uri", "x"}}},
      {"post", "/__mock/codes",
       code_request({{"code_challenge", "a"}, {"code_challenge_method", "MD5"}})},
      {"post", "/__mock/codes",
       code_request({{"code_challenge", "a"}, {"code_challenge_method", ""}})},
      {"post", "/__mock/codes", code_request({{"state", "x"}})},
      {"put", "/__mock/fixture", json::array()},
  };
  for (const Call& call : rejected) {
    auto wrong = violations(request_schema(operation(call.method, call.path)), call.body,
                            /*closed=*/false);
    EXPECT_FALSE(wrong.empty()) << call.name() << ": the schema accepts it";
    Reply reply = send(mock, call);
    EXPECT_EQ(reply.status, 400) << call.name() << ": " << reply.body;
    expect_documented_reply(call, reply);
  }
}

}  // namespace
}  // namespace mock2ba
