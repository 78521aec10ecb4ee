// The OpenAPI document against the server: every served route is documented and every
// documented path is served, its $refs resolve, and GET /__mock/openapi.json serves it. And the
// grant and endpoint tables against everything that reads them (discovery, routing, faults, the
// fixture's defaults, the document), so that a table and a reader cannot drift apart.
#include "control/openapi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "control/control_api.h"
#include "control/faults.h"
#include "http/responses.h"
#include "oauth/endpoints.h"
#include "oauth/fixture.h"
#include "oauth/grant_types.h"
#include "oauth/oauth_error.h"
#include "product/product_api.h"
#include "test_server.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using testing::TestServer;

json document() { return json::parse(openapi_json()); }

// Served routes, lower-cased, from the tables the server dispatches with.
std::set<std::string> served_routes() {
  std::set<std::string> out;
  for (const auto& endpoint : endpoints()) out.insert(to_lower(endpoint.path));
  for (const auto& r : product_api_routes()) out.insert(r);
  for (const auto& r : control_api_routes()) out.insert(r);
  return out;
}

std::set<std::string> documented_routes(const json& doc) {
  std::set<std::string> out;
  for (const auto& item : doc["paths"].items()) out.insert(to_lower(item.key()));
  return out;
}

TEST(OpenApi, IsAnOpenApi3DocumentWithTheProjectVersion) {
  json doc = document();
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  EXPECT_EQ(doc["info"]["version"], TWOBA_VERSION);
  EXPECT_FALSE(doc["paths"].empty());
}

TEST(OpenApi, EveryServedRouteIsDocumentedAndEveryDocumentedPathIsServed) {
  TestServer mock;
  std::set<std::string> served = served_routes();
  std::set<std::string> documented = documented_routes(document());
  ASSERT_GE(served.size(), 15u);  // token, discovery, six product and ten control routes
  for (const auto& route : served)
    EXPECT_TRUE(documented.count(route)) << "undocumented: " << route;
  for (const auto& path : documented) EXPECT_TRUE(served.count(path)) << "not served: " << path;
}

// Every documented operation is answered by its endpoint, not by the catch-all 404.
TEST(OpenApi, EveryDocumentedOperationReachesAnEndpoint) {
  TestServer mock;
  json doc = document();
  for (const auto& path : doc["paths"].items()) {
    for (const auto& op : path.value().items()) {
      std::string method = op.key();
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      auto reply = mock.request(method, path.key(), "", "application/json");
      std::string where = method + " " + path.key();
      ASSERT_NE(reply.status, 0) << where;
      EXPECT_EQ(reply.body.find("No endpoint"), std::string::npos) << where << ": " << reply.body;
      EXPECT_EQ(reply.body.find("No control endpoint"), std::string::npos) << where;
      EXPECT_EQ(reply.body.find("There is no service function"), std::string::npos) << where;
      EXPECT_NE(reply.status, 405) << where << " is documented but the endpoint refuses the method";
    }
  }
}

void collect_refs(const json& node, std::vector<std::string>* refs) {
  if (node.is_object()) {
    for (const auto& item : node.items()) {
      if (item.key() == "$ref" && item.value().is_string()) refs->push_back(item.value());
      collect_refs(item.value(), refs);
    }
  } else if (node.is_array()) {
    for (const auto& v : node) collect_refs(v, refs);
  }
}

TEST(OpenApi, EveryReferenceResolvesAndEveryOperationHasResponses) {
  json doc = document();
  std::vector<std::string> refs;
  collect_refs(doc, &refs);
  ASSERT_FALSE(refs.empty());
  for (const auto& ref : refs) {
    ASSERT_EQ(ref.rfind("#/", 0), 0u) << ref;
    json::json_pointer pointer(ref.substr(1));
    EXPECT_TRUE(doc.contains(pointer)) << "dangling $ref " << ref;
  }
  static const std::set<std::string> kMethods = {"get", "post", "put", "delete", "patch"};
  for (const auto& path : doc["paths"].items()) {
    for (const auto& op : path.value().items()) {
      EXPECT_TRUE(kMethods.count(op.key())) << path.key() << ": " << op.key();
      EXPECT_FALSE(op.value().value("responses", json::object()).empty()) << path.key();
      EXPECT_TRUE(op.value().contains("summary")) << path.key() << " " << op.key();
    }
  }
}

TEST(OpenApi, ServedAtMockOpenApiJsonWithThisServerAsFirstServer) {
  TestServer mock;
  auto reply = mock.get("/__mock/openapi.json");
  ASSERT_EQ(reply.status, 200);
  EXPECT_NE(reply.header("Content-Type").find("application/json"), std::string::npos);
  json served = reply.json();
  ASSERT_TRUE(served.is_object());
  EXPECT_EQ(served["servers"][0]["url"], mock.base_url());
  json expected = document();
  expected["servers"][0]["url"] = mock.base_url();
  EXPECT_EQ(served, expected);

  auto scenario = mock.get("/s/fast-expiry/__mock/openapi.json");
  ASSERT_EQ(scenario.status, 200);
  EXPECT_EQ(scenario.json()["servers"][0]["url"], mock.base_url() + "/s/fast-expiry");
  EXPECT_EQ(mock.request("POST", "/__mock/openapi.json").status, 405);
}

