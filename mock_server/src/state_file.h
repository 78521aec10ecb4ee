// --state-file: the root scenario's grants, tokens, codes and clock, kept on disk across
// restarts. Writes are atomic (a fresh temporary file beside it, fsync, rename, fsync of the
// folder) and grouped: a write waits for commits to stop arriving (1 ms, 5 ms at most), and
// every request that changed state while a write was under way shares the next one.
#ifndef MOCK2BA_STATE_FILE_H_
#define MOCK2BA_STATE_FILE_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

namespace mock2ba {

class StateFile {
 public:
  // `snapshot` is called on the writer thread and returns the JSON text to store.
  StateFile(std::string path, std::function<std::string()> snapshot);
  ~StateFile();
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  // Reads a state file. nullopt when it does not exist; throws std::runtime_error when it
  // exists but cannot be read or parsed.
  static std::optional<nlohmann::json> read(const std::string& path);

  // Returns once a snapshot taken after this call is on disk (or writing it failed, which is
  // logged). Call after changing state and before replying.
  void commit();

  // Number of files written so far.
  uint64_t writes() const;

 private:
  void run();
  bool write_atomically(const std::string& text, std::string* error) const;

  std::string path_;
  std::function<std::string()> snapshot_;
  mutable std::mutex mutex_;
  std::condition_variable wake_writer_;
  std::condition_variable written_;
  uint64_t requested_ = 0;  // commits asked for
  uint64_t durable_ = 0;    // commits covered by a finished write
  uint64_t writes_ = 0;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace mock2ba

#endif  // MOCK2BA_STATE_FILE_H_
