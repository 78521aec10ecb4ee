// The OpenAPI document as JSON, and a table row's methods as a set: for the tests that hold the
// server's tables (endpoints, control routes, grants, OAuth errors) against the document.
#ifndef MOCK2BA_TESTS_OPENAPI_DOCUMENT_H_
#define MOCK2BA_TESTS_OPENAPI_DOCUMENT_H_

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "control/openapi.h"
#include "util/text_util.h"

namespace mock2ba::testing {

// The embedded document, parsed.
inline nlohmann::json document() { return nlohmann::json::parse(openapi_json()); }

// "GET HEAD" as {"GET", "HEAD"}.
inline std::set<std::string> split_methods(const std::string& methods) {
  std::set<std::string> out;
  for (const auto& method : split_spaces(methods)) out.insert(method);
  return out;
}

}  // namespace mock2ba::testing

#endif  // MOCK2BA_TESTS_OPENAPI_DOCUMENT_H_
