// The operation log gives back exactly the records that were synced, in order, and stops at
// the first one that is torn, corrupt or left over from before the log started over.

#include "store/op_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/temp_dir_testing.h"

namespace berth::store {
namespace {

class OpLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  std::unique_ptr<OpLog> reopen(uint64_t id = 42) {
    auto log = OpLog::open(path_, id);
    EXPECT_TRUE(log) << log.error().message();
    return log ? std::move(*log) : nullptr;
  }

  static std::vector<uint64_t> seqs(const std::vector<OpLog::Record>& records) {
    std::vector<uint64_t> out;
    for (const auto& r : records) out.push_back(r.seq);
    return out;
  }

  // Overwrites one byte of the file.
  void poke(uint64_t offset, char byte) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, &byte, 1, static_cast<off_t>(offset)), 1);
    ::close(fd);
  }

  berth::testing::TempDir dir_{"berth-oplog"};
  const std::string path_ = dir_.path() + "/store.db-oplog";
};

TEST_F(OpLogTest, GivesBackTheRecordsAfterTheTablesInOrder) {
  auto log = reopen();
  ASSERT_TRUE(log->append({{1, "one"}, {2, std::string(5000, 'b')}}));
  ASSERT_TRUE(log->append({{3, std::string("th\0ree", 6)}}));
  log.reset();
  log = reopen();
  auto all = log->recover(0);
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(seqs(*all), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ((*all)[0].payload, "one");
  EXPECT_EQ((*all)[1].payload, std::string(5000, 'b'));
  EXPECT_EQ((*all)[2].payload, std::string("th\0ree", 6));
  log.reset();
  log = reopen();
  auto after = log->recover(2);
  ASSERT_TRUE(after);
  EXPECT_EQ(seqs(*after), (std::vector<uint64_t>{3}));
  // The next record goes after the last valid one.
  ASSERT_TRUE(log->append({{4, "four"}}));
  log.reset();
  log = reopen();
  EXPECT_EQ(seqs(*log->recover(0)), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TEST_F(OpLogTest, ATornOrCorruptRecordEndsTheLogAndIsWrittenOver) {
  auto log = reopen();
  ASSERT_TRUE(log->append({{1, "one"}, {2, "two"}, {3, "three"}}));
  const uint64_t second = 28 + 3;  // header 28 bytes, payload "one"
  poke(second + 28, 'X');          // the first payload byte of record 2
  log.reset();
  log = reopen();
  auto got = log->recover(0);
  ASSERT_TRUE(got);
  EXPECT_EQ(seqs(*got), (std::vector<uint64_t>{1}));
  ASSERT_TRUE(log->append({{2, "again"}}));
  log.reset();
  log = reopen();
  got = log->recover(0);
  ASSERT_TRUE(got);
  ASSERT_EQ(seqs(*got), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ((*got)[1].payload, "again");
}

TEST_F(OpLogTest, RecordsFromBeforeARestartAreNotReadAgain) {
  auto log = reopen();
  ASSERT_TRUE(log->append({{1, "a"}, {2, "b"}, {3, "c"}}));
  log->restart();  // everything so far is in the tables
  // Record 4 has the size of record 1, so intact records 2 and 3 follow it in the file.
  ASSERT_TRUE(log->append({{4, "d"}}));
  log.reset();
  log = reopen();
  auto got = log->recover(3);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(seqs(*got), (std::vector<uint64_t>{4}));
  EXPECT_EQ(log->size(), 28u + 1) << "the log ends after record 4, not after the old 2 and 3";
  // The log goes on right after record 4: nothing of the older records is read again.
  ASSERT_TRUE(log->append({{5, "e"}}));
  log.reset();
  log = reopen();
  got = log->recover(3);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(seqs(*got), (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ((*got)[1].payload, "e");
}

TEST_F(OpLogTest, TheLogOfAnotherStoreIsNotReplayed) {
  auto log = reopen(42);
  ASSERT_TRUE(log->append({{1, "a"}, {2, "b"}}));
  log.reset();
  log = reopen(43);  // the database was made anew beside the old log
  auto got = log->recover(0);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_TRUE(got->empty());
  ASSERT_TRUE(log->append({{1, "new"}}));
  log.reset();
  log = reopen(43);
  got = log->recover(0);
  ASSERT_TRUE(got);
  ASSERT_EQ(seqs(*got), (std::vector<uint64_t>{1}));
  EXPECT_EQ((*got)[0].payload, "new");
}

TEST_F(OpLogTest, OneProcessAtATime) {
  auto first = reopen();
  auto second = OpLog::open(path_, 42);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), ErrorCode::kConflict);
  EXPECT_NE(second.error().message().find("open in another process"), std::string::npos)
      << second.error().message();
  first.reset();
  EXPECT_TRUE(OpLog::open(path_, 42));
}

TEST_F(OpLogTest, AGapBetweenTheTablesAndTheLogIsAnError) {
  auto log = reopen();
  ASSERT_TRUE(log->append({{5, "e"}, {6, "f"}}));
  log.reset();
  log = reopen();
  auto got = log->recover(2);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message().find("starts at batch 5 but the tables end at batch 2"),
            std::string::npos)
      << got.error().message();
  // Nothing after the tables: nothing to replay, whatever the log held before.
  log.reset();
  log = reopen();
  got = log->recover(6);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
}

}  // namespace
}  // namespace berth::store
