#include "twoba/authorization.h"

#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "crypto.h"
#include "text.h"
#include "twoba/encoding.h"

namespace twoba {
namespace {

constexpr char kCallbackPath[] = "/callback";

constexpr char kDonePage[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Login</title></head><body>"
    "<p>Login finished. You can close this window and return to the application.</p>"
    "</body></html>";

constexpr char kFailedPage[] =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>Login</title></head><body>"
    "<p>Login failed. Return to the application for details.</p></body></html>";

class HttplibLoopbackReceiver final : public LoopbackReceiver {
 public:
  explicit HttplibLoopbackReceiver(std::string expected_state)
      : expected_state_(std::move(expected_state)) {}
  ~HttplibLoopbackReceiver() override { stop(); }

  Status listen(int port) {
    server_.set_tcp_nodelay(true);
    server_.set_keep_alive_max_count(1);
    server_.Get(kCallbackPath, [this](const httplib::Request& req, httplib::Response& res) {
      on_callback(req, res);
    });
    if (port == 0) {
      port_ = server_.bind_to_any_port("127.0.0.1");
    } else if (server_.bind_to_port("127.0.0.1", port)) {
      port_ = port;
    }
    if (port_ <= 0) {
      return Error::transport("cannot listen on 127.0.0.1:" + std::to_string(port) +
                              " for the redirect");
    }
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    return Ok{};
  }

  int port() const override { return port_; }

  std::string redirect_uri() const override {
    return "http://127.0.0.1:" + std::to_string(port_) + kCallbackPath;
  }

  Result<std::string> wait_for_code(std::chrono::milliseconds timeout) override {
    std::unique_lock<std::mutex> lock(mutex_);
    const bool arrived = cv_.wait_for(lock, timeout, [this] { return outcome_.has_value(); });
    lock.unlock();
    stop();
    if (!arrived) {
      return Error::transport("timed out waiting for the browser redirect");
    }
    return *outcome_;
  }

 private:
  void on_callback(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (outcome_) {
      res.status = 409;
      res.set_content(kFailedPage, "text/html; charset=utf-8");
      return;
    }
    outcome_ = judge(req);
    res.set_content(outcome_->ok() ? kDonePage : kFailedPage, "text/html; charset=utf-8");
    if (!outcome_->ok()) res.status = 400;
    cv_.notify_all();
  }

  // Decides what a redirect means; the state is checked before anything else is trusted. The
  // raw query is decoded as a form ('+' is a space), which httplib's own parser does not do.
  Result<std::string> judge(const httplib::Request& req) const {
    const auto question = req.target.find('?');
    const FormFields query = parse_form(question == std::string::npos
                                            ? std::string_view{}
                                            : std::string_view(req.target).substr(question + 1));
    auto param = [&query](const char* name) -> std::optional<std::string> {
      for (const auto& [key, value] : query) {
        if (key == name) return value;
      }
      return std::nullopt;
    };
    const auto state = param("state");
    if (!state) {
      return Error::oauth("authorization response has no state", 0, "state_missing");
    }
    if (*state != expected_state_ || expected_state_.empty()) {
      return Error::oauth("authorization response state does not match", 0, "state_mismatch");
    }
    if (const auto error = param("error")) {
      std::string message = "authorization denied: " + error->substr(0, 100);
      if (const auto description = param("error_description")) {
        message += ": " + description->substr(0, 300);
      }
      return Error::oauth(message, 0, error->substr(0, 100));
    }
    const auto code = param("code");
    if (!code || code->empty()) {
      return Error::oauth("authorization response has no code", 0, "invalid_response");
    }
    return *code;
  }

  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  std::mutex mutex_;
  std::condition_variable cv_;
  const std::string expected_state_;
  std::optional<Result<std::string>> outcome_;
};

bool ends_with_ci(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         text::iequals(std::string_view(s).substr(s.size() - suffix.size()), suffix);
}

}  // namespace

std::string pkce_challenge(const std::string& verifier) {
  return base64url_encode(sha256(verifier));
}

Pkce make_pkce() {
  Pkce pkce;
  pkce.verifier = base64url_encode(random_bytes(32));
  pkce.challenge = pkce_challenge(pkce.verifier);
  return pkce;
}

std::string make_state() { return base64url_encode(random_bytes(32)); }

std::string derive_authorize_url(const std::string& token_url) {
  for (const auto& [token_suffix, authorize_suffix] :
       {std::pair<std::string, std::string>{"/OAuth/Token", "/OAuth/Authorize"},
        {"/connect/token", "/connect/authorize"}}) {
    if (ends_with_ci(token_url, token_suffix)) {
      return token_url.substr(0, token_url.size() - token_suffix.size()) + authorize_suffix;
    }
  }
  return {};
}

std::string build_authorize_url(const ClientConfig& config, const std::string& redirect_uri,
                                const std::string& state, const std::string& code_challenge) {
  FormFields query = {
      {"response_type", "code"}, {"client_id", config.client_id}, {"redirect_uri", redirect_uri}};
  if (!config.scope.empty()) query.emplace_back("scope", config.scope);
  query.emplace_back("state", state);
  query.emplace_back("code_challenge", code_challenge);
  query.emplace_back("code_challenge_method", "S256");
  const char separator = config.authorize_url.find('?') == std::string::npos ? '?' : '&';
  return config.authorize_url + separator + encode_form(query);
}

Result<std::unique_ptr<LoopbackReceiver>> LoopbackReceiver::start(int port,
                                                                  std::string expected_state) {
  auto receiver = std::make_unique<HttplibLoopbackReceiver>(std::move(expected_state));
  if (auto listening = receiver->listen(port); !listening) return listening.error();
  return std::unique_ptr<LoopbackReceiver>(std::move(receiver));
}

Result<TokenSet> login_with_browser(OAuthClient& oauth, const BrowserLoginOptions& options) {
  if (oauth.config().authorize_url.empty()) {
    return Error::invalid_argument("no authorize URL configured");
  }
  const Pkce pkce = make_pkce();
  const std::string state = make_state();
  if (pkce.verifier.size() != 43 || state.size() != 43) {
    return Error::invalid_argument("random number generator failed");
  }
  auto receiver = LoopbackReceiver::start(options.redirect_port, state);
  if (!receiver) return receiver.error();
  const std::string redirect_uri = (*receiver)->redirect_uri();
  if (options.present) {
    options.present(build_authorize_url(oauth.config(), redirect_uri, state, pkce.challenge));
  }
  auto code = (*receiver)->wait_for_code(options.timeout);
  if (!code) return code.error();
  return oauth.exchange_code(*code, redirect_uri, pkce.verifier);
}

}  // namespace twoba
