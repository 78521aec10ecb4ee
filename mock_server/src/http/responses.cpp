#include "http/responses.h"

#include <vector>

namespace mock2ba {

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json;charset=UTF-8");
}

void set_no_store(httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  res.set_header("Pragma", "no-cache");
}

namespace {

// The methods of a space-separated list, HEAD added after GET (for Allow).
std::vector<std::string_view> method_list(std::string_view methods) {
  std::vector<std::string_view> out;
  while (!methods.empty()) {
    size_t end = methods.find(' ');
    std::string_view method = methods.substr(0, end);
    if (!method.empty()) out.push_back(method);
    if (method == "GET") out.push_back("HEAD");
    methods = end == std::string_view::npos ? std::string_view() : methods.substr(end + 1);
  }
  return out;
}

}  // namespace

bool method_allowed(std::string_view methods, std::string_view method) {
  // Runs for every request to a table's endpoint: a walk over the list, nothing allocated.
  if (method == "HEAD") method = "GET";
  while (!methods.empty()) {
    size_t end = methods.find(' ');
    if (methods.substr(0, end) == method) return true;
    methods = end == std::string_view::npos ? std::string_view() : methods.substr(end + 1);
  }
  return false;
}

std::string allow_header(std::string_view methods) {
  std::string out;
  for (std::string_view method : method_list(methods)) {
    if (!out.empty()) out += ", ";
    out += method;
  }
  return out;
}

bool status_allows_body(int status) { return status >= 200 && status != 204 && status != 304; }

void send_html(httplib::Response& res, int status, const std::string& html) {
  res.status = status;
  set_no_store(res);
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
