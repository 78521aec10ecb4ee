// --state-file: the root scenario's grants, tokens, codes and clock, kept on disk across
// restarts. The file is JSON lines: the first line a full snapshot, each later line the changes
// of one write (appended, then fdatasync). Once the appended lines outgrow the snapshot (and a
// floor), the snapshot is rewritten atomically (a fresh temporary file beside it, fsync, rename,
// fsync of the folder) and the lines start over. Writes are grouped: a write waits for commits
// to stop arriving (1 ms, 5 ms at most), and every request that changed state while a write was
// under way shares the next one.
#ifndef MOCK2BA_STATE_FILE_H_
#define MOCK2BA_STATE_FILE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mock2ba {

class StateFile {
 public:
  // Appended lines are compacted into a new snapshot once they hold more bytes than the
  // snapshot and at least this many.
  static constexpr uint64_t kMinCompactionBytes = 1 << 20;

  // Both are called on the writer thread and return one line of JSON text (no newline):
  // `snapshot` the whole state; `changes` what changed since the last text either returned, or
  // nullopt when only a snapshot can describe the state now.
  StateFile(std::string path, std::function<std::string()> snapshot,
            std::function<std::optional<std::string>()> changes,
            uint64_t min_compaction_bytes = kMinCompactionBytes);
  ~StateFile();
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  // What a state file holds: the snapshot and the changes to apply on top of it, in order.
  struct Contents {
    nlohmann::json snapshot;
    std::vector<nlohmann::json> changes;
  };
  // Reads a state file. nullopt when it does not exist; throws std::runtime_error saying why
  // (and on which line) when it exists but cannot be read or a line is not a JSON object. An
  // unterminated last line (an append cut short by a crash) is left out.
  static std::optional<Contents> read(const std::string& path);

  // Returns once a snapshot or changes taken after this call are on disk (or writing failed,
  // which is logged). Call after changing state and before replying.
  void commit();

  // Writes so far (appends and snapshots), and snapshots among them.
  uint64_t writes() const;
  uint64_t snapshots() const;

 private:
  void run();
  // Appends the changes or, when due (or the append fails), writes a new snapshot.
  bool write(std::string* error);
  bool append(const std::string& text, std::string* error);
  bool write_atomically(const std::string& text, std::string* error);

  std::string path_;
  std::function<std::string()> snapshot_;
  std::function<std::optional<std::string>()> changes_;
  const uint64_t min_compaction_bytes_;
  // Writer thread only: the current file, kept open after its rename for appending.
  int fd_ = -1;
  uint64_t snapshot_bytes_ = 0;
  uint64_t appended_bytes_ = 0;
  std::atomic<uint64_t> snapshots_{0};

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
