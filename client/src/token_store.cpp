#include "twoba/token_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace twoba {
namespace {

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p with mode 0700 for the directories it creates; failures surface at open().
void make_dirs(const std::string& dir) {
  for (std::size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    ::mkdir(dir.substr(0, slash).c_str(), 0700);
    if (slash == std::string::npos) break;
  }
}

// Makes a rename or unlink in dir durable.
void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// An flock(2) held through an open descriptor.
class FileLock final : public TokenStorage::Lock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() override { ::close(fd_); }  // closing the descriptor releases the flock

 private:
  int fd_;
};

}  // namespace

TokenStore::TokenStore(std::string path) : path_(std::move(path)) {}

Result<std::optional<TokenSet>> TokenStore::load() const {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<TokenSet>{};
    return Error::store(errno_text("cannot open token store", path_));
  }
  std::string content;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Error::store(errno_text("cannot read token store", path_));
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  auto tokens = from_store_json(content);
  if (!tokens) {
    return Error::store("token store " + path_ + " is damaged; log in again");
  }
  return std::optional<TokenSet>(*std::move(tokens));
}

Status TokenStore::save(const TokenSet& tokens) {
  const std::string dir = parent_dir(path_);
  make_dirs(dir);
  const std::string tmp = path_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error::store(errno_text("cannot create", tmp));
  // O_CREAT's mode does not apply to a leftover file from an interrupted write.
  const bool written =
      ::fchmod(fd, 0600) == 0 && write_all(fd, to_store_json(tokens)) && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!written) {
    errno = saved_errno;
    const Error error = Error::store(errno_text("cannot write", tmp));
    ::unlink(tmp.c_str());
    return error;
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    const Error error = Error::store(errno_text("cannot replace", path_));
    ::unlink(tmp.c_str());
    return error;
  }
  fsync_dir(dir);
  return Ok{};
}

Status TokenStore::remove() {
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return Error::store(errno_text("cannot delete token store", path_));
  }
  fsync_dir(parent_dir(path_));
  return Ok{};
}

Result<std::unique_ptr<TokenStorage::Lock>> TokenStore::lock() {
  make_dirs(parent_dir(path_));
  const std::string lock_path = path_ + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error::store(errno_text("cannot open lock file", lock_path));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      const Error error = Error::store(errno_text("cannot lock", lock_path));
      ::close(fd);
      return error;
    }
  }
  return std::unique_ptr<Lock>(std::make_unique<FileLock>(fd));
}

}  // namespace twoba
