#include "common/strings.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

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
