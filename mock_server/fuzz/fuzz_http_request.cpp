// libFuzzer harness: the HTTP/1.x request parser that reads every byte a client sends.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "http/http_request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  mock2ba::HttpLimits limits;
  limits.max_body_bytes = 4096;  // small limits reach the limit checks with small inputs
  limits.max_form_body_bytes = 512;
  limits.max_target_bytes = 256;
  limits.max_header_line_bytes = 256;
  limits.max_header_bytes = 1024;
  limits.max_header_count = 8;
  httplib::Request req;
  mock2ba::ParseResult result = mock2ba::parse_http_request(bytes, limits, &req);
  // Fed in pieces, the incremental parser reaches the same result as in one call.
  {
    mock2ba::RequestParser parser(limits);
    httplib::Request pieces;
    mock2ba::ParseResult last;
    size_t step = size > 0 ? 1 + data[0] % 7 : 1;
    for (size_t n = step < size ? step : size;; n = n + step < size ? n + step : size) {
      last = parser.parse(bytes.substr(0, n), &pieces);
      if (last.status != mock2ba::ParseStatus::kIncomplete || n == size) break;
    }
    // (A rejection may name a different limit when it is seen on a shorter prefix.)
    bool complete = result.status == mock2ba::ParseStatus::kComplete;
    if (complete != (last.status == mock2ba::ParseStatus::kComplete)) std::abort();
    if (complete && (last.consumed != result.consumed || pieces.body != req.body ||
                     pieces.path != req.path || pieces.method != req.method))
      std::abort();
  }
  switch (result.status) {
    case mock2ba::ParseStatus::kComplete: {
      if (result.consumed == 0 || result.consumed > size) std::abort();
      if (req.body.size() > limits.max_body_bytes || req.target.size() > limits.max_target_bytes)
        std::abort();
      if (req.headers.size() > limits.max_header_count) std::abort();
      // A request is never complete before its last byte has arrived.
      httplib::Request shorter;
      if (mock2ba::parse_http_request(bytes.substr(0, result.consumed - 1), limits, &shorter)
              .status != mock2ba::ParseStatus::kIncomplete)
        std::abort();
      break;
    }
    case mock2ba::ParseStatus::kError:
      if (result.error_message.empty()) std::abort();  // a rejection always says why
      switch (result.error_status) {
        case 400:
        case 413:
        case 414:
        case 431:
        case 501:
        case 505:
          break;
        default:
          std::abort();
      }
      break;
    case mock2ba::ParseStatus::kIncomplete:
      if (result.expects_continue && !result.headers_complete) std::abort();
      break;
  }
  return 0;
}
