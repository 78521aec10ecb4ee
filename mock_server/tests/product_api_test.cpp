// In-process HTTP tests of the companion product API under /1/json/.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "test_server.h"

namespace mock2ba::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class ProductApiTest : public ::testing::Test {
 protected:
  void SetUp() override { token_ = server_.login().json()["access_token"]; }
  Reply call(const std::string& path, const std::string& token) {
    return server_.get(path, {{"Authorization", "Bearer " + token}});
  }
  Reply call(const std::string& path) { return call(path, token_); }

  static void expect_api_error(const Reply& r, int status, const std::string& status_text) {
    EXPECT_EQ(r.status, status) << r.body;
    json body = r.json();
    EXPECT_EQ(body["IsError"], true);
    EXPECT_EQ(body["Status"], status_text);
    EXPECT_TRUE(body["ErrorMessage"].is_string());
  }

  TestServer server_;
  std::string token_;
};

TEST_F(ProductApiTest, DetailsForProductPadsThirteenDigitEans) {
  Reply r = call("/1/json/Product/DetailsForProduct?gtin=8711893010011");
  ASSERT_EQ(r.status, 200) << r.body;
  json p = r.json();
  EXPECT_EQ(p["GTIN"], "08711893010011");
  EXPECT_EQ(p["ManufacturerName"], "Niko");
  EXPECT_TRUE(p["Features"].is_array());
}

TEST_F(ProductApiTest, DetailsByGtinAIncludesFeaturesOnlyWhenAsked) {
  EXPECT_FALSE(
      call("/1/json/Product/DetailsByGtinA?gtin=08711893010011").json().contains("Features"));
  EXPECT_TRUE(call("/1/json/Product/DetailsByGtinA?gtin=08711893010011&includeFeatures=true")
                  .json()
                  .contains("Features"));
  expect_api_error(call("/1/json/Product/DetailsByGtinA?gtin=08711893010011&includeFeatures=maybe"),
                   400, "BadRequest");
}

TEST_F(ProductApiTest, SearchMatchesDescriptions) {
  json r = call("/1/json/Product/Search?query=kabelgoot").json();
  ASSERT_EQ(r["Products"].size(), 1u);
  EXPECT_EQ(r["Products"][0]["Productcode"], "6062101");
  EXPECT_EQ(r["TotalCount"], 1);
}

// Replies are rendered once per fixture and then served as text: they must stay the fixture's
// records written as compact JSON (keys in order), like dumping them on every call did.
TEST_F(ProductApiTest, RepliesAreTheFixtureRecordsAsCompactJson) {
  std::ifstream in(fixture_path("default"));
  json products = json::parse(in)["products"];
  ASSERT_GE(products.size(), 2u);
  for (const json& product : products) {
    std::string gtin = product["GTIN"];
    EXPECT_EQ(call("/1/json/Product/DetailsForProduct?gtin=" + gtin).body, product.dump());
    json summary = product;
    summary.erase("Features");
    EXPECT_EQ(call("/1/json/Product/DetailsByGtinA?gtin=" + gtin).body, summary.dump());
  }
  Reply many = call("/1/json/Product/Search?query=e");
  json found = many.json();
  ASSERT_GE(found["Products"].size(), 2u);
  EXPECT_EQ(many.body, found.dump());
  EXPECT_EQ(found["TotalCount"], found["Products"].size());
  for (const json& summary : found["Products"]) {
    EXPECT_FALSE(summary.contains("Features"));
    EXPECT_TRUE(std::any_of(products.begin(), products.end(),
                            [&](const json& p) { return p["Id"] == summary["Id"]; }));
  }
  EXPECT_EQ(call("/1/json/Product/Search?query=no-such-thing").body,
            R"({"Products":[],"TotalCount":0})");
}

TEST_F(ProductApiTest, TradeItemsForGln) {
  json r = call("/1/json/TradeItem/ForGLN?gln=8712423000001").json();
  ASSERT_EQ(r["TradeItems"].size(), 2u);
  EXPECT_EQ(r["TradeItems"][0]["SupplierName"], "Technische Unie");
  EXPECT_TRUE(r["TradeItems"][0]["GrossPriceInPriceUnit"].is_number());
  EXPECT_EQ(
      call("/1/json/TradeItem/DetailsByGLNAndTradeItemIdA?gln=8712423000001&tradeItemId=TU-6062101")
          .json()["ProductId"],
      10002);
  EXPECT_EQ(
      call("/1/json/Product/DetailsByGLNAndTradeItemId?gln=8712423000001&tradeItemId=TU-6062101")
          .json()["Id"],
      10002);
}

