// The companion product API under /1/json/: Bearer-protected reads of the fixture's products.
#ifndef MOCK2BA_PRODUCT_API_H_
#define MOCK2BA_PRODUCT_API_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "oauth/request_context.h"

namespace mock2ba {

// A fixture's products rendered once, so that a product call neither copies nor serialises
// JSON: each product's reply text with and without its Features, its search text, and an index
// by GTIN (left-padded to 14 digits; the first product with a GTIN wins).
struct ProductCatalog {
  explicit ProductCatalog(const Fixture& fixture);

  std::vector<std::string> full;      // fixture.products[i].dump()
  std::vector<std::string> summary;   // the same without "Features"
  std::vector<std::string> haystack;  // lower-cased searchable fields, '\n'-terminated
  std::unordered_map<std::string, size_t> by_gtin;
};

// Whether a lower-cased route belongs to the product API.
bool is_product_api_route(const std::string& lower_route);

// Every product-API path the server answers, e.g. "/1/json/product/search" (lower case).
std::vector<std::string> product_api_routes();

// Answers a product-API call with 2BA's field names and {IsError,ErrorMessage,Status} errors.
void handle_product_api(RequestContext& ctx);

}  // namespace mock2ba

#endif  // MOCK2BA_PRODUCT_API_H_