TEST(OpenApi, TokenReplyAndErrorSchemasMatchWhatTheServerSends) {
  TestServer mock;
  json doc = document();
  const json& schemas = doc["components"]["schemas"];
  auto check = [&](const json& body, const std::string& schema) {
    ASSERT_TRUE(body.is_object()) << schema;
    for (const auto& key : schemas[schema]["required"]) {
      EXPECT_TRUE(body.contains(key.get<std::string>())) << schema << " lacks " << key;
    }
    if (schemas[schema].value("additionalProperties", json(true)) == json(false) ||
        !schemas[schema].contains("additionalProperties")) {
      for (const auto& item : body.items()) {
        EXPECT_TRUE(schemas[schema]["properties"].contains(item.key()))
            << schema << " does not document " << item.key();
      }
    }
  };
  auto tokens = mock.login();
  ASSERT_EQ(tokens.status, 200);
  check(tokens.json(), "TokenResponse");
  auto error = mock.refresh("no-such-token");
  ASSERT_EQ(error.status, 400);
  check(error.json(), "OAuthError");
  auto api = mock.get("/1/json/Product/DetailsForProduct?gtin=8711893010011");
  ASSERT_EQ(api.status, 401);
  check(api.json(), "ApiError");
  check(mock.get("/__mock/clock").json(), "Clock");
  check(mock.get("/__mock/health").json(), "Health");
  check(mock.get("/__mock/requests").json(), "Journal");
  check(mock.get("/__mock/requests").json()["requests"][0], "JournalEntry");
  check(mock.get("/__mock/tokens").json(), "TokenList");
  check(mock.get("/__mock/faults").json(), "FaultList");
}

std::set<std::string> registered_grants() {
  std::set<std::string> out;
  for (const GrantType& grant : grant_types()) out.insert(grant.name);
  return out;
}

TEST(GrantTable, EveryGrantIsInDiscoveryTheDocumentAndAConfidentialClientsDefaults) {
  std::set<std::string> grants = registered_grants();
  ASSERT_EQ(grants.size(), grant_types().size()) << "a grant type is registered twice";
  TestServer mock;
  auto discovery = mock.get("/.well-known/openid-configuration").json();
  EXPECT_EQ(discovery["grant_types_supported"].get<std::set<std::string>>(), grants);
  json doc = document();
  EXPECT_EQ(doc["components"]["schemas"]["TokenRequest"]["properties"]["grant_type"]["enum"]
                .get<std::set<std::string>>(),
            grants);
  Fixture fixture = parse_fixture(json::parse(R"({
    "clients": [{"client_id": "c", "client_secret": "s"}],
    "users": [{"username": "u", "password": "p"}]})"),
                                  "test.json");
  EXPECT_EQ(fixture.clients.at("c").grant_types, grants);
}

// Each registered grant reaches its own handler: for a client given every grant (a confidential
// client's default), a request with only grant_type and the credentials is not refused for its
// grant type; the handler asks for its own parameters (or, needing none, answers).
TEST(GrantTable, EveryGrantIsServedByItsHandler) {
  TestServer mock;
  json fixture = {{"clients", {{{"client_id", "c"}, {"client_secret", "s"}}}},
                  {"users", {{{"username", "u"}, {"password", "p"}}}}};
  ASSERT_EQ(mock.request("PUT", "/__mock/fixture", fixture.dump(), "application/json").status, 200);
  for (const GrantType& grant : grant_types()) {
    auto reply = mock.post_form(
        "/connect/token", {{"grant_type", grant.name}, {"client_id", "c"}, {"client_secret", "s"}});
    EXPECT_TRUE(reply.status == 200 || reply.json()["error"] == "invalid_request")
        << grant.name << ": " << reply.status << " " << reply.body;
  }
  auto unknown = mock.post_form(
      "/connect/token",
      {{"grant_type", "urn:example:no-such-grant"}, {"client_id", "c"}, {"client_secret", "s"}});
  EXPECT_EQ(unknown.json()["error"], "unsupported_grant_type");
  EXPECT_NE(unknown.json()["error_description"].get<std::string>().find(grant_type_names()),
            std::string::npos);
}

std::set<std::string> split_methods(const std::string& methods) {
  std::set<std::string> out;
  for (const auto& method : split_spaces(methods)) out.insert(method);
  return out;
}

