// Which requests are on disk before their reply when --state-file is set.
#include "server/state_persistence.h"

#include <gtest/gtest.h>
#include <httplib.h>

namespace mock2ba {
namespace {

// One rule decides which requests are on disk before their reply: all but the safe methods
// (the control API once skipped only GET, dispatch GET and HEAD).
TEST(StatePersistence, EveryMethodButTheSafeOnesCommits) {
  httplib::Request req;
  for (const char* safe : {"GET", "HEAD", "OPTIONS", "TRACE"}) {
    req.method = safe;
    EXPECT_FALSE(commits_state(req)) << safe;
  }
  for (const char* changing : {"POST", "PUT", "DELETE", "PATCH"}) {
    req.method = changing;
    EXPECT_TRUE(commits_state(req)) << changing;
  }
}

}  // namespace
}  // namespace mock2ba
