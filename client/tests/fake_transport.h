// A scriptable in-memory HttpTransport for tests that need no server.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "twoba/http.h"

namespace twoba::testing {

class FakeTransport : public HttpTransport {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&, int index)>;

  explicit FakeTransport(Handler handler, std::chrono::milliseconds latency = {})
      : handler_(std::move(handler)), latency_(latency) {}

  Result<HttpResponse> send(const HttpRequest& request) override {
    int index = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      index = static_cast<int>(requests_.size());
      requests_.push_back(request);
      times_.push_back(std::chrono::steady_clock::now());
    }
    if (latency_.count() > 0) std::this_thread::sleep_for(latency_);
    return handler_(request, index);
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  std::vector<std::chrono::steady_clock::time_point> times() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return times_;
  }

 private:
  Handler handler_;
  std::chrono::milliseconds latency_;
  mutable std::mutex mutex_;
  std::vector<HttpRequest> requests_;
  std::vector<std::chrono::steady_clock::time_point> times_;
};

inline HttpResponse reply(int status, std::string body, HeaderList headers = {}) {
  return HttpResponse{status, std::move(headers), std::move(body)};
}

}  // namespace twoba::testing
