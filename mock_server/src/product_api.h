// The companion product API under /1/json/: Bearer-protected reads of the fixture's products.
#ifndef MOCK2BA_PRODUCT_API_H_
#define MOCK2BA_PRODUCT_API_H_

#include <string>
#include <vector>

#include "exchange.h"

namespace mock2ba {

// Whether a lower-cased route belongs to the product API.
bool is_product_api_route(const std::string& lower_route);

// Every product-API path the server answers, e.g. "/1/json/product/search" (lower case).
std::vector<std::string> product_api_routes();

// Answers a product-API call with 2BA's field names and {IsError,ErrorMessage,Status} errors.
void handle_product_api(Exchange& ex);

}  // namespace mock2ba

#endif  // MOCK2BA_PRODUCT_API_H_
