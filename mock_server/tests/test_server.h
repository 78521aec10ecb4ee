// An in-process mock server on a free port, and small HTTP helpers for tests.
#ifndef MOCK2BA_TESTS_TEST_SERVER_H_
#define MOCK2BA_TESTS_TEST_SERVER_H_

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "http/form.h"
#include "server/server.h"

namespace mock2ba::testing {

inline std::string fixture_path(const std::string& name) {
  return std::string(TWOBA_FIXTURE_DIR) + "/" + name + ".json";
}

// Form-encodes name/value pairs in order (duplicates allowed).
inline std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body += '&';
    body += form_encode(name) + '=' + form_encode(value);
  }
  return body;
}

struct Reply {
  int status = 0;
  httplib::Headers headers;
  std::string body;

  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class TestServer {
 public:
  explicit TestServer(const std::string& fixture = "default", ServerOptions options = {}) {
    options.fixture_path = fixture.find('/') == std::string::npos ? fixture_path(fixture) : fixture;
    options.port = 0;
    options.log_format = LogFormat::kNone;
    options.threads = 2;
    server_ = std::make_unique<MockServer>(options);
    std::string error;
    if (!server_->start(&error)) throw std::runtime_error(error);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_tcp_nodelay(true);
  }

  MockServer& server() { return *server_; }
  std::string base_url() const { return server_->base_url(); }
  int port() const { return server_->port(); }

  Reply request(const std::string& method, const std::string& path, const std::string& body = "",
                const std::string& content_type = "", const httplib::Headers& headers = {}) {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = headers;
    req.body = body;
    if (!content_type.empty()) req.set_header("Content-Type", content_type);
    auto result = client_->send(req);
    if (!result) return Reply{0, {}, "transport error: " + httplib::to_string(result.error())};
    return Reply{result->status, result->headers, result->body};
  }

  Reply post_form(const std::string& path,
                  const std::vector<std::pair<std::string, std::string>>& fields,
                  const httplib::Headers& headers = {}) {
    return request("POST", path, form_body(fields), "application/x-www-form-urlencoded", headers);
  }
  Reply get(const std::string& path, const httplib::Headers& headers = {}) {
    return request("GET", path, "", "", headers);
  }
  Reply post_json(const std::string& path, const nlohmann::json& body) {
    return request("POST", path, body.dump(), "application/json");
  }

  // The password grant for demo/demo with demo-client (the default fixture).
  Reply login(const std::string& scope = "") {
    std::vector<std::pair<std::string, std::string>> fields = {{"grant_type", "password"},
                                                               {"username", "demo"},
                                                               {"password", "demo"},
                                                               {"client_id", "demo-client"},
                                                               {"client_secret", "demo-secret"}};
    if (!scope.empty()) fields.emplace_back("scope", scope);
    return post_form("/OAuth/Token", fields);
  }
  Reply refresh(const std::string& refresh_token, const std::string& client_id = "demo-client",
                const std::string& secret = "demo-secret") {
    return post_form("/OAuth/Token", {{"grant_type", "refresh_token"},
                                      {"refresh_token", refresh_token},
                                      {"client_id", client_id},
                                      {"client_secret", secret}});
  }
  Reply advance_clock(int64_t seconds) {
    return post_json("/__mock/clock", {{"advance", seconds}});
  }
  // The journal entries after `since`.
  nlohmann::json journal(uint64_t since = 0) {
    return get("/__mock/requests?since=" + std::to_string(since)).json()["requests"];
  }

 private:
  std::unique_ptr<MockServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace mock2ba::testing

#endif  // MOCK2BA_TESTS_TEST_SERVER_H_
