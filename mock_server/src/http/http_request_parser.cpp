#include "http/http_request_parser.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include "util/text_util.h"

namespace mock2ba {
namespace {

ParseResult error(int status, std::string message) {
  ParseResult result;
  result.status = ParseStatus::kError;
  result.error_status = status;
  result.error_message = std::move(message);
  return result;
}

ParseResult incomplete(bool headers_complete = false, bool expects_continue = false) {
  ParseResult result;
  result.headers_complete = headers_complete;
  result.expects_continue = expects_continue;
  return result;
}

// RFC 9110 §5.6.2 token characters.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

bool is_known_method(std::string_view method) {
  static constexpr std::string_view kMethods[] = {"GET",     "HEAD",  "POST",  "PUT",    "DELETE",
                                                  "OPTIONS", "PATCH", "TRACE", "CONNECT"};
  return std::find(std::begin(kMethods), std::end(kMethods), method) != std::end(kMethods);
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

size_t skip_leading_blank_lines(std::string_view data) {
  // RFC 9112 §2.2: a server should ignore empty lines received before the request line.
  size_t pos = 0;
  while (pos < data.size() && (data[pos] == '\r' || data[pos] == '\n')) ++pos;
  return pos;
}

// The line starting at `pos` without its CR LF (or bare LF); *next is set past the line ending.
// Returns false when no line ending follows.
bool next_line(std::string_view data, size_t pos, std::string_view* line, size_t* next) {
  size_t lf = data.find('\n', pos);
  if (lf == std::string_view::npos) return false;
  size_t end = lf > pos && data[lf - 1] == '\r' ? lf - 1 : lf;
  *line = data.substr(pos, end - pos);
  *next = lf + 1;
  return true;
}

// Whether a line still waiting for its LF is already longer than `limit`. A CR at the end may
// be the first half of the line's CR LF, so it is not counted yet.
bool unfinished_line_exceeds(std::string_view rest, size_t limit) {
  size_t length = rest.size();
  if (length > 0 && rest.back() == '\r') --length;
  return length > limit;
}

bool parse_decimal(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 18) return false;
  uint64_t out = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  *value = out;
  return true;
}

bool parse_hex(std::string_view text, uint64_t* value) {
  if (text.empty() || text.size() > 15) return false;
  uint64_t out = 0;
  for (char c : text) {
    int digit = hex_digit_value(c);
    if (digit < 0) return false;
    out = out * 16 + static_cast<uint64_t>(digit);
  }
  *value = out;
  return true;
}

std::string body_limit_message(size_t limit, bool form) {
  return std::string("The request body is larger than ") + std::to_string(limit) + " bytes" +
         (form ? " (the limit for form bodies)." : ".");
}

// The error for a head that has no end yet but is already too long.
ParseResult oversized_head(std::string_view head, const HttpLimits& limits) {
  size_t line_end = head.find('\n');
  std::string_view first_line = head.substr(0, line_end);
  if (first_line.size() > limits.max_target_bytes) {
    return error(414, "The request target is longer than " +
                          std::to_string(limits.max_target_bytes) + " bytes.");
  }
  return error(431, "The request header fields are larger than " +
                        std::to_string(limits.max_header_bytes) + " bytes.");
}

// The headers that decide how the body is framed and whether the connection stays open.
struct FramingHeaders {
  std::optional<std::string_view> content_length;
  std::string_view transfer_encoding;
  size_t transfer_encodings = 0;
  std::string_view content_type;
  std::string_view expect;
  std::string_view connection;

