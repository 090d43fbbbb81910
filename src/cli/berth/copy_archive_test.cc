// cp's archives against temporary directories: packing, unpacking with docker's naming
// rules, and refusing entries that leave the destination.

#include "cli/berth/copy_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::cli {
namespace {

namespace fs = std::filesystem;

class CopyArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cp-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "src/sub");
    write(dir_ / "src/a.txt", "a\n");
    write(dir_ / "src/sub/b.txt", "b\n");
    fs::create_symlink("a.txt", dir_ / "src/link");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const fs::path& p, const std::string& content) { std::ofstream(p) << content; }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // The tar of `src` named `name`, as packPath writes it.
  std::string pack(const std::string& src, const std::string& name) {
    std::string file = (dir_ / "pack.tar").string();
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    auto s = packPath(src, name, false, fd);
    ::close(fd);
    EXPECT_TRUE(s.ok()) << s.error().message();
    std::string tar = read(file);
    fs::remove(file);
    return tar;
  }

  // Hands `tar` out 100 bytes at a time, as a stream would.
  static ChunkSource chunks(std::string tar) {
    auto data = std::make_shared<std::string>(std::move(tar));
    auto pos = std::make_shared<size_t>(0);
    return [data, pos](std::string& out) -> Result<bool> {
      if (*pos >= data->size()) return false;
      out = data->substr(*pos, 100);
      *pos += out.size();
      return true;
    };
  }

  fs::path dir_;
};

TEST_F(CopyArchiveTest, DirectoryIntoAnExistingDirectoryKeepsItsName) {
  std::string tar = pack((dir_ / "src").string(), "src");
  fs::create_directory(dir_ / "out");
  auto s = extractArchive(chunks(tar), "/somewhere/src", (dir_ / "out").string());
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(read(dir_ / "out/src/a.txt"), "a\n");
  EXPECT_EQ(read(dir_ / "out/src/sub/b.txt"), "b\n");
  EXPECT_TRUE(fs::is_symlink(dir_ / "out/src/link"));
  EXPECT_EQ(fs::read_symlink(dir_ / "out/src/link"), "a.txt");
}

TEST_F(CopyArchiveTest, DirectoryToANewPathIsRenamed) {
  std::string tar = pack((dir_ / "src").string(), "src");
  auto s = extractArchive(chunks(tar), "/somewhere/src", (dir_ / "renamed").string());
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(read(dir_ / "renamed/a.txt"), "a\n");
  EXPECT_EQ(read(dir_ / "renamed/sub/b.txt"), "b\n");
}

TEST_F(CopyArchiveTest, ContentsOnly) {
  std::string tar = pack((dir_ / "src").string(), "src");
  auto s = extractArchive(chunks(tar), "/somewhere/src/.", (dir_ / "flat").string());
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(read(dir_ / "flat/a.txt"), "a\n");
  EXPECT_FALSE(fs::exists(dir_ / "flat/src"));
  // packPath with no name puts the contents at the top.
  std::string flat = pack((dir_ / "src/.").string(), "");
  fs::create_directory(dir_ / "out");
  ASSERT_TRUE(extractArchive(chunks(flat), "x", (dir_ / "out").string()).ok());
  EXPECT_EQ(read(dir_ / "out/a.txt"), "a\n");
  EXPECT_EQ(read(dir_ / "out/sub/b.txt"), "b\n");
}

TEST_F(CopyArchiveTest, FileOverAFileAndUnderANewName) {
  std::string tar = pack((dir_ / "src/a.txt").string(), "a.txt");
  write(dir_ / "existing", "old");
  ASSERT_TRUE(extractArchive(chunks(tar), "/a.txt", (dir_ / "existing").string()).ok());
  EXPECT_EQ(read(dir_ / "existing"), "a\n");
  ASSERT_TRUE(extractArchive(chunks(tar), "/a.txt", (dir_ / "new.txt").string()).ok());
  EXPECT_EQ(read(dir_ / "new.txt"), "a\n");
}

TEST_F(CopyArchiveTest, RefusesADirectoryOverAFileAndAMissingDirectory) {
  std::string tar = pack((dir_ / "src").string(), "src");
  write(dir_ / "file", "x");
  auto s = extractArchive(chunks(tar), "/src", (dir_ / "file").string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("cannot copy a directory to a file"), std::string::npos);
  EXPECT_FALSE(extractArchive(chunks(tar), "/src", (dir_ / "nodir/").string()).ok());
}

TEST_F(CopyArchiveTest, RefusesEntriesThatLeaveTheDestination) {
  std::string tar;
  {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    size_t used = 0;
    std::string buf(64 * 1024, '\0');
    archive_write_open_memory(a, buf.data(), buf.size(), &used);
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, "top/../../evil");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 4);
    archive_write_header(a, e);
    archive_write_data(a, "evil", 4);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    tar = buf.substr(0, used);
  }
  fs::create_directory(dir_ / "out");
  auto s = extractArchive(chunks(tar), "/top", (dir_ / "out").string());
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(fs::exists(dir_ / "evil"));
}

TEST_F(CopyArchiveTest, FirstEntryTellsADirectoryFromAFile) {
  EXPECT_TRUE(*firstEntryIsDirectory(chunks(pack((dir_ / "src").string(), "src"))));
  EXPECT_FALSE(*firstEntryIsDirectory(chunks(pack((dir_ / "src/a.txt").string(), "a.txt"))));
  EXPECT_FALSE(firstEntryIsDirectory(chunks("not a tar archive at all")).ok());
}

TEST(CopyPaths, Names) {
  EXPECT_EQ(baseName("/a/b/"), "b");
  EXPECT_EQ(baseName("b"), "b");
  EXPECT_EQ(dirName("/a/b"), "/a");
  EXPECT_EQ(dirName("/b"), "/");
  EXPECT_EQ(dirName("b"), ".");
  EXPECT_TRUE(contentsOnly("/a/."));
  EXPECT_TRUE(contentsOnly("."));
  EXPECT_FALSE(contentsOnly("/a/.b"));
}

}  // namespace
}  // namespace berth::cli
