#include "request_context.h"

namespace mock2ba {

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json;charset=UTF-8");
}

void send_oauth_error(httplib::Response& res, int status, OAuthError error,
                      const std::string& description) {
  nlohmann::ordered_json body = {{"error", oauth_error_name(error)},
                                 {"error_description", description}};
  res.set_header("Cache-Control", "no-store");
  res.set_header("Pragma", "no-cache");
  // Replace, not throw, on bytes that are not UTF-8: a description may quote the request.
  send_json(res, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void send_api_error(httplib::Response& res, int status, const std::string& status_text,
                    const std::string& message) {
  nlohmann::ordered_json body = {
      {"IsError", true}, {"ErrorMessage", message}, {"Status", status_text}};
  send_json(res, status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void send_html(httplib::Response& res, int status, const std::string& html) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(html, "text/html;charset=UTF-8");
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace mock2ba
