// Faults whose status cannot carry a body: refused when they ask for one, and sent without one.
#include "control/faults.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <string>

#include "reliability_support.h"

namespace mock2ba {
namespace {

using testing::InProcess;

using FaultStatus = InProcess;

TEST_F(FaultStatus, StatusesThatCannotCarryABodyAreRefusedOrSentWithout) {
  for (const char* fault : {R"({"path":"/OAuth/Token","status":101})",
                            R"({"path":"/OAuth/Token","status":100,"body":"x"})",
                            R"({"path":"/OAuth/Token","status":204,"body":"{}"})",
                            R"({"path":"/OAuth/Token","status":304,"body":"x"})"}) {
    auto reply = post_json("/__mock/faults", fault);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 400) << fault;
  }
  ASSERT_EQ(post_json("/__mock/faults", R"({"path":"/OAuth/Token","status":204})")->status, 200);
  // The 204 ends at its headers: nothing follows them before the connection closes.
  testing::RawReply reply =
      testing::raw_exchange(server_->port(), testing::raw_request("POST", "/OAuth/Token"));
  EXPECT_EQ(reply.status, 204);
  EXPECT_TRUE(reply.body.empty()) << reply.body;
  EXPECT_EQ(reply.headers.count("content-type"), 0u);
}

}  // namespace
}  // namespace mock2ba
