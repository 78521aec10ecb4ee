#include "twoba/retry.h"

#include <gtest/gtest.h>

namespace twoba {
namespace {

using std::chrono::milliseconds;

// 1994-11-06T08:49:37Z, the RFC 9110 example date.
const auto kExampleDate = std::chrono::system_clock::from_time_t(784111777);

TEST(RetryAfter, DelaySeconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("120", now), milliseconds(120000));
  EXPECT_EQ(parse_retry_after(" 3 ", now), milliseconds(3000));
  EXPECT_EQ(parse_retry_after("0", now), milliseconds(0));
}

TEST(RetryAfter, AllThreeHttpDateForms) {
  const auto now = kExampleDate - std::chrono::seconds(10);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), milliseconds(10000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), milliseconds(10000));
}

TEST(RetryAfter, PastDateMeansNow) {
  EXPECT_EQ(
      parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kExampleDate + std::chrono::hours(1)),
      milliseconds(0));
}

TEST(RetryAfter, GarbageIsIgnored) {
  const auto now = std::chrono::system_clock::now();
  for (const char* bad : {"", "soon", "-1", "1.5", "Sun, 06 Nov 1994 08:49:37 CET",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT x"}) {
    EXPECT_FALSE(parse_retry_after(bad, now).has_value()) << bad;
  }
}

TEST(RetryDelay, NeverShorterThanRetryAfter) {
  for (double r : {0.0, 0.3, 0.999}) {
    const auto d = retry_delay(1, milliseconds(2000), r);
    EXPECT_GE(d, milliseconds(2000));
    EXPECT_LE(d, milliseconds(2250));
  }
}

TEST(RetryDelay, JitteredExponentialBackoffIsBounded) {
  EXPECT_EQ(retry_delay(1, std::nullopt, 0.0), milliseconds(250));
  EXPECT_EQ(retry_delay(1, std::nullopt, 1.0), milliseconds(500));
  EXPECT_EQ(retry_delay(2, std::nullopt, 1.0), milliseconds(1000));
  EXPECT_EQ(retry_delay(30, std::nullopt, 1.0), milliseconds(8000));
  EXPECT_NE(retry_delay(3, std::nullopt, 0.1), retry_delay(3, std::nullopt, 0.9));
}

TEST(RetryableStatus, OnlyTransientOnes) {
  for (int s : {429, 502, 503, 504}) EXPECT_TRUE(is_retryable_status(s)) << s;
  for (int s : {200, 400, 401, 404, 500}) EXPECT_FALSE(is_retryable_status(s)) << s;
}

}  // namespace
}  // namespace twoba
