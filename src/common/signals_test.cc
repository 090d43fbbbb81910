#include "common/signals.h"

#include <gtest/gtest.h>

#include <csignal>

namespace berth {
namespace {

TEST(Signals, AcceptsTheFormsCallersSend) {
  EXPECT_EQ(*parseSignal("9"), SIGKILL);
  EXPECT_EQ(*parseSignal("KILL"), SIGKILL);
  EXPECT_EQ(*parseSignal("SIGKILL"), SIGKILL);
  EXPECT_EQ(*parseSignal("term"), SIGTERM);
  EXPECT_EQ(*parseSignal("SIGRTMIN+2"), SIGRTMIN + 2);
}

TEST(Signals, RejectsUnknownNames) {
  auto r = parseSignal("NOPE");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("'NOPE'"), std::string::npos);
  EXPECT_FALSE(parseSignal("0").ok());
  EXPECT_FALSE(parseSignal("65").ok());
}

}  // namespace
}  // namespace berth
