// The journal's memory bounds: request bodies cut at kJournalBodyLimit and marked, and the oldest
// entries dropped when the byte budget is spent.
#include "control/journal.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "test_support.h"

namespace mock2ba {
namespace {

using nlohmann::json;
using testing::InProcess;

using JournalMemory = InProcess;

TEST_F(JournalMemory, LargeBodiesAreCutAndMarked) {
  const std::string big(1 << 20, 'x');
  for (int i = 0; i < 3; ++i) {
    auto reply = client_->Post("/no/such/endpoint", big, "text/plain");
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, 404);
  }
  auto journal = json::parse(client_->Get("/__mock/requests")->body)["requests"];
  ASSERT_EQ(journal.size(), 3u);
  for (const auto& entry : journal) {
    EXPECT_EQ(entry["body"].get<std::string>().size(), kJournalBodyLimit);
    EXPECT_EQ(entry["body_truncated"], true);
    EXPECT_EQ(entry["body_size"], 1 << 20);
  }
}

TEST(JournalBytes, TheOldestEntriesGoWhenTheBytesAreSpent) {
  const size_t kCap = 1 << 20;
  Journal journal(10000, kCap);
  for (int i = 0; i < 100; ++i) {
    JournalEntry entry;
    entry.path = "/x";
    entry.body = std::string(kJournalBodyLimit * 2, 'b');
    journal.record(std::move(entry));
  }
  json all = journal.to_json(0, std::nullopt);
  size_t kept = 0;
  for (const auto& e : all["requests"]) kept += e["body"].get<std::string>().size();
  EXPECT_LE(kept, kCap);
  EXPECT_GT(kept, kCap / 2);
  EXPECT_EQ(all["dropped"].get<size_t>() + all["requests"].size(), 100u);
  EXPECT_EQ(all["requests"].back()["seq"], 100);
}

}  // namespace
}  // namespace mock2ba