  // Returns false for a second Content-Length that differs from the first.
  bool note(std::string_view name, std::string_view value) {
    if (iequals(name, "Content-Length")) {
      if (content_length && *content_length != value) return false;
      content_length = value;
    } else if (iequals(name, "Transfer-Encoding")) {
      transfer_encoding = value;
      ++transfer_encodings;
    } else if (iequals(name, "Content-Type")) {
      if (content_type.empty()) content_type = value;
    } else if (iequals(name, "Expect")) {
      expect = value;
    } else if (iequals(name, "Connection")) {
      connection = value;
    }
    return true;
  }
};

}  // namespace

size_t find_head_end(std::string_view data, size_t from) {
  size_t pos = from == 0 ? skip_leading_blank_lines(data) : from;
  while (true) {
    size_t lf = data.find('\n', pos);
    if (lf == std::string_view::npos) return std::string_view::npos;
    if (lf + 1 < data.size() && data[lf + 1] == '\n') return lf + 2;
    if (lf + 2 < data.size() && data[lf + 1] == '\r' && data[lf + 2] == '\n') return lf + 3;
    if (lf + 2 >= data.size()) return std::string_view::npos;
    pos = lf + 1;
  }
}

RequestParser::RequestParser(const HttpLimits& limits) : limits_(limits) {}

void RequestParser::reset() { *this = RequestParser(limits_); }

ParseResult RequestParser::parse(std::string_view data, httplib::Request* req) {
  if (stage_ == Stage::kHead) {
    ParseResult head = parse_head(data, req);
    if (stage_ == Stage::kHead) return head;  // incomplete or an error
  }
  if (stage_ == Stage::kLengthBody) {
    if (data.size() - pos_ < remaining_) return incomplete(true, expects_continue_);
    req->body.assign(data.substr(pos_, remaining_));
    pos_ += remaining_;
    return complete();
  }
  return parse_chunked(data, req);
}

ParseResult RequestParser::complete() {
  ParseResult done;
  done.status = ParseStatus::kComplete;
  done.consumed = pos_;
  done.keep_alive = keep_alive_;
  return done;
}

// Over 80 lines on purpose: one pass over the head, request line then header lines, with each
// limit checked where its bytes are read; split into functions, the parser's position and the
// request's state would travel through every call (and the fuzzer compares it with parse()).
// NOLINTNEXTLINE(readability-function-size)
ParseResult RequestParser::parse_head(std::string_view data, httplib::Request* req) {
  const HttpLimits& limits = limits_;
  // Each byte of an incomplete head is looked at once, however slowly the head arrives.
  while (start_ < data.size() && (data[start_] == '\r' || data[start_] == '\n')) ++start_;
  size_t start = start_;
  size_t head_end = find_head_end(data, std::max(scan_from_, start));
  if (head_end == std::string_view::npos) {
    // The head's end is looked for only in what arrived since (a terminator spans <= 3 bytes).
    scan_from_ = std::max(start, data.size() >= 3 ? data.size() - 3 : 0);
    if (first_line_end_ == std::string_view::npos) {
      size_t lf = data.find('\n', std::max(start, line_scan_from_));
      line_scan_from_ = data.size();
      if (lf != std::string_view::npos) first_line_end_ = lf;
    }
    size_t first_line =
        first_line_end_ == std::string_view::npos ? data.size() - start : first_line_end_ - start;
    // Blank lines before the request count too: they are bytes held for it.
    if (data.size() > limits.max_header_bytes || first_line > limits.max_target_bytes + 32)
      return oversized_head(data.substr(start), limits);
    return incomplete();
  }
  // Blank lines before the request line count, as they do while the head is arriving.
  if (head_end > limits.max_header_bytes)
    return oversized_head(data.substr(start, head_end - start), limits);

  // Request line: method SP request-target SP HTTP-version.
  std::string_view line;
  size_t pos;
  next_line(data, start, &line, &pos);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return error(400, "The request line is not 'METHOD target HTTP/1.1'.");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method)) return error(400, "The request method is not a token.");
  if (target.size() > limits.max_target_bytes) {
    return error(414, "The request target is longer than " +
                          std::to_string(limits.max_target_bytes) + " bytes.");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    bool http_version = version.size() == 8 && starts_with(version, "HTTP/") && version[6] == '.' &&
                        isdigit(static_cast<unsigned char>(version[5])) &&
                        isdigit(static_cast<unsigned char>(version[7]));
    return http_version ? error(505, "Only HTTP/1.0 and HTTP/1.1 are served.")
                        : error(400, "The request line does not end in an HTTP version.");
  }
  if (!is_known_method(method))
    return error(501, "The method " + std::string(method) + " is not implemented.");
  for (unsigned char c : target) {
    if (c < 0x21 || c == 0x7F) return error(400, "The request target contains a control byte.");
  }

  std::string_view origin = target;
  if (starts_with(target, "http://") || starts_with(target, "https://")) {
    // Absolute form (RFC 9112 §3.2.2): the path starts after the authority.
    size_t authority = target.find("//") + 2;
    size_t slash = target.find_first_of("/?", authority);
    origin = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  } else if (target == "*") {
    if (method != "OPTIONS") return error(400, "The request target '*' is only for OPTIONS.");
  } else if (target.front() != '/') {
    return error(400, "The request target is not a path.");
  }

  // The framing headers are noted on the way, not looked up later: lookups in cpp-httplib's
  // case-insensitive multimap lower-case every character they compare.
  req->headers.clear();
  size_t header_count = 0;
  FramingHeaders framing;
  while (true) {
    next_line(data, pos, &line, &pos);
    if (line.empty()) break;
    if (line.size() > limits.max_header_line_bytes) {
      return error(431, "A header line is longer than " +
                            std::to_string(limits.max_header_line_bytes) + " bytes.");
    }
    if (line.front() == ' ' || line.front() == '\t')
      return error(400, "A header line is folded (obsolete line folding is not accepted).");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon)))
      return error(400, "A header line is not 'Name: value'.");
    if (++header_count > limits.max_header_count) {
      return error(431, "The request has more than " + std::to_string(limits.max_header_count) +
                            " header lines.");
    }
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim_ows(line.substr(colon + 1));
    if (!framing.note(name, value))
      return error(400, "The request has conflicting Content-Length headers.");
    req->headers.emplace(std::string(name), std::string(value));
  }

  req->method.assign(method);
  req->target.assign(target);
  req->version.assign(version);
  size_t question = origin.find('?');
  std::string_view raw_path = origin.substr(0, question);
  if (raw_path.find('%') == std::string_view::npos) {
    req->path.assign(raw_path);  // nothing to decode: spare decode_url's copies
  } else {
    req->path = httplib::detail::decode_url(std::string(raw_path), false);
  }
  req->params.clear();
  if (question != std::string_view::npos)
    httplib::detail::parse_query_text(std::string(origin.substr(question + 1)), req->params);
  req->body.clear();

  // Body framing (RFC 9112 §6): chunked, Content-Length, or none.
  constexpr std::string_view kFormType = "application/x-www-form-urlencoded";
  form_ = framing.content_type.size() >= kFormType.size() &&
          iequals(framing.content_type.substr(0, kFormType.size()), kFormType);
  body_limit_ =
      form_ ? std::min(limits.max_form_body_bytes, limits.max_body_bytes) : limits.max_body_bytes;
  expects_continue_ = version == "HTTP/1.1" && iequals(framing.expect, "100-continue");
  // RFC 9112 §9.3: HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked.
  std::string connection = to_lower(framing.connection);
  keep_alive_ = version == "HTTP/1.0" ? connection.find("keep-alive") != std::string::npos
                                      : connection.find("close") == std::string::npos;
  pos_ = head_end;
  if (framing.transfer_encodings > 0) {
    if (framing.content_length)
      return error(400, "The request has both Transfer-Encoding and Content-Length.");
    if (!iequals(framing.transfer_encoding, "chunked") || framing.transfer_encodings > 1)
      return error(501, "Only the chunked transfer coding is accepted.");
    stage_ = Stage::kChunkSize;
  } else if (framing.content_length) {
    uint64_t length;
    if (!parse_decimal(*framing.content_length, &length))
      return error(400, "The Content-Length header is not a number.");
    if (length > body_limit_) return error(413, body_limit_message(body_limit_, form_));
    remaining_ = length;
    stage_ = Stage::kLengthBody;
  } else {
    remaining_ = 0;
    stage_ = Stage::kLengthBody;
  }
  return incomplete(true, expects_continue_);
}

