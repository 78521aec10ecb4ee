#include "util/random_token.h"

#include <pthread.h>
#include <sys/random.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "util/text_util.h"

namespace mock2ba {
namespace {

// The kernel's CSPRNG (what OpenSSL's generator seeds from), not RAND_bytes: the first
// RAND_bytes of a process sets up OpenSSL's library context, configuration and DRBG, which cost
// the first token request a few milliseconds, where a mock started per test spends most of its
// life. getrandom() blocks only until the kernel's pool is seeded at boot.
void fill_random(unsigned char* out, size_t n) {
  while (n > 0) {
    ssize_t got = ::getrandom(out, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("getrandom failed: ") + std::strerror(errno));
    }
    out += got;
    n -= static_cast<size_t>(got);
  }
}

// Bumped in a forked child, so that it never hands out bytes its parent has buffered too.
std::atomic<uint64_t> fork_generation{0};

uint64_t current_fork_generation() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
    return true;
  }();
  (void)registered;
  return fork_generation.load(std::memory_order_relaxed);
}

// Small draws come from a per-thread buffer refilled in one system call. Large draws (hostile
// tokens) go straight to the kernel.
class RandomPool {
 public:
  void take(unsigned char* out, size_t n) {
    if (n > kSize / 4) return fill_random(out, n);
    uint64_t generation = current_fork_generation();
    if (pos_ + n > kSize || generation != generation_) {
      fill_random(buffer_, kSize);
      pos_ = 0;
      generation_ = generation;
    }
    std::memcpy(out, buffer_ + pos_, n);
    std::memset(buffer_ + pos_, 0, n);  // a byte is handed out once, then forgotten
    pos_ += n;
  }

 private:
  static constexpr size_t kSize = 2048;
  unsigned char buffer_[kSize];
  size_t pos_ = kSize;
  uint64_t generation_ = 0;
};

void take_random(unsigned char* out, size_t n) {
  thread_local RandomPool pool;
  pool.take(out, n);
}

}  // namespace

std::string random_urlsafe_token() {
  unsigned char bytes[32];
  take_random(bytes, sizeof bytes);
  return base64url_encode(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

size_t random_below(size_t bound) {
  uint64_t value;
  take_random(reinterpret_cast<unsigned char*>(&value), sizeof value);
  return static_cast<size_t>(value % bound);
}

std::string random_hostile_token() {
  // The special characters are over-represented so that every token is full of them.
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789++++////====";
  constexpr size_t kAlphabetSize = sizeof kAlphabet - 1;
  size_t length = 2048 + random_below(2049);
  std::string bytes(length, '\0');
  take_random(reinterpret_cast<unsigned char*>(bytes.data()), length);
  std::string token(length, 'A');
  for (size_t i = 0; i < length; ++i) token[i] = kAlphabet[uint8_t(bytes[i]) % kAlphabetSize];
  size_t at = random_below(length - 2);
  token[at] = '+';
  token[at + 1] = '/';
  token[at + 2] = '=';
  return token;
}

}  // namespace mock2ba
