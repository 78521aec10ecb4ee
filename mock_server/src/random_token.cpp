#include "random_token.h"

#include <openssl/rand.h>

#include <cstdint>
#include <stdexcept>

#include "text_util.h"

namespace mock2ba {
namespace {

void fill_random(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}

}  // namespace

std::string random_urlsafe_token() {
  unsigned char bytes[32];
  fill_random(bytes, sizeof bytes);
  return base64url_encode(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

size_t random_below(size_t bound) {
  uint64_t value;
  fill_random(reinterpret_cast<unsigned char*>(&value), sizeof value);
  return static_cast<size_t>(value % bound);
}

std::string random_hostile_token() {
  // The special characters are over-represented so that every token is full of them.
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789++++////====";
  constexpr size_t kAlphabetSize = sizeof kAlphabet - 1;
  size_t length = 2048 + random_below(2049);
  std::string bytes(length, '\0');
  fill_random(reinterpret_cast<unsigned char*>(bytes.data()), length);
  std::string token(length, 'A');
  for (size_t i = 0; i < length; ++i) token[i] = kAlphabet[uint8_t(bytes[i]) % kAlphabetSize];
  size_t at = random_below(length - 2);
  token[at] = '+';
  token[at + 1] = '/';
  token[at + 2] = '=';
  return token;
}

}  // namespace mock2ba
