#include "util/clock.h"

#include <gtest/gtest.h>

namespace mock2ba {
namespace {

TEST(VirtualClock, FrozenClockMovesOnlyWhenTold) {
  VirtualClock clock(1'000'000, /*frozen=*/true);
  EXPECT_EQ(clock.now_ms(), 1'000'000);
  clock.advance(60'000);
  EXPECT_EQ(clock.now_ms(), 1'060'000);
  clock.set(5'000);
  EXPECT_EQ(clock.now_ms(), 5'000);
}

TEST(VirtualClock, FlowingClockFollowsRealTimeFromItsStart) {
  VirtualClock clock(1'000'000, /*frozen=*/false);
  TimeMs first = clock.now_ms();
  EXPECT_GE(first, 1'000'000);
  EXPECT_LT(first, 1'000'000 + 5'000);
  clock.advance(3'600'000);
  EXPECT_GE(clock.now_ms(), first + 3'600'000);
}

TEST(VirtualClock, FreezingKeepsTheCurrentInstant) {
  VirtualClock clock(2'000'000, /*frozen=*/false);
  clock.advance(1'000);
  clock.set_frozen(true);
  TimeMs frozen_at = clock.now_ms();
  EXPECT_TRUE(clock.frozen());
  EXPECT_EQ(clock.now_ms(), frozen_at);
  EXPECT_GE(frozen_at, 2'001'000);
}

}  // namespace
}  // namespace mock2ba
