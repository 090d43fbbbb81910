#include "monitor/json_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "monitor/text.h"

namespace berth::monitor {
namespace {

std::string escape(const std::string& s) {
  std::string out(6 * s.size() + 1, '\0');
  out.resize(escapeJson(s.data(), s.size(), out.data()));
  return out;
}

TEST(EscapeJson, EscapesQuotesBackslashesAndControlBytesOnly) {
  EXPECT_EQ(escape("plain text"), "plain text");
  EXPECT_EQ(escape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(escape("\n\r\t\b\f"), "\\n\\r\\t\\b\\f");
  EXPECT_EQ(escape(std::string("\x00\x01\x1f", 3)), "\\u0000\\u0001\\u001f");
  EXPECT_EQ(escape("\x7f"), "\x7f");
  EXPECT_EQ(escape("h\xc3\xa9"), "h\xc3\xa9");  // UTF-8 passes through
  EXPECT_EQ(escape("\xff\xfe"), "\xff\xfe");    // and so do other bytes
}

TEST(Timestamp, IsRfc3339WithNineDigitsInUtc) {
  char buf[kTimestampLen + 1];
  EXPECT_EQ(formatTimestamp(0, buf), kTimestampLen);
  EXPECT_STREQ(buf, "1970-01-01T00:00:00.000000000Z");
  formatTimestamp(1795631400123456789LL, buf);
  EXPECT_STREQ(buf, "2026-11-25T18:30:00.123456789Z");
  formatTimestamp(951782400000000001LL, buf);  // leap day
  EXPECT_STREQ(buf, "2000-02-29T00:00:00.000000001Z");
}

TEST(FormatEntry, IsDockerJsonFile) {
  std::vector<char> out(kMaxEntry);
  size_t n = formatEntry(kStderr, "say \"hi\"\n", 9, 0, out.data());
  std::string line(out.data(), n);
  EXPECT_EQ(line,
            "{\"log\":\"say \\\"hi\\\"\\n\",\"stream\":\"stderr\","
            "\"time\":\"1970-01-01T00:00:00.000000000Z\"}\n");
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["log"], "say \"hi\"\n");
}

TEST(FormatEntry, WorstCaseFits) {
  std::string all_controls(kMaxLogLine, '\x01');
  std::vector<char> out(kMaxEntry);
  size_t n = formatEntry(kStdout, all_controls.data(), all_controls.size(), 0, out.data());
  EXPECT_LE(n, kMaxEntry);
  EXPECT_EQ(nlohmann::json::parse(std::string(out.data(), n))["log"], all_controls);
}

class LogDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-monitor-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/container.log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<nlohmann::json> entries(const std::string& path) {
    std::ifstream in(path);
    std::vector<nlohmann::json> out;
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  std::string dir_, path_;
};

TEST_F(LogDir, SplitterCutsAtNewlinesAndKeepsPartialLines) {
  LogFile log;
  ASSERT_TRUE(log.open(path_.c_str(), 0, 1));
  alignas(4096) static char buf[kMaxLogLine];
  auto split = std::make_unique<LineSplitter>(kStdout, buf);
  auto feed = [&](const std::string& s) {
    size_t room;
    char* p = split->space(&room);
    ASSERT_GE(room, s.size());
    memcpy(p, s.data(), s.size());
    split->commit(s.size(), log, 0);
  };
  feed("one\ntw");
  feed("o\nthree\nfo");
  feed("ur");
  split->flush(log, 0);
  auto e = entries(path_);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0]["log"], "one\n");
  EXPECT_EQ(e[1]["log"], "two\n");
  EXPECT_EQ(e[2]["log"], "three\n");
  EXPECT_EQ(e[3]["log"], "four");
  EXPECT_EQ(e[3]["stream"], "stdout");
}

TEST_F(LogDir, LongLinesAreCutAt16KiB) {
  LogFile log;
  ASSERT_TRUE(log.open(path_.c_str(), 0, 1));
  alignas(4096) static char buf[kMaxLogLine];
  auto split = std::make_unique<LineSplitter>(kStderr, buf);
  std::string data(40000, 'x');
  data += "\n";
  size_t off = 0;
  while (off < data.size()) {
    size_t room;
    char* p = split->space(&room);
    size_t n = std::min(room, std::min<size_t>(5000, data.size() - off));
    memcpy(p, data.data() + off, n);
    split->commit(n, log, 0);
    off += n;
  }
  split->trim();
  auto e = entries(path_);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0]["log"].get<std::string>().size(), kMaxLogLine);
  EXPECT_EQ(e[1]["log"].get<std::string>().size(), kMaxLogLine);
  EXPECT_EQ(e[2]["log"], std::string(40000 - 2 * kMaxLogLine, 'x') + "\n");
}

TEST_F(LogDir, RotatesKeepingMaxFilesMinusOne) {
  LogFile log;
  ASSERT_TRUE(log.open(path_.c_str(), 300, 3));
  for (int i = 0; i < 20; ++i) {
    std::string msg = "line " + std::to_string(i) + "\n";
    log.write(kStdout, msg.data(), msg.size(), 0);
  }
  log.close();
  EXPECT_TRUE(std::filesystem::exists(path_ + ".1"));
  EXPECT_TRUE(std::filesystem::exists(path_ + ".2"));
  EXPECT_FALSE(std::filesystem::exists(path_ + ".3"));
  for (const char* suffix : {"", ".1", ".2"})
    EXPECT_LE(std::filesystem::file_size(path_ + suffix), 300u) << suffix;
  // The newest line is last in the current file; the files hold consecutive lines.
  auto cur = entries(path_), one = entries(path_ + ".1"), two = entries(path_ + ".2");
  ASSERT_FALSE(cur.empty());
  EXPECT_EQ(cur.back()["log"], "line 19\n");
  std::vector<std::string> all;
  for (auto* v : {&two, &one, &cur})
    for (auto& e : *v) all.push_back(e["log"]);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_EQ(std::stoi(all[i].substr(5)), std::stoi(all[i - 1].substr(5)) + 1);
  }
}

TEST_F(LogDir, OneFileMeansRestart) {
  LogFile log;
  ASSERT_TRUE(log.open(path_.c_str(), 200, 1));
  for (int i = 0; i < 10; ++i) {
    std::string msg = "line " + std::to_string(i) + "\n";
    log.write(kStdout, msg.data(), msg.size(), 0);
  }
  EXPECT_FALSE(std::filesystem::exists(path_ + ".1"));
  EXPECT_LE(std::filesystem::file_size(path_), 200u);
  EXPECT_EQ(entries(path_).back()["log"], "line 9\n");
}

TEST_F(LogDir, AnEntryLargerThanTheLimitIsStillWritten) {
  LogFile log;
  ASSERT_TRUE(log.open(path_.c_str(), 10, 2));
  log.write(kStdout, "a long line\n", 12, 0);
  log.write(kStdout, "another\n", 8, 0);
  EXPECT_EQ(entries(path_).size(), 1u);
  EXPECT_EQ(entries(path_ + ".1").size(), 1u);
}

TEST_F(LogDir, AppendErrorLineMatchesTheRuntimeShape) {
  std::string path = dir_ + "/runtime.log";
  appendErrorLine(path.c_str(), "bad \"thing\"\n");
  auto e = entries(path);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0]["level"], "error");
  EXPECT_EQ(e[0]["msg"], "bad \"thing\"\n");
  EXPECT_TRUE(e[0].contains("time"));
}

}  // namespace
}  // namespace berth::monitor
