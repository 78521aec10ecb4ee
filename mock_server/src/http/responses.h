// Building replies: JSON and HTML bodies with their content types, and the rules every reply
// shares (no caching of secrets, which statuses carry a body).
#ifndef MOCK2BA_RESPONSES_H_
#define MOCK2BA_RESPONSES_H_

#include <httplib.h>

#include <string>
#include <string_view>

namespace mock2ba {

// Sends a JSON body with Content-Type application/json;charset=UTF-8.
void send_json(httplib::Response& res, int status, const std::string& body);

// Sends a small HTML page (for the browser-facing endpoints), never cached.
void send_html(httplib::Response& res, int status, const std::string& html);

// Forbids caching the reply (RFC 6749 §5.1: replies with tokens or credentials).
void set_no_store(httplib::Response& res);

// Whether a reply with this status may carry a body: 1xx, 204 and 304 end at their headers
// (RFC 9110 §6.4.1).
bool status_allows_body(int status);

// Whether `method` is in a space-separated list such as "GET POST"; HEAD goes wherever GET does
// (RFC 9110 §9.3.2).
bool method_allowed(std::string_view methods, std::string_view method);

// The Allow header of a 405 for a space-separated list: "GET, HEAD, POST" for "GET POST".
std::string allow_header(std::string_view methods);

// Escapes text for HTML element content and attribute values.
std::string html_escape(const std::string& text);

}  // namespace mock2ba

#endif  // MOCK2BA_RESPONSES_H_
