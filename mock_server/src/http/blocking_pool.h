// Threads for work that may block (sleeps, disk writes), kept off the event loops.
#ifndef MOCK2BA_BLOCKING_POOL_H_
#define MOCK2BA_BLOCKING_POOL_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace mock2ba {

// Runs every submitted task at once, up to a maximum of threads: a new thread is started
// whenever no idle one is waiting, so one task's sleep never delays another's. A thread idle for
// `idle_timeout` exits. When every thread is busy at the maximum, or no thread can be started,
// submit() refuses the task instead of queueing it.
class BlockingPool {
 public:
  struct Options {
    size_t max_threads = 256;
    std::chrono::milliseconds idle_timeout{10000};
    // Starts a thread; throws std::system_error when none can be started (replaceable in tests).
    std::function<std::thread(std::function<void()>)> spawn = [](std::function<void()> body) {
      return std::thread(std::move(body));
    };
  };

  BlockingPool() : BlockingPool(Options()) {}
  explicit BlockingPool(Options options) : options_(std::move(options)) {}
  ~BlockingPool() { shut_down(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Starts `task` without waiting for other tasks to finish. Returns false, running nothing,
  // when the pool is full, a thread cannot be started, or the pool is shut down.
  bool submit(std::function<void()> task);
  // Cancels sleeps in progress (sleep_for returns early), waits for running tasks, and joins
  // every thread. Later submits run nothing.
  void shut_down();
  // Sleeps for `duration` unless the pool shuts down first. Returns false when cut short.
  bool sleep_for(std::chrono::milliseconds duration);
  // Threads alive (running a task or idle).
  size_t thread_count() const;

 private:
  void work();

  const Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;     // idle workers
  std::condition_variable stopped_;  // sleepers, and shut_down waiting for workers to exit
  std::deque<std::function<void()>> tasks_;
  size_t threads_ = 0;  // alive, detached; each decrements on exit
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace mock2ba

#endif  // MOCK2BA_BLOCKING_POOL_H_
