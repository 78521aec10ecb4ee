#include "twoba/encoding.h"

#include <gtest/gtest.h>

#include "crypto.h"

namespace twoba {
namespace {

std::string hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

TEST(FormEncoding, EncodesTheHostileAlphabet) {
  EXPECT_EQ(form_urlencode("+ & = % / é €"), "%2B+%26+%3D+%25+%2F+%C3%A9+%E2%82%AC");
  EXPECT_EQ(form_urlencode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(form_urlencode(std::string("a\0b", 3)), "a%00b");
}

TEST(FormEncoding, DecodesWhatItEncodes) {
  const std::string nasty = "p@ss w+rd&x=1%2F/é€\t\"'";
  EXPECT_EQ(form_urldecode(form_urlencode(nasty)), nasty);
  EXPECT_EQ(form_urldecode("a+b%2Bc"), "a b+c");
  EXPECT_EQ(form_urldecode("100%"), "100%");  // a broken escape stays literal
  EXPECT_EQ(form_urldecode("%zz%4"), "%zz%4");
}

TEST(FormEncoding, FormKeepsOrderAndDuplicates) {
  const FormFields fields = {{"grant_type", "refresh_token"},
                             {"refresh_token", "ab+/=cd"},
                             {"scope", "openid offline_access"},
                             {"x", ""},
                             {"x", "2"}};
  const std::string body = encode_form(fields);
  EXPECT_EQ(body,
            "grant_type=refresh_token&refresh_token=ab%2B%2F%3Dcd&scope=openid+offline_access"
            "&x=&x=2");
  EXPECT_EQ(parse_form(body), fields);
  EXPECT_EQ(parse_form("a&&b=1"), (FormFields{{"a", ""}, {"b", "1"}}));
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Crypto, Sha256AndRandom) {
  EXPECT_EQ(hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string a = random_bytes(32);
  const std::string b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(BasicAuth, FormEncodesBeforeBase64) {
  // RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined with ':' and base64'd.
  EXPECT_EQ(basic_authorization("demo-client", "s+c:r/t=é"),
            "Basic " + base64_encode("demo-client:s%2Bc%3Ar%2Ft%3D%C3%A9"));
  EXPECT_EQ(basic_authorization("a b", ""), "Basic " + base64_encode("a+b:"));
}

}  // namespace
}  // namespace twoba
