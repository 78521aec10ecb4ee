#include "twoba/retry.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

namespace twoba {
namespace {

int month_index(const char* name) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (strcasecmp(name, kMonths[i]) == 0) return i;
  }
  return -1;
}

// Parses the three HTTP-date forms into unix seconds (GMT).
std::optional<std::time_t> parse_http_date(const std::string& text) {
  char wday[16] = {};
  char mon[4] = {};
  int day = 0;
  int year = 0;
  int hh = 0;
  int mm = 0;
  int ss = 0;
  char zone[4] = {};
  int consumed = 0;
  bool parsed = false;
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  if (std::sscanf(text.c_str(), "%15[A-Za-z], %d %3s %d %d:%d:%d %3s%n", wday, &day, mon, &year,
                  &hh, &mm, &ss, zone, &consumed) == 8 &&
      consumed == static_cast<int>(text.size())) {
    parsed = true;
  }
  // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
  if (!parsed &&
      std::sscanf(text.c_str(), "%15[A-Za-z], %d-%3s-%d %d:%d:%d %3s%n", wday, &day, mon, &year,
                  &hh, &mm, &ss, zone, &consumed) == 8 &&
      consumed == static_cast<int>(text.size())) {
    parsed = true;
    if (year < 100) year += year < 70 ? 2000 : 1900;  // RFC 9110 §5.6.7 two-digit years
  }
  // asctime: Sun Nov  6 08:49:37 1994
  if (!parsed &&
      std::sscanf(text.c_str(), "%15s %3s %d %d:%d:%d %d%n", wday, mon, &day, &hh, &mm, &ss, &year,
                  &consumed) == 7 &&
      consumed == static_cast<int>(text.size())) {
    parsed = true;
    std::strcpy(zone, "GMT");
  }
  if (!parsed || strcasecmp(zone, "GMT") != 0) return std::nullopt;
  const int month = month_index(mon);
  if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  return timegm(&tm);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  std::string text(value);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return std::nullopt;
  text.erase(0, first);
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 9) return std::chrono::milliseconds(std::chrono::hours(24 * 365));
    return std::chrono::milliseconds(std::stoll(text) * 1000);
  }
  const auto when = parse_http_date(text);
  if (!when) return std::nullopt;
  const auto delta = std::chrono::system_clock::from_time_t(*when) - now;
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::ceil<std::chrono::milliseconds>(delta));
}

bool is_retryable_status(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

std::chrono::milliseconds retry_delay(int attempt,
                                      std::optional<std::chrono::milliseconds> retry_after,
                                      double unit_random) {
  unit_random = std::clamp(unit_random, 0.0, 1.0);
  if (retry_after) {
    return *retry_after + std::chrono::milliseconds(static_cast<long>(250 * unit_random));
  }
  const long base = std::min(500L << std::clamp(attempt - 1, 0, 4), 8000L);
  return std::chrono::milliseconds(static_cast<long>(base * (0.5 + 0.5 * unit_random)));
}

}  // namespace twoba
