// Where the client keeps its tokens: the TokenStorage interface and its file implementation.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "twoba/error.h"
#include "twoba/token_set.h"

namespace twoba {

// Storage of one token pair, shared by every OAuthClient (thread or process) that uses the same
// account. Single-flight refresh relies on two properties: save() replaces the pair atomically
// (a reader sees the old or the new one, whole), and lock() excludes every other holder.
class TokenStorage {
 public:
  // Exclusive access to the storage, released when destroyed.
  class Lock {
   public:
    virtual ~Lock() = default;
  };

  virtual ~TokenStorage() = default;

  // The stored tokens; nullopt when none are stored. Unreadable storage is kStore.
  virtual Result<std::optional<TokenSet>> load() const = 0;

  // Atomically replaces the stored tokens.
  virtual Status save(const TokenSet& tokens) = 0;

  // Forgets the stored tokens (none stored is fine), durably.
  virtual Status remove() = 0;

  // Blocks until the caller holds the storage's exclusive lock.
  virtual Result<std::unique_ptr<Lock>> lock() = 0;
};

// One store file (JSON, mode 0600). Writes go to FILE.tmp, are fsynced, renamed over FILE and
// the directory is fsynced, so a crash at any instant leaves the old or the new content, whole.
// The lock is an flock(2) on FILE.lock, so processes sharing the file cooperate. Instances are
// cheap and hold no open files.
class TokenStore final : public TokenStorage {
 public:
  // A store at path (its directory is created, mode 0700, on first write).
  explicit TokenStore(std::string path);

  // The store file's path.
  const std::string& path() const { return path_; }

  // A damaged file is kStore too.
  Result<std::optional<TokenSet>> load() const override;
  // Creates the directory if needed.
  Status save(const TokenSet& tokens) override;
  // Deletes the file (absent is fine) and makes the deletion durable.
  Status remove() override;
  // Exclusive flock(2) on FILE.lock, held until the returned Lock is destroyed.
  Result<std::unique_ptr<Lock>> lock() override;

 private:
  std::string path_;
};

}  // namespace twoba