TEST_F(ProductApiTest, PathsAndParametersAreCaseInsensitive) {
  EXPECT_EQ(call("/1/JSON/product/detailsforproduct?GTIN=08711893010011").status, 200);
}

TEST_F(ProductApiTest, MissingTokenIs401WithoutErrorCode) {
  Reply r = server_.get("/1/json/Product/DetailsForProduct?gtin=08711893010011");
  expect_api_error(r, 401, "Unauthorized");
  EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer realm=\"2BA\"");
}

TEST_F(ProductApiTest, UnknownExpiredAndRevokedTokensAre401InvalidToken) {
  Reply unknown = call("/1/json/Product/DetailsForProduct?gtin=08711893010011", "bogus");
  expect_api_error(unknown, 401, "Unauthorized");
  EXPECT_THAT(unknown.header("WWW-Authenticate"), HasSubstr("error=\"invalid_token\""));

  server_.advance_clock(3600);
  Reply expired = call("/1/json/Product/DetailsForProduct?gtin=08711893010011");
  expect_api_error(expired, 401, "Unauthorized");
  EXPECT_THAT(expired.json()["ErrorMessage"].get<std::string>(), HasSubstr("expired"));
  EXPECT_EQ(server_.journal().back()["outcome"]["token_state"], "expired");

  std::string fresh = server_.login().json()["access_token"];
  ASSERT_EQ(server_.post_json("/__mock/tokens/revoke", {{"user", "demo"}}).status, 200);
  Reply revoked = call("/1/json/Product/DetailsForProduct?gtin=08711893010011", fresh);
  expect_api_error(revoked, 401, "Unauthorized");
  EXPECT_THAT(revoked.json()["ErrorMessage"].get<std::string>(), HasSubstr("revoked"));
}

TEST_F(ProductApiTest, TokenInQueryWorksButNotTogetherWithTheHeader) {
  EXPECT_EQ(
      server_.get("/1/json/Product/DetailsForProduct?gtin=08711893010011&access_token=" + token_)
          .status,
      200);
  EXPECT_EQ(server_.journal().back()["outcome"]["token_source"], "query");
  expect_api_error(
      call("/1/json/Product/DetailsForProduct?gtin=08711893010011&access_token=" + token_), 400,
      "BadRequest");
}

TEST_F(ProductApiTest, UserWithoutTheRightGets401) {
  json doc = json::parse(R"({"clients": [{"client_id": "c", "client_secret": "s"}],
                             "users": [{"username": "limited", "password": "p", "rights": ["Product"]}],
                             "trade_items": [{"SupplierGLN": "8712423000001", "SuppliersTradeItemId": "A"}]})");
  ASSERT_EQ(server_.request("PUT", "/__mock/fixture", doc.dump(), "application/json").status, 200);
  std::string token = server_
                          .post_form("/OAuth/Token", {{"grant_type", "password"},
                                                      {"username", "limited"},
                                                      {"password", "p"},
                                                      {"client_id", "c"},
                                                      {"client_secret", "s"}})
                          .json()["access_token"];
  Reply r = call("/1/json/TradeItem/ForGLN?gln=8712423000001", token);
  expect_api_error(r, 401, "Unauthorized");
  EXPECT_THAT(r.json()["ErrorMessage"].get<std::string>(),
              HasSubstr("not authorized for this service"));
  EXPECT_EQ(call("/1/json/Product/Search?query=x", token).status, 200);
}

TEST_F(ProductApiTest, BadParametersAre400AndUnknownThingsAre404) {
  expect_api_error(call("/1/json/Product/DetailsForProduct"), 400, "BadRequest");
  expect_api_error(call("/1/json/Product/DetailsForProduct?gtin=12ab"), 400, "BadRequest");
  expect_api_error(call("/1/json/TradeItem/ForGLN?gln=123"), 400, "BadRequest");
  expect_api_error(call("/1/json/Product/Search"), 400, "BadRequest");
  expect_api_error(call("/1/json/Product/DetailsForProduct?gtin=00000000000000"), 404, "NotFound");
  expect_api_error(call("/1/json/Product/NoSuchFunction"), 404, "NotFound");
  Reply post = server_.request("POST", "/1/json/Product/Search?query=x", "", "",
                               {{"Authorization", "Bearer " + token_}});
  expect_api_error(post, 405, "MethodNotAllowed");
}

}  // namespace
}  // namespace mock2ba::testing
