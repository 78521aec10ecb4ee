// File-backed token store: atomic replacement, owner-only permissions, an inter-process lock.
#pragma once

#include <optional>
#include <string>

#include "twoba/error.h"
#include "twoba/token_set.h"

namespace twoba {

// One store file (JSON, mode 0600). Writes go to FILE.tmp, are fsynced, renamed over FILE and
// the directory is fsynced, so a crash at any instant leaves the old or the new content, whole.
// Writers hold the lock (FILE.lock). Instances are cheap and hold no open files.
class TokenStore {
 public:
  // Exclusive flock(2) on the lock file; held until destroyed. Move-only.
  class Lock {
   public:
    Lock(Lock&& other) noexcept;
    Lock& operator=(Lock&& other) noexcept;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    ~Lock();

   private:
    friend class TokenStore;
    explicit Lock(int fd) : fd_(fd) {}
    int fd_ = -1;
  };

  explicit TokenStore(std::string path);

  const std::string& path() const { return path_; }

  // The stored tokens; nullopt when there is no store file. A damaged file is kStore.
  Result<std::optional<TokenSet>> load() const;

  // Atomically replaces the store with tokens (creating the directory if needed).
  Status save(const TokenSet& tokens) const;

  // Deletes the store file (absent is fine) and makes the deletion durable.
  Status remove() const;

  // Blocks until this process holds the store's exclusive lock.
  Result<Lock> lock() const;

 private:
  std::string path_;
};

}  // namespace twoba