ParseResult RequestParser::count_framing(size_t bytes) {
  framing_bytes_ += bytes;
  if (framing_bytes_ <= limits_.max_header_bytes) return incomplete(true);
  if (stage_ == Stage::kTrailers)
    return error(431, "The trailer fields are larger than the header limit.");
  return error(413,
               "The chunked body's framing (size lines, extensions, trailers) is larger than " +
                   std::to_string(limits_.max_header_bytes) + " bytes.");
}

ParseResult RequestParser::parse_chunked(std::string_view data, httplib::Request* req) {
  while (true) {
    switch (stage_) {
      case Stage::kChunkSize: {
        std::string_view line;
        size_t next;
        if (!next_line(data, pos_, &line, &next)) {
          if (unfinished_line_exceeds(data.substr(pos_), kMaxChunkSizeLineBytes))
            return error(400, "A chunk size line is longer than " +
                                  std::to_string(kMaxChunkSizeLineBytes) + " bytes.");
          return incomplete(true, expects_continue_);
        }
        if (line.size() > kMaxChunkSizeLineBytes) {
          return error(400, "A chunk size line is longer than " +
                                std::to_string(kMaxChunkSizeLineBytes) + " bytes.");
        }
        ParseResult counted = count_framing(next - pos_);
        if (counted.status == ParseStatus::kError) return counted;
        std::string_view size_text = trim_ows(line.substr(0, line.find(';')));
        uint64_t size;
        if (!parse_hex(size_text, &size))
          return error(400, "A chunk size is not a hexadecimal number.");
        pos_ = next;
        if (size == 0) {
          stage_ = Stage::kTrailers;
          break;
        }
        if (req->body.size() + size > body_limit_)
          return error(413, body_limit_message(body_limit_, form_));
        remaining_ = size;
        stage_ = Stage::kChunkData;
        break;
      }
      case Stage::kChunkData: {
        size_t take = std::min<uint64_t>(remaining_, data.size() - pos_);
        req->body.append(data.substr(pos_, take));
        pos_ += take;
        remaining_ -= take;
        if (remaining_ > 0) return incomplete(true, expects_continue_);
        stage_ = Stage::kChunkEnd;
        break;
      }
      case Stage::kChunkEnd: {
        if (data.size() - pos_ < 1) return incomplete(true, expects_continue_);
        size_t end = pos_;
        if (data[end] == '\r') {
          if (data.size() - end < 2) return incomplete(true, expects_continue_);
          ++end;
        }
        if (data[end] != '\n') return error(400, "A chunk is longer than its size line says.");
        ParseResult counted = count_framing(end + 1 - pos_);
        if (counted.status == ParseStatus::kError) return counted;
        pos_ = end + 1;
        stage_ = Stage::kChunkSize;
        break;
      }
      case Stage::kTrailers: {
        // Trailer fields are read and dropped; the blank line ends the body.
        std::string_view line;
        size_t next;
        if (!next_line(data, pos_, &line, &next)) {
          if (unfinished_line_exceeds(data.substr(pos_), limits_.max_header_line_bytes))
            return error(431, "A trailer field is longer than the header line limit.");
          return incomplete(true, expects_continue_);
        }
        if (line.size() > limits_.max_header_line_bytes)
          return error(431, "A trailer field is longer than the header line limit.");
        ParseResult counted = count_framing(next - pos_);
        if (counted.status == ParseStatus::kError) return counted;
        pos_ = next;
        if (line.empty()) return complete();
        break;
      }
      default:
        return error(400, "The request parser is in an unexpected state.");
    }
  }
}

ParseResult parse_http_request(std::string_view data, const HttpLimits& limits,
                               httplib::Request* req) {
  RequestParser parser(limits);
  return parser.parse(data, req);
}

}  // namespace mock2ba
