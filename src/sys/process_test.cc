#include "sys/process.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth::sys {
namespace {

TEST(ProcStat, SeesItselfAndAZombie) {
  auto self = procStat(::getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_GT(self->start_time, 0u);
  pid_t child = ::fork();
  if (child == 0) _exit(0);
  // Until reaped, the child is a zombie: a runtime must read that as stopped.
  for (int i = 0; i < 1000; ++i) {
    auto st = procStat(child);
    if (st && st->state == 'Z') break;
    ::usleep(1000);
  }
  EXPECT_EQ(procStat(child)->state, 'Z');
  ::waitpid(child, nullptr, 0);
  EXPECT_FALSE(procStat(child).has_value());
}

TEST(RunProgram, FeedsStdinAndReportsExit) {
  auto r =
      runProgram("/bin/sh", {"sh", "-c", "read x; [ \"$x\" = hello ] && exit 3"}, {}, "hello\n", 5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(exitCodeOf(*r), 3);
}

TEST(RunProgram, TimesOut) {
  auto r = runProgram("/bin/sleep", {"sleep", "5"}, {}, "", 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("timed out"), std::string::npos);
}

}  // namespace
}  // namespace berth::sys
