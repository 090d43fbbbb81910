#include "common/strings.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(ParseDuration, GoSyntax) {
  EXPECT_EQ(*parseDuration("0"), 0);
  EXPECT_EQ(*parseDuration("1s"), 1000000000LL);
  EXPECT_EQ(*parseDuration("500ms"), 1000000000LL / 2);
  EXPECT_EQ(*parseDuration("1m30s"), 90 * 1000000000LL);
  EXPECT_EQ(*parseDuration("1.5h"), 5400 * 1000000000LL);
  EXPECT_EQ(*parseDuration("250us"), 250000);
  EXPECT_EQ(*parseDuration("7ns"), 7);
  for (const char* bad : {"", "10", "1x", "s", "-1s", "1s2"})
    EXPECT_FALSE(parseDuration(bad).ok()) << bad;
}

TEST(ParseSize, UnitsAreBinary) {
  EXPECT_EQ(*parseSize("1024"), 1024);
  EXPECT_EQ(*parseSize("512b"), 512);
  EXPECT_EQ(*parseSize("32k"), 32 * 1024);
  EXPECT_EQ(*parseSize("32m"), 32 * 1024 * 1024);
  EXPECT_EQ(*parseSize("32M"), 32 * 1024 * 1024);
  EXPECT_EQ(*parseSize("32mb"), 32 * 1024 * 1024);
  EXPECT_EQ(*parseSize("2GiB"), 2LL * 1024 * 1024 * 1024);
  EXPECT_EQ(*parseSize("1.5g"), 1536LL * 1024 * 1024);
}

TEST(ParseSize, RefusesJunk) {
  for (const char* bad : {"", "12q", "m", "-1", "1mm", "1.5.5m", "10 x"}) {
    auto r = parseSize(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_NE(parseSize("12q").error().message().find("unknown unit 'q'"), std::string::npos);
}

TEST(Strings, HumanDurationsAsDockerWordsThem) {
  constexpr int64_t kSecond = 1000000000;
  EXPECT_EQ(humanDuration(0), "Less than a second");
  EXPECT_EQ(humanDuration(kSecond), "1 second");
  EXPECT_EQ(humanDuration(5 * kSecond), "5 seconds");
  EXPECT_EQ(humanDuration(60 * kSecond), "About a minute");
  EXPECT_EQ(humanDuration(5 * 60 * kSecond), "5 minutes");
  EXPECT_EQ(humanDuration(3600 * kSecond), "About an hour");
  EXPECT_EQ(humanDuration(3 * 3600 * kSecond), "3 hours");
  EXPECT_EQ(humanDuration(3 * 86400 * kSecond), "3 days");
  EXPECT_EQ(humanDuration(20 * 86400 * kSecond), "2 weeks");
  EXPECT_EQ(humanDuration(90 * 86400 * kSecond), "3 months");
  EXPECT_EQ(humanDuration(800 * 86400 * kSecond), "2 years");
}

TEST(Strings, SplitKeepsEmptyFields) {
  EXPECT_EQ(split("a::b", ':'), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("", ','), (std::vector<std::string>{""}));
}

TEST(Strings, ParseIntRejectsJunk) {
  EXPECT_EQ(parseInt("42"), 42);
  EXPECT_EQ(parseInt("-7"), -7);
  EXPECT_FALSE(parseInt("4x").has_value());
  EXPECT_FALSE(parseInt("").has_value());
  EXPECT_FALSE(parseInt("99999999999999999999").has_value());
}

TEST(Strings, Trim) { EXPECT_EQ(trim("  a b \n"), "a b"); }

}  // namespace
}  // namespace berth
