// The pool that runs handlers which may block: idle threads exit, it refuses past its maximum,
// shutting down cuts sleeps short, and a thread that cannot start is a refusal.
#include "http/blocking_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <system_error>
#include <thread>

namespace mock2ba {
namespace {

using Clock = std::chrono::steady_clock;

TEST(BlockingPool, IdleThreadsExit) {
  BlockingPool::Options options;
  options.idle_timeout = std::chrono::milliseconds(50);
  BlockingPool pool(options);
  std::atomic<int> ran{0};
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(pool.submit([&ran] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ++ran;
    }));
  }
  EXPECT_GE(pool.thread_count(), 1u);
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while ((ran < 4 || pool.thread_count() > 0) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(ran, 4);
  EXPECT_EQ(pool.thread_count(), 0u);
}

TEST(BlockingPool, RefusesPastItsMaximumAndShutDownCutsSleepsShort) {
  BlockingPool::Options options;
  options.max_threads = 2;
  BlockingPool pool(options);
  std::atomic<int> cut_short{0};
  auto sleeper = [&] {
    if (!pool.sleep_for(std::chrono::minutes(10))) ++cut_short;
  };
  ASSERT_TRUE(pool.submit(sleeper));
  ASSERT_TRUE(pool.submit(sleeper));
  EXPECT_FALSE(pool.submit(sleeper));
  EXPECT_EQ(pool.thread_count(), 2u);
  auto started = Clock::now();
  pool.shut_down();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(1));
  EXPECT_EQ(cut_short, 2);
  EXPECT_FALSE(pool.submit([] {}));
}

TEST(BlockingPool, AThreadThatCannotStartIsARefusalNotAnAbort) {
  BlockingPool::Options options;
  options.spawn = [](std::function<void()>) -> std::thread {
    throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
  };
  BlockingPool pool(options);
  EXPECT_FALSE(pool.submit([] {}));
  EXPECT_EQ(pool.thread_count(), 0u);
}

}  // namespace
}  // namespace mock2ba
