// Parsing one HTTP/1.x request (RFC 9112) from the bytes a connection has received so far.
#ifndef MOCK2BA_HTTP_REQUEST_PARSER_H_
#define MOCK2BA_HTTP_REQUEST_PARSER_H_

#include <httplib.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace mock2ba {

struct HttpLimits {
  size_t max_target_bytes = 8192;       // longer request targets get 414
  size_t max_header_line_bytes = 8192;  // a longer header line gets 431
  size_t max_header_bytes = 65536;      // request line plus all header lines; more gets 431
  size_t max_header_count = 100;        // more header lines get 431
  size_t max_body_bytes = 1 << 20;      // larger bodies get 413
  size_t max_form_body_bytes = 8192;    // application/x-www-form-urlencoded bodies: 413 above this
};

enum class ParseStatus { kIncomplete, kComplete, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kIncomplete;
  size_t consumed = 0;            // kComplete: bytes of `data` the request took
  bool headers_complete = false;  // kIncomplete: the head is in, the body is still arriving
  bool expects_continue = false;  // headers_complete and the client sent Expect: 100-continue
  bool keep_alive = false;        // kComplete: the client wants the connection kept
  int error_status = 0;           // kError: 400, 413, 414, 431, 501 or 505
  std::string error_message;      // kError: what was wrong, for the reply body
};

// Parses the request at the front of `data` into *req (method, target, path, params, version,
// headers, body). kIncomplete asks for more bytes; kError means the connection is unusable.
ParseResult parse_http_request(std::string_view data, const HttpLimits& limits,
                               httplib::Request* req);

// Where the request head ends (just past its blank line) within `data`, scanning from `from`
// (bytes before it are known not to end the head); npos while the head is incomplete.
size_t find_head_end(std::string_view data, size_t from);

}  // namespace mock2ba

#endif  // MOCK2BA_HTTP_REQUEST_PARSER_H_
