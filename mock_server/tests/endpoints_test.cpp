// The endpoint table against everything that reads it: the document's paths and methods, routing
// with 405 and Allow for other methods, discovery's endpoint keys, and fault matching.
#include "oauth/endpoints.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "control/faults.h"
#include "http/responses.h"
#include "openapi_document.h"
#include "test_server.h"
#include "util/text_util.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using testing::document;
using testing::split_methods;
using testing::TestServer;

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
    if (methods.count("GET")) {
      EXPECT_NE(mock.request("HEAD", endpoint.path).status, 405) << endpoint.path;
    }
  }
  EXPECT_EQ(mock.request("GET", "/connect/no-such-endpoint").status, 404);
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
    if (key.size() > 9 && key.compare(key.size() - 9, 9, "_endpoint") == 0) {
      EXPECT_TRUE(keys.count(key)) << key << " is not from the endpoint table";
    }
  }
  const json doc = document();  // a range-for over document()[…] would outlive the document
  for (const auto& required : doc["components"]["schemas"]["Discovery"]["required"]) {
    std::string key = required.get<std::string>();
    if (key != "issuer") {
      EXPECT_TRUE(keys.count(key)) << key << " is required but not in the table";
    }
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
