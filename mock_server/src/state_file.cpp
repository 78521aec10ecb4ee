#include "state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "json_input.h"

namespace mock2ba {
namespace {

constexpr auto kQuiet = std::chrono::milliseconds(1);
constexpr auto kGatherMax = std::chrono::milliseconds(5);

}  // namespace

StateFile::StateFile(std::string path, std::function<std::string()> snapshot)
    : path_(std::move(path)), snapshot_(std::move(snapshot)), writer_([this] { run(); }) {}

StateFile::~StateFile() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_all();
  writer_.join();
}

std::optional<nlohmann::json> StateFile::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string error;
  auto document = parse_json_input(buffer.str(), &error);
  if (!document) throw std::runtime_error(path + ": not a state file (" + error + ")");
  if (!document->is_object()) throw std::runtime_error(path + ": not a state file (not an object)");
  return document;
}

void StateFile::commit() {
  std::unique_lock<std::mutex> lock(mutex_);
  uint64_t mine = ++requested_;
  wake_writer_.notify_one();
  written_.wait(lock, [&] { return durable_ >= mine || stopping_; });
}

uint64_t StateFile::writes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return writes_;
}

void StateFile::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_writer_.wait(lock, [&] { return requested_ > durable_ || stopping_; });
    if (requested_ == durable_ && stopping_) return;
    // Group commit: a write costs milliseconds of fsync, and the clients it answers send their
    // next requests within a fraction of one. Waiting for commits to stop arriving (1 ms of
    // quiet, 5 ms at most) lets one write cover them all instead of only the first.
    auto deadline = std::chrono::steady_clock::now() + kGatherMax;
    for (uint64_t seen = requested_; !stopping_;) {
      wake_writer_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + kQuiet),
                              [&] { return requested_ != seen || stopping_; });
      if (requested_ == seen || std::chrono::steady_clock::now() >= deadline) break;
      seen = requested_;
    }
    // Every commit counted so far changed state before it was counted, so one snapshot taken
    // now covers all of them.
    uint64_t covering = requested_;
    lock.unlock();
    std::string error;
    if (!write_atomically(snapshot_(), &error))
      std::fprintf(stderr, "state file: %s\n", error.c_str());
    lock.lock();
    durable_ = covering;
    ++writes_;
    written_.notify_all();
  }
}

bool StateFile::write_atomically(const std::string& text, std::string* error) const {
  // A new file of a fresh name in the same folder (mkostemp: O_CREAT|O_EXCL, mode 0600), so a
  // file or symlink planted under a predictable name is never followed or overwritten.
  std::string tmp = path_ + ".XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    *error = path_ + ".XXXXXX: " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    *error = tmp + ": fsync: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    *error = path_ + ": rename: " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  // The rename itself is durable only once the folder is synced.
  size_t slash = path_.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash == 0 ? 1 : slash);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return true;
}

}  // namespace mock2ba
