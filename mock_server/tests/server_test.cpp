// The mock server as a whole: the options it refuses before binding.
#include "server/server.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace mock2ba {
namespace {

TEST(Server, RefusesNonLoopbackWithoutAdminToken) {
  ServerOptions options;
  options.fixture_path = std::string(TWOBA_FIXTURE_DIR) + "/default.json";
  options.host = "0.0.0.0";
  EXPECT_THROW(MockServer server(options), std::invalid_argument);
  options.admin_token = "long-enough-token";
  EXPECT_NO_THROW(MockServer server(options));
}

}  // namespace
}  // namespace mock2ba
