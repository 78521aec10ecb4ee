#include "control/state_file.h"

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
#include <string_view>

#include "util/json_input.h"

namespace mock2ba {
namespace {

constexpr auto kQuiet = std::chrono::milliseconds(1);
constexpr auto kGatherMax = std::chrono::milliseconds(5);

// Writes all of `text` to `fd`, resuming after signals; false (errno says why) when it cannot.
bool write_all(int fd, std::string_view text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

StateFile::StateFile(std::string path, std::function<std::string()> snapshot,
                     std::function<std::optional<std::string>()> changes,
                     uint64_t min_compaction_bytes)
    : path_(std::move(path)),
      snapshot_(std::move(snapshot)),
      changes_(std::move(changes)),
      min_compaction_bytes_(min_compaction_bytes),
      writer_([this] { run(); }) {}

StateFile::~StateFile() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_all();
  writer_.join();
  if (fd_ >= 0) ::close(fd_);
}

std::optional<StateFile::Contents> StateFile::read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error(std::string("cannot open: ") + std::strerror(errno));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  auto parse = [&](size_t from, size_t to, size_t line) {
    std::string error;
    auto document = parse_json_input(std::string_view(text).substr(from, to - from), &error);
    if (document && !document->is_object()) error = "not an object";
    if (!document || !error.empty()) {
      throw std::runtime_error((line == 1 ? "" : "line " + std::to_string(line) + ": ") +
                               "not a state file (" + error + ")");
    }
    return std::move(*document);
  };
  // The snapshot was written whole (renamed into place), so its line needs no newline.
  size_t end = std::min(text.find('\n'), text.size());
  Contents contents{parse(0, end, 1), {}};
  size_t line = 2;
  for (size_t from = end + 1; from < text.size(); ++line) {
    end = text.find('\n', from);
    if (end == std::string::npos) {
      // Every append ends with its newline: without one, the append was cut short (a crash
      // before it was on disk, so no reply depended on it).
      std::fprintf(stderr, "state file: %s: line %zu was cut short by a crash; left out\n",
                   path.c_str(), line);
      break;
    }
    contents.changes.push_back(parse(from, end, line));
    from = end + 1;
  }
  return contents;
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

uint64_t StateFile::snapshots() const { return snapshots_.load(); }

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
    // Every commit counted so far changed state before it was counted, so the changes (or the
    // snapshot) taken now cover all of them.
    uint64_t covering = requested_;
    lock.unlock();
    std::string error;
    if (!write(&error)) std::fprintf(stderr, "state file: %s\n", error.c_str());
    lock.lock();
    durable_ = covering;
    ++writes_;
    written_.notify_all();
  }
}

bool StateFile::write(std::string* error) {
  if (fd_ >= 0 && appended_bytes_ < std::max(snapshot_bytes_, min_compaction_bytes_)) {
    if (std::optional<std::string> changes = changes_()) {
      *changes += '\n';
      if (append(*changes, error)) return true;
      // What that append held is only in memory now: a snapshot covers it.
      std::fprintf(stderr, "state file: %s\n", error->c_str());
    }
  }
  std::string text = snapshot_();
  text += '\n';
  if (write_atomically(text, error)) return true;
  // The store now counts its changes from this snapshot, which is not on disk: lines appended
  // to the old file would describe neither. The next write is a snapshot again.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return false;
}

bool StateFile::append(const std::string& text, std::string* error) {
  // fdatasync: the data and the file's new length, which is all a reader needs.
  if (write_all(fd_, text) && ::fdatasync(fd_) == 0) {
    appended_bytes_ += text.size();
    return true;
  }
  *error = path_ + ": append: " + std::strerror(errno);
  // No later line may follow a partial one: cut it off and append no more to this file.
  if (::ftruncate(fd_, static_cast<off_t>(snapshot_bytes_ + appended_bytes_)) != 0)
    *error += " (the partial line stays, as the last one)";
  ::close(fd_);
  fd_ = -1;
  return false;
}

bool StateFile::write_atomically(const std::string& text, std::string* error) {
  // A new file of a fresh name in the same folder (mkostemp: O_CREAT|O_EXCL, mode 0600), so a
  // file or symlink planted under a predictable name is never followed or overwritten.
  std::string tmp = path_ + ".XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) {
    *error = path_ + ".XXXXXX: " + std::strerror(errno);
    return false;
  }
  auto fail = [&](const std::string& what) {
    *error = what + std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    return false;
  };
  if (!write_all(fd, text)) return fail(tmp + ": ");
  if (::fsync(fd) != 0) return fail(tmp + ": fsync: ");
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return fail(path_ + ": rename: ");
  // The rename itself is durable only once the folder is synced.
  size_t slash = path_.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path_.substr(0, slash == 0 ? 1 : slash);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  // Later changes are appended to this file, which is now the state file.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  snapshot_bytes_ = text.size();
  appended_bytes_ = 0;
  ++snapshots_;
  return true;
}

}  // namespace mock2ba
