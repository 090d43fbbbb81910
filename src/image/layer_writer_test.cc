#include "image/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "image/layer.h"
#include "sys/fs.h"

namespace berth::image {
namespace {

bool isRoot() { return ::geteuid() == 0; }

// One entry of a tar, as libarchive reads it back.
struct TarEntry {
  std::string name;
  unsigned type = 0;
  unsigned perm = 0;
  int64_t uid = 0, gid = 0, size = 0, mtime = 0, mtime_ns = 0;
  bool atime_set = false, ctime_set = false;
  std::string uname, gname, data, symlink, hardlink;
  dev_t rdev = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

std::vector<TarEntry> readTar(const std::string& path) {
  std::vector<TarEntry> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 10240), ARCHIVE_OK);
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarEntry t;
    t.name = archive_entry_pathname(e);
    t.type = archive_entry_filetype(e);
    t.perm = archive_entry_perm(e);
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    t.size = archive_entry_size(e);
    t.mtime = archive_entry_mtime(e);
    t.mtime_ns = archive_entry_mtime_nsec(e);
    t.atime_set = archive_entry_atime_is_set(e);
    t.ctime_set = archive_entry_ctime_is_set(e);
    if (const char* s = archive_entry_uname(e)) t.uname = s;
    if (const char* s = archive_entry_gname(e)) t.gname = s;
    if (const char* s = archive_entry_symlink(e)) t.symlink = s;
    if (const char* s = archive_entry_hardlink(e)) t.hardlink = s;
    t.rdev = archive_entry_rdev(e);
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      t.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
    }
    char buf[8192];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) t.data.append(buf, n);
    out.push_back(std::move(t));
  }
  archive_read_free(a);
  return out;
}

std::vector<std::string> namesOf(const std::vector<TarEntry>& entries) {
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  return names;
}

// A tree as text, one line per path below the root: what a round trip must keep.
std::map<std::string, std::string> snapshot(const std::string& root, const std::string& rel = "") {
  std::map<std::string, std::string> out;
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  EXPECT_NE(d, nullptr) << dir;
  if (!d) return out;
  std::vector<std::string> names;
  while (dirent* de = ::readdir(d)) {
    if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, "..")) names.push_back(de->d_name);
  }
  ::closedir(d);
  for (const auto& n : names) {
    std::string path = rel.empty() ? n : rel + "/" + n;
    std::string full = root + "/" + path;
    struct stat st;
    EXPECT_EQ(::lstat(full.c_str(), &st), 0) << full;
    if (S_ISSOCK(st.st_mode)) continue;  // never in a layer
    char line[256];
    std::snprintf(line, sizeof line, "type=%o mode=%04o uid=%u gid=%u mtime=%lld.%09ld",
                  st.st_mode & S_IFMT, st.st_mode & 07777, st.st_uid, st.st_gid,
                  static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec);
    std::string desc = line;
    if (S_ISREG(st.st_mode)) desc += " data=" + sha256Of(*sys::readFile(full)).shortId();
    if (S_ISLNK(st.st_mode)) {
      char target[256] = {};
      EXPECT_GT(::readlink(full.c_str(), target, sizeof target - 1), 0);
      desc += std::string(" target=") + target;
    }
    char list[1024];
    ssize_t len = ::llistxattr(full.c_str(), list, sizeof list);
    std::vector<std::string> xattrs;
    for (ssize_t i = 0; i < len; i += static_cast<ssize_t>(std::strlen(list + i)) + 1) {
      if (std::strncmp(list + i, "user.", 5) != 0) continue;
      char value[256];
      ssize_t vlen = ::lgetxattr(full.c_str(), list + i, value, sizeof value);
      xattrs.push_back(std::string(list + i) + "=" +
                       std::string(value, std::max<ssize_t>(vlen, 0)));
    }
    std::sort(xattrs.begin(), xattrs.end());
    for (const auto& x : xattrs) desc += " " + x;
    out[path] = desc;
    if (S_ISDIR(st.st_mode)) out.merge(snapshot(root, path));
  }
  return out;
}

class LayerWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-layer-writer-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    for (auto d : {"/src", "/out"}) ASSERT_EQ(::mkdir((base_ + d).c_str(), 0755), 0);
    store_ = ContentStore(base_ + "/store");
    ASSERT_TRUE(store_.init().ok());
  }
  void TearDown() override { (void)sys::removeAll(base_); }

  std::string src(const std::string& rel) const { return base_ + "/src/" + rel; }
  void mkdir(const std::string& rel, mode_t mode = 0755) {
    ASSERT_EQ(::mkdir(src(rel).c_str(), 0700), 0) << rel;
    ASSERT_EQ(::chmod(src(rel).c_str(), mode), 0) << rel;  // not narrowed by the umask
  }
  void file(const std::string& rel, const std::string& data, mode_t mode = 0644) {
    ASSERT_TRUE(sys::writeFileAtomic(src(rel), data, 0600).ok()) << rel;
    ASSERT_EQ(::chmod(src(rel).c_str(), mode), 0) << rel;
  }
  void mtime(const std::string& rel, time_t sec, long nsec) {
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    ASSERT_EQ(::utimensat(AT_FDCWD, src(rel).c_str(), ts, AT_SYMLINK_NOFOLLOW), 0) << rel;
  }
  BlobInfo write(SourceKind kind = SourceKind::kPlain) {
    auto r = writeLayer(store_, base_ + "/src", kind);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : BlobInfo{};
  }

  std::string base_;  // src/ the tree, store/ the content store, out/ where it is applied
  ContentStore store_{""};
};

