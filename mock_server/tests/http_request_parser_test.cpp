#include "http/http_request_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace mock2ba {
namespace {

struct Parsed {
  ParseResult result;
  httplib::Request req;
};

Parsed parse(const std::string& bytes, HttpLimits limits = {}) {
  Parsed out;
  out.result = parse_http_request(bytes, limits, &out.req);
  return out;
}

TEST(HttpRequestParser, ParsesAFormPost) {
  std::string bytes =
      "POST /OAuth/Token?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2NEXT";
  Parsed p = parse(bytes);
  ASSERT_EQ(p.result.status, ParseStatus::kComplete);
  EXPECT_EQ(p.result.consumed, bytes.size() - 4);
  EXPECT_EQ(p.req.method, "POST");
  EXPECT_EQ(p.req.target, "/OAuth/Token?x=1");
  EXPECT_EQ(p.req.path, "/OAuth/Token");
  EXPECT_EQ(p.req.version, "HTTP/1.1");
  EXPECT_EQ(p.req.get_param_value("x"), "1");
  EXPECT_EQ(p.req.get_header_value("host"), "a");  // names compare case-insensitively
  EXPECT_EQ(p.req.body, "a=1&b=2");
}

TEST(HttpRequestParser, DecodesThePathAndTrimsHeaderValues) {
  Parsed p = parse("GET /a%20b?q=%C3%A9+x HTTP/1.0\nX-Note: \t padded \t\n\n");
  ASSERT_EQ(p.result.status, ParseStatus::kComplete);  // bare LF line endings are accepted
  EXPECT_EQ(p.req.path, "/a b");
  EXPECT_EQ(p.req.get_param_value("q"), "\xC3\xA9 x");
  EXPECT_EQ(p.req.get_header_value("X-Note"), "padded");
}

TEST(HttpRequestParser, IgnoresBlankLinesBeforeTheRequestLine) {
  Parsed p = parse("\r\n\r\nGET / HTTP/1.1\r\n\r\n");
  ASSERT_EQ(p.result.status, ParseStatus::kComplete);
  EXPECT_EQ(p.req.path, "/");
}

TEST(HttpRequestParser, AbsoluteFormTargetsServeTheirPath) {
  Parsed p = parse("GET http://example.test:8080/connect/token?a=b HTTP/1.1\r\n\r\n");
  ASSERT_EQ(p.result.status, ParseStatus::kComplete);
  EXPECT_EQ(p.req.path, "/connect/token");
  EXPECT_EQ(p.req.get_param_value("a"), "b");
}

TEST(HttpRequestParser, EveryPrefixOfARequestIsIncomplete) {
  std::string bytes = "POST /t HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello";
  size_t head = bytes.find("\r\n\r\n") + 4;
  for (size_t n = 0; n < bytes.size(); ++n) {
    Parsed p = parse(bytes.substr(0, n));
    ASSERT_EQ(p.result.status, ParseStatus::kIncomplete) << n;
    EXPECT_EQ(p.result.headers_complete, n >= head) << n;
    EXPECT_EQ(p.result.expects_continue, n >= head) << n;
  }
  EXPECT_EQ(parse(bytes).result.status, ParseStatus::kComplete);
}

TEST(HttpRequestParser, DecodesChunkedBodiesWithExtensionsAndTrailers) {
  std::string bytes =
      "POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nGET";
  Parsed p = parse(bytes);
  ASSERT_EQ(p.result.status, ParseStatus::kComplete);
  EXPECT_EQ(p.req.body, "abc0123456789");
  EXPECT_EQ(p.result.consumed, bytes.size() - 3);
  for (size_t n = bytes.find("\r\n\r\n") + 4; n < bytes.size() - 3; ++n) {
    ASSERT_EQ(parse(bytes.substr(0, n)).result.status, ParseStatus::kIncomplete) << n;
  }
}

struct BadCase {
  const char* name;
  std::string bytes;
  int status;
  const char* message_part;
};

class HttpRequestParserRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(HttpRequestParserRejects, WithItsStatusAndReason) {
  HttpLimits limits;
  limits.max_body_bytes = 100;
  limits.max_form_body_bytes = 10;
  Parsed p = parse(GetParam().bytes, limits);
  ASSERT_EQ(p.result.status, ParseStatus::kError);
  EXPECT_EQ(p.result.error_status, GetParam().status);
  EXPECT_NE(p.result.error_message.find(GetParam().message_part), std::string::npos)
      << p.result.error_message;
}

const std::string kBig(9000, 'a');

INSTANTIATE_TEST_SUITE_P(
    Cases, HttpRequestParserRejects,
    ::testing::Values(
        BadCase{"garbage", "GARBAGE\r\n\r\n", 400, "request line"},
        BadCase{"no_version", "GET /\r\n\r\n", 400, "request line"},
        BadCase{"bad_version", "GET / HTTX/1.1\r\n\r\n", 400, "HTTP version"},
        BadCase{"http2", "GET / HTTP/2.0\r\n\r\n", 505, "HTTP/1.1"},
        BadCase{"unknown_method", "BREW / HTTP/1.1\r\n\r\n", 501, "BREW"},
        BadCase{"method_not_token", "G(T / HTTP/1.1\r\n\r\n", 400, "method"},
        BadCase{"relative_target", "GET token HTTP/1.1\r\n\r\n", 400, "not a path"},
        BadCase{"control_byte_in_target", "GET /a\x01 HTTP/1.1\r\n\r\n", 400, "control byte"},
        BadCase{"long_target", "GET /" + kBig + " HTTP/1.1\r\n\r\n", 414, "8192"},
        BadCase{"long_target_unfinished", "GET /" + kBig, 414, "8192"},
        BadCase{"long_header", "GET / HTTP/1.1\r\nX: " + kBig + "\r\n\r\n", 431, "header line"},
        BadCase{"folded_header", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400, "folded"},
        BadCase{"header_without_colon", "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400, "Name: value"},
        BadCase{"space_before_colon", "GET / HTTP/1.1\r\nX : a\r\n\r\n", 400, "Name: value"},
        BadCase{"length_not_a_number", "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400,
                "not a number"},
        BadCase{"conflicting_lengths",
                "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400,
                "conflicting"},
        BadCase{"length_and_chunked",
                "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
                "both"},
        BadCase{"gzip_coding", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
                "chunked"},
        BadCase{"body_too_large", "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413, "100"},
        BadCase{"form_too_large",
                "POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: 11\r\n\r\n",
                413, "form"},
        BadCase{"chunked_too_large", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n",
                413, "100"},
        BadCase{"chunk_size_not_hex",
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n", 400,
                "hexadecimal"},
        BadCase{"chunk_longer_than_its_size",
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 400,
                "longer"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(HttpRequestParser, CountsHeaderLinesAndHeadBytes) {
  HttpLimits limits;
  limits.max_header_count = 3;
  std::string head = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 3; ++i) head += "X-" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(parse(head + "\r\n", limits).result.status, ParseStatus::kComplete);
  Parsed p = parse(head + "X-3: 1\r\n\r\n", limits);
  EXPECT_EQ(p.result.error_status, 431);

  limits = HttpLimits{};
  limits.max_header_bytes = 1000;
  std::string many = "GET / HTTP/1.1\r\n";
  while (many.size() < 1100) many += "X-Pad: 0123456789\r\n";
  EXPECT_EQ(parse(many, limits).result.error_status, 431);  // before the head even ends
}

TEST(HttpRequestParser, FindHeadEndResumesWhereItStopped) {
  std::string bytes = "GET / HTTP/1.1\r\nA: b\r\n\r\n";
  EXPECT_EQ(find_head_end(bytes, 0), bytes.size());
  EXPECT_EQ(find_head_end(bytes.substr(0, bytes.size() - 1), 0), std::string::npos);
  EXPECT_EQ(find_head_end(bytes, bytes.size() - 4), bytes.size());
  EXPECT_EQ(find_head_end("GET / HTTP/1.1\n\n", 0), 16u);
}

TEST(HttpRequestParser, ChunkExtensionsAndTrailersCountAgainstTheLimits) {
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  // One body byte per chunk, each with a long extension: a tiny body, a large request.
  std::string chunks;
  const std::string extension = ";ext=" + std::string(1000, 'e');
  while (chunks.size() < 70 * 1024) chunks += "1" + extension + "\r\na\r\n";
  Parsed p = parse(head + chunks + "0\r\n\r\n");
  ASSERT_EQ(p.result.status, ParseStatus::kError);
  EXPECT_EQ(p.result.error_status, 413) << p.result.error_message;

  // A size line longer than its limit is refused before its end arrives.
  p = parse(head + "1;" + std::string(kMaxChunkSizeLineBytes, 'e'));
  EXPECT_EQ(p.result.error_status, 400) << p.result.error_message;

  // Trailer fields share the budget.
  std::string trailers;
  while (trailers.size() < 70 * 1024) trailers += "X-Trailer: " + std::string(100, 't') + "\r\n";
  p = parse(head + "1\r\na\r\n0\r\n" + trailers + "\r\n");
  EXPECT_EQ(p.result.error_status, 431) << p.result.error_message;

  // Within the budget, extensions and trailers are accepted and dropped.
  p = parse(head + "1" + extension + "\r\na\r\n0\r\nX-T: 1\r\n\r\n");
  ASSERT_EQ(p.result.status, ParseStatus::kComplete);
  EXPECT_EQ(p.req.body, "a");
}

TEST(HttpRequestParser, BlankLinesBeforeTheRequestCountAgainstTheHeaderLimit) {
  std::string blank;
  while (blank.size() <= HttpLimits{}.max_header_bytes) blank += "\r\n";
  Parsed p = parse(blank);
  EXPECT_EQ(p.result.status, ParseStatus::kError);
  EXPECT_EQ(p.result.error_status, 431);
}

// The parser goes on from where it stopped: bytes it has parsed are not read again. Changing
// them afterwards (which a real connection never does) shows it.
TEST(RequestParser, DoesNotReadParsedBytesAgain) {
  HttpLimits limits;
  RequestParser parser(limits);
  httplib::Request req;
  std::string data = "POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
  ParseResult r = parser.parse(data, &req);
  ASSERT_EQ(r.status, ParseStatus::kIncomplete);
  EXPECT_TRUE(r.headers_complete);
  EXPECT_TRUE(parser.head_complete());
  data.replace(0, 4, "XXXX");                // the method, parsed already
  data.replace(data.find("abc"), 3, "zzz");  // the first chunk, decoded already
  data += "2\r\nde\r\n0\r\n\r\nGET /next";   // the rest, and the start of the next request
  r = parser.parse(data, &req);
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.body, "abcde");
  EXPECT_EQ(data.substr(r.consumed), "GET /next");
}

TEST(RequestParser, ByteByByteGivesWhatOneCallGives) {
  const std::string bytes =
      "\r\nPOST /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
      "Content-Type: text/plain\r\n\r\n4;e=1\r\nwiki\r\n5\r\npedia\r\n0\r\nT: 1\r\n\r\n";
  Parsed whole = parse(bytes);
  ASSERT_EQ(whole.result.status, ParseStatus::kComplete);
  RequestParser parser{HttpLimits{}};
  httplib::Request req;
  ParseResult r;
  for (size_t n = 1; n <= bytes.size(); ++n) {
    r = parser.parse(std::string_view(bytes).substr(0, n), &req);
    if (n < bytes.size()) {
      ASSERT_EQ(r.status, ParseStatus::kIncomplete) << n;
    }
  }
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(r.consumed, whole.result.consumed);
  EXPECT_EQ(req.path, whole.req.path);
  EXPECT_EQ(req.body, "wikipedia");
  EXPECT_EQ(req.get_header_value("Host"), "h");
  parser.reset();
  httplib::Request again;
  EXPECT_EQ(parser.parse(bytes, &again).status, ParseStatus::kComplete);
  EXPECT_EQ(again.body, "wikipedia");
}

// A line exactly at its limit may arrive with its CR before its LF; that CR is no excess.
TEST(RequestParser, ALineAtItsLimitIsAcceptedWhenItsCrArrivesAlone) {
  HttpLimits limits;
  limits.max_header_line_bytes = 64;
  const std::string trailer = "T: " + std::string(limits.max_header_line_bytes - 3, 'x');
  const std::string extension = "1;e=" + std::string(kMaxChunkSizeLineBytes - 4, 'y');
  const std::string bytes = "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
                            extension + "\r\nz\r\n0\r\n" + trailer + "\r\n\r\n";
  ASSERT_EQ(parse(bytes, limits).result.status, ParseStatus::kComplete);
  RequestParser parser{limits};
  httplib::Request req;
  ParseResult r;
  for (size_t n = 1; n <= bytes.size(); ++n) {
    r = parser.parse(std::string_view(bytes).substr(0, n), &req);
    if (n < bytes.size()) {
      ASSERT_EQ(r.status, ParseStatus::kIncomplete) << n << ": " << r.error_message;
    }
  }
  ASSERT_EQ(r.status, ParseStatus::kComplete);
  EXPECT_EQ(req.body, "z");
}

}  // namespace
}  // namespace mock2ba
