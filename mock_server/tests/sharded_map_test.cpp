#include "util/sharded_map.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace mock2ba {
namespace {

TEST(ShardedMap, FindsCountsAndIteratesWhatWasInserted) {
  ShardedMap<std::string, int> map;
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.begin(), map.end());
  for (int i = 0; i < 5000; ++i) map["key" + std::to_string(i)] = i;
  EXPECT_FALSE(map.try_emplace("key7", -1).second);  // present: not replaced
  EXPECT_TRUE(map.emplace("extra", 1).second);
  EXPECT_EQ(map.size(), 5001u);
  EXPECT_EQ(map.at("key7"), 7);
  EXPECT_EQ(map.count("key4999"), 1u);
  EXPECT_EQ(map.find("missing"), map.end());
  EXPECT_THROW(map.at("missing"), std::out_of_range);

  std::set<std::string> seen;
  const auto& const_map = map;
  for (const auto& [key, value] : const_map) {
    EXPECT_TRUE(seen.insert(key).second) << key;  // every element exactly once
    EXPECT_EQ(const_map.find(key)->second, value);
  }
  EXPECT_EQ(seen.size(), map.size());
}

TEST(ShardedMap, EraseWhileIteratingVisitsAndKeepsTheRest) {
  ShardedMap<uint64_t, uint64_t> map;  // counting ids, as grant ids are
  for (uint64_t id = 1; id <= 4000; ++id) map[id] = id;
  size_t visited = 0;
  for (auto it = map.begin(); it != map.end();) {
    ++visited;
    it = it->first % 2 == 0 ? map.erase(it) : std::next(it);
  }
  EXPECT_EQ(visited, 4000u);
  EXPECT_EQ(map.size(), 2000u);
  for (uint64_t id = 1; id <= 4000; ++id) EXPECT_EQ(map.count(id), id % 2) << id;
  EXPECT_EQ(map.erase(1), 1u);
  EXPECT_EQ(map.erase(1), 0u);
  EXPECT_EQ(map.size(), 1999u);
  map.insert_or_assign(uint64_t{3}, uint64_t{33});
  EXPECT_EQ(map.at(3), 33u);
  map.clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.begin(), map.end());
}

}  // namespace
}  // namespace mock2ba
