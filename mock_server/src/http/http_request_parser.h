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

// A chunk-size line (with its extensions) longer than this gets 400. Size lines, line ends and
// trailer fields of a chunked body together count against HttpLimits::max_header_bytes (413).
inline constexpr size_t kMaxChunkSizeLineBytes = 1024;

// Parses one request incrementally as its bytes arrive: each call goes on from where the last
// stopped, so a request trickling in costs time in proportion to its size, not its size squared.
class RequestParser {
 public:
  explicit RequestParser(const HttpLimits& limits);

  // Parses the request at the front of `data` into *req (method, target, path, params, version,
  // headers, body). `data` holds every byte of the request received so far: what earlier calls
  // saw, unchanged, plus more; those bytes are not read again. The same `req` must be passed
  // each time. kIncomplete asks for more bytes; kError means the connection is unusable.
  ParseResult parse(std::string_view data, httplib::Request* req);
  // Forgets the request, ready for the next one.
  void reset();
  // Whether the head has been parsed and the body is arriving.
  bool head_complete() const { return stage_ != Stage::kHead; }

 private:
  enum class Stage { kHead, kLengthBody, kChunkSize, kChunkData, kChunkEnd, kTrailers };

  ParseResult parse_head(std::string_view data, httplib::Request* req);
  ParseResult parse_chunked(std::string_view data, httplib::Request* req);
  ParseResult count_framing(size_t bytes);
  ParseResult complete();

  HttpLimits limits_;
  Stage stage_ = Stage::kHead;
  size_t start_ = 0;      // the request line's first byte (past leading blank lines)
  size_t scan_from_ = 0;  // the head's end is not before this
  size_t line_scan_from_ = 0;
  size_t first_line_end_ = std::string_view::npos;
  size_t pos_ = 0;          // past the head: the next byte of the body to parse
  uint64_t remaining_ = 0;  // bytes left of the Content-Length body or of the current chunk
  size_t body_limit_ = 0;
  size_t framing_bytes_ = 0;  // chunk size lines, line ends and trailers so far
  bool form_ = false;
  bool expects_continue_ = false;
  bool keep_alive_ = false;
};

// Parses a request whose bytes are all in `data` (RequestParser in one call).
ParseResult parse_http_request(std::string_view data, const HttpLimits& limits,
                               httplib::Request* req);

// Where the request head ends (just past its blank line) within `data`, scanning from `from`
// (bytes before it are known not to end the head); npos while the head is incomplete.
size_t find_head_end(std::string_view data, size_t from);

}  // namespace mock2ba

#endif  // MOCK2BA_HTTP_REQUEST_PARSER_H_
