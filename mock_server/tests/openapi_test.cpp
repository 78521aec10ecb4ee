// The OpenAPI document against the server: every served route is documented and every
// documented path is served, its $refs resolve, and GET /__mock/openapi.json serves it. (Each
// table against the document: endpoints_test, control_api_test, grant_types_test,
// oauth_error_test.)
#include "control/openapi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "control/control_api.h"
#include "oauth/endpoints.h"
#include "openapi_document.h"
#include "product/product_api.h"
#include "test_server.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using testing::document;
using testing::TestServer;

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

}  // namespace
}  // namespace mock2ba