// Every path in the table is documented with its methods, routed to its endpoint for each of
// them (not the catch-all 404) and refused with 405 for another method.
TEST(EndpointTable, EveryPathIsDocumentedWithItsMethodsAndRouted) {
  TestServer mock;
  json doc = document();
  for (const Endpoint& endpoint : endpoints()) {
    std::set<std::string> methods = split_methods(endpoint.methods);
    ASSERT_FALSE(methods.empty()) << endpoint.path;
    std::set<std::string> documented;
    const json operations = doc["paths"].value(endpoint.path, json::object());
    for (const auto& op : operations.items()) {
      std::string method = op.key();
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      documented.insert(method);
    }
    EXPECT_EQ(documented, methods) << endpoint.path;
    for (const auto& method : methods) {
      auto reply = mock.request(method, endpoint.path);
      EXPECT_NE(reply.status, 0) << method << " " << endpoint.path;
      EXPECT_NE(reply.status, 404) << method << " " << endpoint.path << ": " << reply.body;
      EXPECT_NE(reply.status, 405) << method << " " << endpoint.path;
    }
    auto refused = mock.request("DELETE", endpoint.path);
    EXPECT_EQ(refused.status, 405) << endpoint.path;
    EXPECT_EQ(refused.header("Allow"), allow_header(endpoint.methods)) << endpoint.path;
    EXPECT_EQ(refused.json()["error"], "invalid_request") << endpoint.path;
    if (methods.count("GET")) EXPECT_NE(mock.request("HEAD", endpoint.path).status, 405);
  }
  EXPECT_EQ(mock.request("GET", "/connect/no-such-endpoint").status, 404);
}

// The control API's table decides its methods the same way: 405 with the row's Allow.
TEST(ControlRouteTable, EveryRouteIsDocumentedWithItsMethodsAndRefusesOthers) {
  TestServer mock;
  json doc = document();
  for (const std::string& path : control_api_routes()) {
    const ControlRoute* route = find_control_route(path);
    ASSERT_NE(route, nullptr) << path;
    std::set<std::string> documented;
    for (const auto& op : doc["paths"].value(path, json::object()).items()) {
      std::string method = op.key();
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      documented.insert(method);
    }
    EXPECT_EQ(documented, split_methods(route->methods)) << path;
    auto refused = mock.request("PATCH", path);
    EXPECT_EQ(refused.status, 405) << path;
    EXPECT_EQ(refused.header("Allow"), allow_header(route->methods)) << path;
  }
  EXPECT_EQ(find_control_route("/__mock/no-such-route"), nullptr);
  EXPECT_EQ(mock.request("GET", "/__mock/no-such-route").status, 404);
}

// The OAuth error table's JSON codes are exactly the document's OAuthError enum.
TEST(OAuthErrorTable, TheDocumentListsExactlyTheCodesSentAsJson) {
  json doc = document();
  std::set<std::string> documented;
  for (const auto& code : doc["components"]["schemas"]["OAuthError"]["properties"]["error"]["enum"])
    documented.insert(code.get<std::string>());
  std::set<std::string> sent_as_json;
  for (const OAuthErrorCode& code : kOAuthErrors) {
    if (code.json_body) sent_as_json.insert(code.name);
  }
  EXPECT_EQ(documented, sent_as_json);
  EXPECT_STREQ(oauth_error_name(OAuthError::kInvalidGrant), "invalid_grant");
}

TEST(EndpointTable, DiscoveryNamesExactlyTheTablesDiscoveryPaths) {
  TestServer mock;
  auto discovery = mock.get("/.well-known/openid-configuration").json();
  std::set<std::string> keys;
  for (const Endpoint& endpoint : endpoints()) {
    if (!endpoint.discovery_key) continue;
    keys.insert(endpoint.discovery_key);
    EXPECT_EQ(discovery[endpoint.discovery_key], mock.base_url() + endpoint.path);
  }
  for (const auto& item : discovery.items()) {
    const std::string& key = item.key();
    if (key.size() > 9 && key.compare(key.size() - 9, 9, "_endpoint") == 0)
      EXPECT_TRUE(keys.count(key)) << key << " is not from the endpoint table";
  }
  const json doc = document();  // a range-for over document()[…] would outlive the document
  for (const auto& required : doc["components"]["schemas"]["Discovery"]["required"]) {
    std::string key = required.get<std::string>();
    if (key != "issuer") EXPECT_TRUE(keys.count(key)) << key << " is required but not in the table";
  }
}

// A fault set on one path of an endpoint hits a request to any of its paths, and no other.
TEST(EndpointTable, AFaultOnOnePathOfAnEndpointMatchesEveryPathOfIt) {
  for (const Endpoint& set_on : endpoints()) {
    for (const Endpoint& requested : endpoints()) {
      FaultQueue faults;
      std::string error;
      ASSERT_TRUE(faults.add({{"path", set_on.path}, {"status", 503}}, &error)) << error;
      bool hit = faults.take(to_lower(requested.path), "").has_value();
      EXPECT_EQ(hit, std::string(set_on.name) == requested.name)
          << set_on.path << " -> " << requested.path;
    }
  }
}

}  // namespace
}  // namespace mock2ba
