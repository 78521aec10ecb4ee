// Threads for work that may block (sleeps, disk writes), kept off the event loops.
#ifndef MOCK2BA_BLOCKING_POOL_H_
#define MOCK2BA_BLOCKING_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mock2ba {

// Runs every submitted task at once: a new thread is started whenever no idle one is waiting,
// so one task's sleep never delays another's. Threads stay for reuse until shut_down().
class BlockingPool {
 public:
  BlockingPool() = default;
  ~BlockingPool() { shut_down(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // Queues `task`; it starts without waiting for other tasks to finish.
  void submit(std::function<void()> task);
  // Runs the tasks still queued, then joins every thread. Later submits run nothing.
  void shut_down();

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool stopping_ = false;
};

}  // namespace mock2ba

#endif  // MOCK2BA_BLOCKING_POOL_H_