TEST_F(LayerWriterTest, RoundTripKeepsTheTree) {
  mkdir("bin");
  file("bin/sh", "#!/bin/busybox\n", 0755);
  mkdir("etc", 0750);
  file("etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  file("etc/shadow", "root:*:1::::::\n", 0600);
  ASSERT_EQ(::symlink("passwd", src("etc/link").c_str()), 0);
  ASSERT_EQ(::symlink("/nowhere/at/all", src("etc/dangling").c_str()), 0);
  mkdir("usr");
  mkdir("usr/bin");
  file("usr/bin/su", std::string(600 * 1024, 's'), 04755);  // several chunks
  file("usr/bin/wall", "w", 02755);
  mkdir("tmp", 01777);
  mkdir("hl");
  file("hl/a", "shared");
  ASSERT_EQ(::link(src("hl/a").c_str(), src("hl/b").c_str()), 0);
  mkdir("run");
  ASSERT_EQ(::mkfifo(src("run/fifo").c_str(), 0620), 0);
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", src("run/sock").c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(sock);
  mkdir("a");
  mkdir("a/b");
  mkdir("a/b/c");
  file("a/b/c/deep", "");
  ASSERT_EQ(::setxattr(src("etc/passwd").c_str(), "user.berth.file", "v\0x", 3, 0), 0);
  ASSERT_EQ(::setxattr(src("a/b").c_str(), "user.berth.dir", "d", 1, 0), 0);
  if (isRoot()) {
    ASSERT_EQ(::lchown(src("etc/shadow").c_str(), 1234, 5678), 0);
    ASSERT_EQ(::lchown(src("etc/link").c_str(), 42, 43), 0);
    ASSERT_EQ(::chmod(src("etc/shadow").c_str(), 0600), 0);
  }
  long ns = 1;
  for (const auto& [path, desc] : snapshot(base_ + "/src")) mtime(path, 1'600'000'000, ns++ * 7);

  BlobInfo info = write();
  auto stats = applyLayerFile(store_.path(info.digest), base_ + "/out");
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(stats->diff_id, info.digest);
  EXPECT_EQ(stats->tar_size, info.size);
  EXPECT_EQ(snapshot(base_ + "/out"), snapshot(base_ + "/src"));
  struct stat a, b;
  ASSERT_EQ(::lstat((base_ + "/out/hl/a").c_str(), &a), 0);
  ASSERT_EQ(::lstat((base_ + "/out/hl/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_F(LayerWriterTest, EntriesAreSortedAndCarryOnlyReproducibleMetadata) {
  mkdir("b");
  mkdir("a");
  file("a-b", "1");
  file("a/z", "2");
  file("a/y", "3");
  file("a/y2", "4");
  ASSERT_EQ(::link(src("a/z").c_str(), src("a/y2.link").c_str()), 0);
  ASSERT_EQ(::symlink("a/z", src("b/l").c_str()), 0);
  ASSERT_EQ(::setxattr(src("a/y").c_str(), "user.k2", "2", 1, 0), 0);
  ASSERT_EQ(::setxattr(src("a/y").c_str(), "user.k1", "1", 1, 0), 0);
  mtime("a/y", 1'700'000'000, 5);

  auto entries = readTar(store_.path(write().digest));
  // Depth first, siblings bytewise: a directory's subtree stays together.
  EXPECT_EQ(namesOf(entries), (std::vector<std::string>{"a/", "a/y", "a/y2", "a/y2.link", "a/z",
                                                        "a-b", "b/", "b/l"}));
  for (const auto& e : entries) {
    EXPECT_FALSE(e.atime_set) << e.name;
    EXPECT_FALSE(e.ctime_set) << e.name;
    EXPECT_EQ(e.uname, "") << e.name;
    EXPECT_EQ(e.gname, "") << e.name;
  }
  EXPECT_EQ(entries[1].mtime, 1'700'000'000);
  EXPECT_EQ(entries[1].mtime_ns, 5);
  EXPECT_EQ(entries[1].xattrs,
            (std::vector<std::pair<std::string, std::string>>{{"user.k1", "1"}, {"user.k2", "2"}}));
  // The first name of the inode in tar order has the data, later ones link to it.
  EXPECT_EQ(entries[3].hardlink, "");
  EXPECT_EQ(entries[3].data, "2");
  EXPECT_EQ(entries[4].hardlink, "a/y2.link");
  EXPECT_EQ(entries[4].size, 0);
  EXPECT_EQ(entries[7].symlink, "a/z");
}

TEST_F(LayerWriterTest, SameTreeGivesSameDigest) {
  mkdir("d");
  file("d/f", "hello");
  file("g", "world", 0600);
  mtime("d/f", 1'600'000'000, 0);
  BlobInfo first = write();
  BlobInfo second = write();
  EXPECT_EQ(first.digest, second.digest);
  EXPECT_EQ(first.size, second.size);
  auto size = store_.size(first.digest);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, first.size);

  // Same size and mtime, one byte different.
  ASSERT_TRUE(sys::writeFile(src("d/f"), "hellO").ok());
  mtime("d/f", 1'600'000'000, 0);
  EXPECT_FALSE(write().digest == first.digest);
}

TEST_F(LayerWriterTest, EmptyDirectoryGivesAnEmptyLayer) {
  BlobInfo info = write();
  EXPECT_EQ(info.size, 1024u);  // the end marker alone
  EXPECT_EQ(info.digest, sha256Of(std::string(1024, '\0')));
  auto stats = applyLayerFile(store_.path(info.digest), base_ + "/out");
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_EQ(stats->entries, 0u);
  EXPECT_EQ(stats->diff_id, info.digest);
}

TEST_F(LayerWriterTest, WhiteoutNamesInTheSourceAreRefused) {
  mkdir("d");
  file("d/.wh.x", "");
  auto r = writeLayer(store_, base_ + "/src", SourceKind::kPlain);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "write layer '" + base_ +
                                     "/src': entry 'd/.wh.x': names starting with '.wh.' are "
                                     "reserved for whiteouts");
}

TEST_F(LayerWriterTest, MissingDirectoryIsNotFound) {
  auto r = writeLayer(store_, base_ + "/none", SourceKind::kPlain);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message(),
            "write layer '" + base_ + "/none': open: no such file or directory");
}

TEST_F(LayerWriterTest, StoreErrorsGetTheLayerAsContext) {
  file("f", "data");
  ContentStore missing(base_ + "/no-store");
  auto r = writeLayer(missing, base_ + "/src", SourceKind::kPlain);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message().rfind("write layer '" + base_ + "/src': store blob: create", 0), 0u)
      << r.error().message();
}

class OverlayUpperTest : public LayerWriterTest {
 protected:
  // An upper directory as overlayfs leaves it: "gone" and "w2" deleted (whiteouts sharing an
  // inode, as the kernel makes them), "d" replaced by a new directory holding "new".
  void SetUp() override {
    LayerWriterTest::SetUp();
    if (!isRoot()) GTEST_SKIP() << "needs root: 0/0 character devices and trusted.* xattrs";
    ASSERT_EQ(::mknod(src("gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
    ASSERT_EQ(::link(src("gone").c_str(), src("w2").c_str()), 0);
    mkdir("d");
    file("d/new", "new");
    ASSERT_EQ(::setxattr(src("d").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    ASSERT_EQ(::setxattr(src("d").c_str(), "trusted.overlay.origin", "o", 1, 0), 0);
  }
};

TEST_F(OverlayUpperTest, DeletionsBecomeWhiteouts) {
  BlobInfo info = write(SourceKind::kOverlayUpper);
  auto entries = readTar(store_.path(info.digest));
  ASSERT_EQ(namesOf(entries),
            (std::vector<std::string>{".wh.gone", ".wh.w2", "d/", "d/.wh..wh..opq", "d/new"}));
  for (int i : {0, 1, 3}) {
    EXPECT_EQ(entries[i].type, AE_IFREG) << entries[i].name;
    EXPECT_EQ(entries[i].size, 0) << entries[i].name;
    EXPECT_EQ(entries[i].hardlink, "") << entries[i].name;
  }
  EXPECT_EQ(entries[0].perm, 0600u);
  EXPECT_TRUE(entries[2].xattrs.empty());  // trusted.* is overlayfs' own

  std::string lower = base_ + "/out";
  ASSERT_TRUE(sys::writeFileAtomic(lower + "/gone", "old").ok());
  ASSERT_TRUE(sys::writeFileAtomic(lower + "/kept", "old").ok());
  ASSERT_TRUE(sys::mkdirAll(lower + "/d").ok());
  ASSERT_TRUE(sys::writeFileAtomic(lower + "/d/old", "old").ok());
  auto stats = applyLayerFile(store_.path(info.digest), lower, Whiteouts::kApply);
  ASSERT_TRUE(stats.ok()) << stats.error().message();
  EXPECT_FALSE(sys::exists(lower + "/gone"));
  EXPECT_FALSE(sys::exists(lower + "/d/old"));
  EXPECT_TRUE(sys::exists(lower + "/kept"));
  EXPECT_EQ(*sys::readFile(lower + "/d/new"), "new");
}

TEST_F(OverlayUpperTest, PlainSourcesKeepDevicesAsTheyAre) {
  auto entries = readTar(store_.path(write(SourceKind::kPlain).digest));
  ASSERT_EQ(namesOf(entries), (std::vector<std::string>{"d/", "d/new", "gone", "w2"}));
  EXPECT_EQ(entries[2].type, AE_IFCHR);
  EXPECT_EQ(entries[2].rdev, makedev(0, 0));
  EXPECT_EQ(entries[3].hardlink, "gone");
}

TEST_F(OverlayUpperTest, MetacopyFilesAreRefused) {
  ASSERT_EQ(::setxattr(src("d/new").c_str(), "trusted.overlay.metacopy", "", 0, 0), 0);
  auto r = writeLayer(store_, base_ + "/src", SourceKind::kOverlayUpper);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(r.error().message().find("entry 'd/new': overlay trusted.overlay.metacopy is set"),
            std::string::npos)
      << r.error().message();
}

}  // namespace
}  // namespace berth::image
