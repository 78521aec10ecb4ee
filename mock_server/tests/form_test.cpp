#include "http/form.h"

#include <gtest/gtest.h>

namespace mock2ba {
namespace {

TEST(FormDecode, PlusIsSpaceAndPercentIsByte) {
  EXPECT_EQ(form_decode("a+b%2Bc%20d"), "a b+c d");
  EXPECT_EQ(form_decode("%26%3D%25%2F"), "&=%/");
}

TEST(FormDecode, Utf8SurvivesPercentEncoding) { EXPECT_EQ(form_decode("%C3%A9%E2%82%AC"), "é€"); }

TEST(FormDecode, RejectsMalformedEscapesAndNul) {
  EXPECT_FALSE(form_decode("%"));
  EXPECT_FALSE(form_decode("%4"));
  EXPECT_FALSE(form_decode("%G1"));
  EXPECT_FALSE(form_decode("a%00b"));
  EXPECT_FALSE(form_decode(std::string_view("ab\0", 3)));  // a raw NUL, with nothing to decode
  EXPECT_FALSE(form_decode(std::string_view("a+\0", 3)));
  EXPECT_EQ(form_decode("plain-token_value.~"), "plain-token_value.~");
  EXPECT_EQ(form_decode("a+b%2B"), "a b+");
}

TEST(FormEncode, RoundTripsHostileValues) {
  const std::string value = "p@ss+word/=&% é€:";
  EXPECT_EQ(form_decode(form_encode(value)), value);
  EXPECT_EQ(form_encode("a b+c"), "a%20b%2Bc");
}

TEST(FormParse, KeepsDuplicatesInOrder) {
  std::string error;
  auto form = Form::parse("scope=a&grant_type=password&scope=b", &error);
  ASSERT_TRUE(form);
  EXPECT_EQ(form->count("scope"), 2u);
  EXPECT_EQ(form->value("scope"), "a");
  EXPECT_EQ(form->fields()[2].second, "b");
}

TEST(FormParse, EmptyValuesAndBareNames) {
  auto form = Form::parse("a=&b&&c=1", nullptr);
  ASSERT_TRUE(form);
  ASSERT_NE(form->find("a"), nullptr);
  EXPECT_EQ(*form->find("a"), "");
  EXPECT_EQ(form->value("b"), "");
  EXPECT_EQ(form->value("c"), "1");
  EXPECT_EQ(form->find("d"), nullptr);
  EXPECT_EQ(form->value("d"), "");
  EXPECT_EQ(form->fields().size(), 3u);
}

// RFC 6749 §3.1: an OAuth parameter sent without a value is treated as omitted.
TEST(FormParse, AnEmptyParameterIsOmitted) {
  auto form = Form::parse("scope=&state=xyz&state=2", nullptr);
  ASSERT_TRUE(form);
  EXPECT_EQ(form->param("scope"), nullptr);
  EXPECT_NE(form->find("scope"), nullptr);
  ASSERT_NE(form->param("state"), nullptr);
  EXPECT_EQ(*form->param("state"), "xyz");
  EXPECT_EQ(form->param("absent"), nullptr);
  EXPECT_EQ(copy_of(form->param("state")), std::optional<std::string>("xyz"));
  EXPECT_EQ(copy_of(form->param("scope")), std::nullopt);
}

TEST(FormParse, ReportsTheBadParameter) {
  std::string error;
  EXPECT_FALSE(Form::parse("ok=1&password=%zz", &error));
  EXPECT_NE(error.find("password"), std::string::npos);
}

}  // namespace
}  // namespace mock2ba
