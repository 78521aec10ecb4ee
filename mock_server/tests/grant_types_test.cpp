// The grant type table against everything that reads it: discovery, the document's TokenRequest,
// a confidential client's default grants, and the token endpoint's dispatch to each handler.
#include "oauth/grant_types.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "oauth/fixture.h"
#include "openapi_document.h"
#include "test_server.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using testing::document;
using testing::TestServer;

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

}  // namespace
}  // namespace mock2ba
