#include "http/blocking_pool.h"

#include <system_error>

namespace mock2ba {

bool BlockingPool::submit(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return false;
  if (tasks_.size() < idle_) {
    tasks_.push_back(std::move(task));
    wake_.notify_one();
    return true;
  }
  if (threads_ >= options_.max_threads) return false;
  try {
    // Workers are detached: an idle one exits on its own, and shut_down() waits for the count to
    // reach zero instead of joining.
    options_.spawn([this] { work(); }).detach();
  } catch (const std::system_error&) {
    return false;
  }
  ++threads_;
  tasks_.push_back(std::move(task));
  return true;
}

void BlockingPool::shut_down() {
  std::unique_lock<std::mutex> lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
  stopped_.notify_all();
  stopped_.wait(lock, [this] { return threads_ == 0; });
}

bool BlockingPool::sleep_for(std::chrono::milliseconds duration) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !stopped_.wait_for(lock, duration, [this] { return stopping_; });
}

size_t BlockingPool::thread_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return threads_;
}

void BlockingPool::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    if (tasks_.empty()) {
      if (stopping_) break;
      ++idle_;
      bool woken = wake_.wait_for(lock, options_.idle_timeout,
                                  [this] { return !tasks_.empty() || stopping_; });
      --idle_;
      if (!woken) break;  // idle too long
      continue;
    }
    std::function<void()> task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // destroy what the task captured before counting this thread out
    lock.lock();
  }
  --threads_;
  // Notified under the lock: shut_down() may return, and the pool be destroyed, once it is
  // released.
  stopped_.notify_all();
}

}  // namespace mock2ba
