#include "image/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "sys/fs.h"

namespace berth::image {
namespace {

// ---------------------------------------------------------------------------------------------
// Building layers in memory with libarchive's writer.

struct Entry {
  std::string name;
  unsigned type = AE_IFREG;
  std::string data;      // regular files
  std::string target;    // symlinks
  std::string hardlink;  // hard links
  unsigned perm = 0644;
  int64_t mtime = 1'600'000'000;
  long mtime_ns = 0;
  int64_t uid = 0;
  int64_t gid = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
  std::vector<std::pair<int64_t, int64_t>> sparse;  // (offset, length) of the data regions
};

Entry file(std::string name, std::string data = "", unsigned perm = 0644) {
  Entry e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.perm = perm;
  return e;
}

Entry dir(std::string name, unsigned perm = 0755) {
  Entry e;
  e.name = std::move(name);
  e.type = AE_IFDIR;
  e.perm = perm;
  return e;
}

Entry symlink(std::string name, std::string target) {
  Entry e;
  e.name = std::move(name);
  e.type = AE_IFLNK;
  e.target = std::move(target);
  e.perm = 0777;
  return e;
}

Entry hardlink(std::string name, std::string target) {
  Entry e;
  e.name = std::move(name);
  e.hardlink = std::move(target);
  return e;
}

Entry node(std::string name, unsigned type, unsigned perm = 0644) {
  Entry e;
  e.name = std::move(name);
  e.type = type;
  e.perm = perm;
  return e;
}

la_ssize_t appendTo(archive*, void* out, const void* buf, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), size);
  return static_cast<la_ssize_t>(size);
}

// A pax tar with the default 10 KiB blocking, so the stream ends in padding after the end
// marker (which diff_id must cover).
std::string tarOf(const std::vector<Entry>& entries) {
  std::string out;
  archive* a = archive_write_new();
  EXPECT_EQ(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
  EXPECT_EQ(archive_write_open(a, &out, nullptr, appendTo, nullptr), ARCHIVE_OK);
  for (const auto& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.name.c_str());
    archive_entry_set_filetype(ae, e.type);
    archive_entry_set_perm(ae, e.perm);
    archive_entry_set_mtime(ae, e.mtime, e.mtime_ns);
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    if (!e.target.empty()) archive_entry_set_symlink(ae, e.target.c_str());
    if (!e.hardlink.empty()) archive_entry_set_hardlink(ae, e.hardlink.c_str());
    if (e.type == AE_IFCHR || e.type == AE_IFBLK) archive_entry_set_rdev(ae, makedev(1, 3));
    if (e.type == AE_IFREG) archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
    for (const auto& [off, len] : e.sparse) archive_entry_sparse_add_entry(ae, off, len);
    for (const auto& [k, v] : e.xattrs)
      archive_entry_xattr_add_entry(ae, k.c_str(), v.data(), v.size());
    EXPECT_EQ(archive_write_header(a, ae), ARCHIVE_OK) << e.name << ": " << archive_error_string(a);
    if (!e.data.empty()) {
      EXPECT_EQ(archive_write_data(a, e.data.data(), e.data.size()),
                static_cast<la_ssize_t>(e.data.size()));
    }
    archive_entry_free(ae);
  }
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

// Compresses `raw` byte for byte (format "raw"), so its decompressed form is exactly `raw`.
std::string compress(const std::string& raw, const std::string& filter) {
  if (filter == "none") return raw;
  std::string out;
  archive* a = archive_write_new();
  EXPECT_EQ(archive_write_set_format_raw(a), ARCHIVE_OK);
  EXPECT_EQ(archive_write_add_filter_by_name(a, filter.c_str()), ARCHIVE_OK)
      << archive_error_string(a);
  EXPECT_EQ(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
  EXPECT_EQ(archive_write_open(a, &out, nullptr, appendTo, nullptr), ARCHIVE_OK);
  archive_entry* ae = archive_entry_new();
  archive_entry_set_pathname(ae, "layer.tar");
  archive_entry_set_filetype(ae, AE_IFREG);
  archive_entry_set_size(ae, static_cast<la_int64_t>(raw.size()));
  EXPECT_EQ(archive_write_header(a, ae), ARCHIVE_OK);
  EXPECT_EQ(archive_write_data(a, raw.data(), raw.size()), static_cast<la_ssize_t>(raw.size()));
  archive_entry_free(ae);
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

// Hands out `bytes` in odd-sized chunks, as a network stream would.
Result<LayerStats> applyBytes(const std::string& bytes, const std::string& dir,
                              size_t chunk = 1777) {
  size_t pos = 0;
  Reader read = [&](char* buf, size_t size) -> Result<size_t> {
    size_t n = std::min({size, chunk, bytes.size() - pos});
    std::memcpy(buf, bytes.data() + pos, n);
    pos += n;
    return n;
  };
  return applyLayer(read, dir);
}

// Incompressible bytes, so a compressed stream is as long as the tar.
std::string noise(size_t size) {
  std::string s(size, '\0');
  uint64_t x = 88172645463325252ull;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return s;
}

std::string pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 7919) >> 3);
  return s;
}

class LayerTest : public ::testing::Test {
 protected:
  // root_ sits in a sentinel directory outer_, so anything written outside root_ shows.
  void SetUp() override {
    char tmpl[] = "/tmp/berth-layer-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    outer_ = tmpl;
    root_ = outer_ + "/root";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
  }
  void TearDown() override { (void)sys::removeAll(outer_); }

  std::string at(const std::string& rel) const { return root_ + "/" + rel; }
  struct stat lst(const std::string& rel) const {
    struct stat st = {};
    EXPECT_EQ(::lstat(at(rel).c_str(), &st), 0) << rel;
    return st;
  }
  std::string contents(const std::string& rel) const {
    auto r = sys::readFile(at(rel));
    EXPECT_TRUE(r.ok()) << rel;
    return r.ok() ? *r : "";
  }
  void applyOk(const std::vector<Entry>& entries) {
    auto r = applyBytes(tarOf(entries), root_);
    ASSERT_TRUE(r.ok()) << r.error().message();
  }
  std::string applyFails(const std::string& bytes) {
    auto r = applyBytes(bytes, root_);
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.error().message();
  }

  std::string outer_;
  std::string root_;
};

// ---------------------------------------------------------------------------------------------
// What lands, and the stream's digest.

class LayerContents : public LayerTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(LayerContents, EntriesLandAsWrittenAndDiffIdHashesTheTar) {
  Entry etc = dir("etc/", 0750);
  etc.mtime = 1'500'000'000;
  etc.mtime_ns = 123'456'789;  // kept: the xattr makes pax_restricted write a pax header
  etc.xattrs = {{"user.berth.dir", "d"}};
  Entry tool = file("./bin/tool", pattern(300 * 1024), 04755);  // no "bin/" entry: implied
  tool.uid = 1000;
  tool.gid = 1001;
  tool.mtime = 1'400'000'000;
  Entry labelled = file("etc/labelled", "x");
  labelled.xattrs = {{"user.berth.test", std::string("v\0al", 4)}};
  std::string raw = tarOf({
      etc,
      file("etc/hosts", "127.0.0.1 localhost\n"),
      tool,
      symlink("bin/sh", "/bin/busybox"),
      hardlink("bin/tool-again", "bin/tool"),
      labelled,
      node("run/fifo", AE_IFIFO, 0620),
      file("empty", "", 0600),
  });

  auto r = applyBytes(compress(raw, GetParam()), root_);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->entries, 8u);
  EXPECT_EQ(r->tar_size, raw.size());
  EXPECT_EQ(r->diff_id, sha256Of(raw));

  struct stat st = lst("etc");
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  // Entries written into etc/ after its own entry do not disturb its mtime.
  EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123'456'789);
  char value[16] = {};
  ASSERT_EQ(::lgetxattr(at("etc").c_str(), "user.berth.dir", value, sizeof value), 1);
  EXPECT_EQ(value[0], 'd');

  EXPECT_EQ(contents("etc/hosts"), "127.0.0.1 localhost\n");
  EXPECT_EQ(lst("etc/hosts").st_mode & 07777, 0644u);
  EXPECT_EQ(lst("etc/hosts").st_mtim.tv_sec, 1'600'000'000);

  EXPECT_EQ(contents("bin/tool"), tool.data);
  st = lst("bin/tool");
  EXPECT_EQ(st.st_mode & 07777, 04755u);  // the setuid bit survives the chown
  EXPECT_EQ(st.st_mtim.tv_sec, 1'400'000'000);
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1001u);
  }
  EXPECT_EQ(lst("bin").st_mode & 07777, 0755u);

  char link[256] = {};
  ASSERT_GT(::readlink(at("bin/sh").c_str(), link, sizeof link - 1), 0);
  EXPECT_STREQ(link, "/bin/busybox");
  EXPECT_EQ(lst("bin/tool-again").st_ino, st.st_ino);

  ASSERT_EQ(::lgetxattr(at("etc/labelled").c_str(), "user.berth.test", value, sizeof value), 4);
  EXPECT_EQ(std::string(value, 4), std::string("v\0al", 4));

  EXPECT_TRUE(S_ISFIFO(lst("run/fifo").st_mode));
  EXPECT_EQ(lst("run/fifo").st_mode & 07777, 0620u);
  EXPECT_EQ(lst("empty").st_size, 0);
}

INSTANTIATE_TEST_SUITE_P(Compression, LayerContents, ::testing::Values("none", "gzip", "zstd"),
                         [](const auto& info) { return info.param; });

TEST_F(LayerTest, SparseFilesKeepTheirHoles) {
  Entry sparse = file("sparse", std::string(4 << 20, '\0'));
  std::fill_n(sparse.data.begin(), 4096, 'A');
  std::fill_n(sparse.data.begin() + (1 << 20), 4096, 'B');
  sparse.sparse = {{0, 4096}, {1 << 20, 4096}};  // and a hole to the end
  std::string raw = tarOf({sparse});
  ASSERT_LT(raw.size(), 64u * 1024);  // the writer did leave the holes out
  applyOk({sparse});
  EXPECT_EQ(contents("sparse"), sparse.data);
  EXPECT_LT(lst("sparse").st_blocks * 512, 1 << 20);
}

TEST_F(LayerTest, RootEntriesAreSkipped) {
  ASSERT_EQ(::chmod(root_.c_str(), 0711), 0);
  auto r = applyBytes(tarOf({dir("./", 0700), dir(".", 0700), file("a", "1")}), root_);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->entries, 3u);
  struct stat st;
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);  // the caller's directory, not the layer's
}

TEST_F(LayerTest, ApplyLayerFileReadsTheFile) {
  std::string raw = tarOf({file("hello", "world")});
  std::string path = outer_ + "/layer.tar.gz";
  ASSERT_TRUE(sys::writeFileAtomic(path, compress(raw, "gzip")).ok());
  auto r = applyLayerFile(path, root_);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->diff_id, sha256Of(raw));
  EXPECT_EQ(contents("hello"), "world");

  auto missing = applyLayerFile(outer_ + "/nope.tar", root_);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find("nope.tar"), std::string::npos);
}

// A tar's first bytes are its first entry's name, so a plain tar may start like a compressed
// stream; and the magic number may come in more than one read.
TEST_F(LayerTest, CompressionIsToldFromThePlainTarItMayLookLike) {
  std::string bz = tarOf({file("BZh91AY", "plain")});
  // gzip's magic is not UTF-8, which the writer refuses in a name: patch it in.
  std::string gz = tarOf({file("..not-gzip", "plain")});
  gz.replace(0, 2, "\x1f\x8b");
  unsigned sum = 0;
  for (size_t i = 0; i < 512; ++i) {
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(gz[i]);
  }
  std::snprintf(&gz[148], 8, "%06o", sum);
  gz[155] = ' ';
  for (const auto& [raw, name] : {std::pair{bz, "BZh91AY"}, std::pair{gz, "\x1f\x8bnot-gzip"}}) {
    auto r = applyBytes(raw, root_);
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->diff_id, sha256Of(raw));
    EXPECT_EQ(contents(name), "plain");
  }
  std::string raw = tarOf({file("gz", "squeezed")});
  auto r = applyBytes(compress(raw, "gzip"), root_, 1);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->diff_id, sha256Of(raw));
  EXPECT_EQ(contents("gz"), "squeezed");
}

// ---------------------------------------------------------------------------------------------
// Whiteouts.

TEST_F(LayerTest, WhiteoutsRemoveLowerFilesAndDirectories) {
  applyOk({dir("a/"), file("a/keep", "k"), file("a/gone", "g"), file("d/sub/deep", "x"),
           file("d/top", "y")});
  applyOk({file("a/.wh.gone"), file(".wh.d"), file("a/.wh.never-there")});
  EXPECT_EQ(contents("a/keep"), "k");
  EXPECT_FALSE(sys::exists(at("a/gone")));
  EXPECT_FALSE(sys::exists(at("d")));
  EXPECT_FALSE(sys::exists(at("a/.wh.gone")));
  EXPECT_FALSE(sys::exists(at(".wh.d")));
}

TEST_F(LayerTest, WhiteoutDoesNotHideItsOwnLayer) {
  applyOk({dir("w/"), file("w/lower", "l")});
  applyOk({file("x", "new"), file(".wh.x"), dir("w/"), file("w/upper", "u"), file(".wh.w")});
  EXPECT_EQ(contents("x"), "new");
  // w/ is this layer's, merged over the lower one: what was below goes, whatever the order.
  EXPECT_EQ(contents("w/upper"), "u");
  EXPECT_FALSE(sys::exists(at("w/lower")));
}

class OpaqueOrder : public LayerTest, public ::testing::WithParamInterface<bool> {};

TEST_P(OpaqueOrder, HidesLowerEntriesAndKeepsItsOwn) {
  applyOk({dir("o/"), file("o/old"), file("o/sub/deep"), file("o/mid/lower"), file("other")});
  std::vector<Entry> upper = {dir("o/"), file("o/new", "n"), dir("o/mid/"),
                              file("o/mid/upper", "u"), file("o/implied/leaf", "l")};
  Entry marker = file("o/.wh..wh..opq");
  bool marker_first = GetParam();
  upper.insert(marker_first ? upper.begin() : upper.end(), marker);
  applyOk(upper);

  EXPECT_EQ(contents("o/new"), "n");
  EXPECT_EQ(contents("o/mid/upper"), "u");
  EXPECT_EQ(contents("o/implied/leaf"), "l");
  EXPECT_FALSE(sys::exists(at("o/old")));
  EXPECT_FALSE(sys::exists(at("o/sub")));
  EXPECT_FALSE(sys::exists(at("o/mid/lower")));
  EXPECT_FALSE(sys::exists(at("o/.wh..wh..opq")));
  EXPECT_TRUE(sys::exists(at("other")));
}

TEST_P(OpaqueOrder, DoesNotFollowALowerSymlink) {
  applyOk({dir("real/"), file("real/keep", "k"), symlink("o", "real")});
  std::vector<Entry> upper = {dir("o/"), file("o/new", "n")};
  upper.insert(GetParam() ? upper.begin() : upper.end(), file("o/.wh..wh..opq"));
  applyOk(upper);
  EXPECT_TRUE(S_ISDIR(lst("o").st_mode));
  EXPECT_EQ(contents("o/new"), "n");
  EXPECT_EQ(contents("real/keep"), "k");
}

INSTANTIATE_TEST_SUITE_P(Marker, OpaqueOrder, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "First" : "Last"; });

// ---------------------------------------------------------------------------------------------
// Refusals: nothing may land outside root_.

TEST_F(LayerTest, DotDotNamesAreRefused) {
  EXPECT_EQ(applyFails(tarOf({file("ok", "1"), file("../escape", "x")})),
            "apply layer: entry '../escape': path leaves the layer");
  EXPECT_EQ(applyFails(tarOf({file("a/../../escape2", "x")})),
            "apply layer: entry 'a/../../escape2': path leaves the layer");
  EXPECT_FALSE(sys::exists(outer_ + "/escape"));
  EXPECT_FALSE(sys::exists(outer_ + "/escape2"));
}

TEST_F(LayerTest, AbsoluteNamesAreRefused) {
  std::string msg = applyFails(tarOf({file("/abs/escape", "x")}));
  EXPECT_NE(msg.find("entry '/abs/escape': absolute path"), std::string::npos) << msg;
  EXPECT_FALSE(sys::exists("/abs/escape"));
}

TEST_F(LayerTest, SymlinkedParentsResolveInsideTheRoot) {
  std::string name = "berth-escape-" + outer_.substr(outer_.rfind('/') + 1);
  ASSERT_EQ(::symlink("/", at("slash").c_str()), 0);
  ASSERT_EQ(::symlink("../../", at("up").c_str()), 0);
  // An earlier entry of the same layer may plant the link, too.
  applyOk({symlink("planted", "/"), file("slash/" + name, "1"), file("up/up-" + name, "2"),
           file("planted/planted-" + name, "3")});
  EXPECT_FALSE(sys::exists("/" + name));
  EXPECT_FALSE(sys::exists("/planted-" + name));
  EXPECT_FALSE(sys::exists(outer_ + "/up-" + name));
  EXPECT_EQ(contents(name), "1");
  EXPECT_EQ(contents("up-" + name), "2");
  EXPECT_EQ(contents("planted-" + name), "3");
}

TEST_F(LayerTest, SymlinkToAHostPathDoesNotReachIt) {
  ASSERT_EQ(::symlink(outer_.c_str(), at("host").c_str()), 0);
  // The link resolves to root_ + outer_, which does not exist: nothing to write into.
  std::string msg = applyFails(tarOf({file("host/x", "x")}));
  EXPECT_NE(msg.find("entry 'host/x'"), std::string::npos) << msg;
  EXPECT_FALSE(sys::exists(outer_ + "/x"));
}

TEST_F(LayerTest, HardLinksMustStayInside) {
  EXPECT_EQ(applyFails(tarOf({hardlink("passwd", "../../etc/passwd")})),
            "apply layer: entry 'passwd': hard link to '../../etc/passwd': path leaves the layer");
  std::string msg = applyFails(tarOf({hardlink("passwd", "/etc/passwd")}));
  EXPECT_NE(msg.find("entry 'passwd': hard link to '/etc/passwd': absolute path"),
            std::string::npos)
      << msg;

  // Through a symlink already in the tree the target resolves inside root_, where it is not.
  ASSERT_TRUE(sys::writeFileAtomic(outer_ + "/secret", "s").ok());
  ASSERT_EQ(::symlink(outer_.c_str(), at("host").c_str()), 0);
  msg = applyFails(tarOf({hardlink("stolen", "host/secret")}));
  EXPECT_NE(msg.find("entry 'stolen': hard link to 'host/secret'"), std::string::npos) << msg;
  EXPECT_FALSE(sys::exists(at("stolen")));
}

TEST_F(LayerTest, DeviceNodesAreRefused) {
  EXPECT_EQ(applyFails(tarOf({node("dev/null", AE_IFCHR)})),
            "apply layer: entry 'dev/null': device nodes are not allowed in layers");
  EXPECT_EQ(applyFails(tarOf({node("dev/sda", AE_IFBLK)})),
            "apply layer: entry 'dev/sda': device nodes are not allowed in layers");
  EXPECT_FALSE(sys::exists(at("dev/null")));
}

TEST_F(LayerTest, TruncatedStreamsFail) {
  // Past the first 1 MiB read: the cut shows mid-entry, not while opening the stream.
  std::string raw = tarOf({file("big", noise(3 << 20))});
  std::string gz = compress(raw, "gzip");
  ASSERT_GT(gz.size(), 2u << 20);
  EXPECT_EQ(applyFails(gz.substr(0, gz.size() / 2)),
            "apply layer: entry 'big': read contents: truncated gzip input");
  // Cut inside the trailer, after all of the tar's bytes: the stream is still incomplete.
  std::string msg = applyFails(gz.substr(0, gz.size() - 4));
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  msg = applyFails(raw.substr(0, 200 * 1024));
  EXPECT_NE(msg.find("apply layer: entry 'big': read contents: truncated tar archive"),
            std::string::npos)
      << msg;
}

TEST_F(LayerTest, GarbageIsNotATar) {
  std::string garbage;
  while (garbage.size() < 4096) garbage += "this is not a tar archive, just text. ";
  EXPECT_EQ(applyFails(garbage), "apply layer: open tar stream: unrecognized archive format");
  EXPECT_EQ(applyFails(compress(garbage, "gzip")),
            "apply layer: open tar stream: unrecognized archive format");
  EXPECT_EQ(applyFails(""), "apply layer: open layer stream: empty stream");
}

TEST_F(LayerTest, ReaderErrorsKeepTheirCode) {
  Reader broken = [](char*, size_t) -> Result<size_t> {
    return Error(ErrorCode::kUnavailable, "read blob: connection reset");
  };
  auto r = applyLayer(broken, root_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("read blob: connection reset"), std::string::npos)
      << r.error().message();
}

// ---------------------------------------------------------------------------------------------
// Replacement.

TEST_F(LayerTest, FileReplacedByDirectory) {
  applyOk({file("f", "x")});
  applyOk({dir("f/"), file("f/inner", "i")});
  EXPECT_TRUE(S_ISDIR(lst("f").st_mode));
  EXPECT_EQ(contents("f/inner"), "i");
}

TEST_F(LayerTest, DirectoryReplacedByFile) {
  applyOk({dir("d/"), file("d/x/y", "deep")});
  applyOk({file("d", "now a file")});
  EXPECT_TRUE(S_ISREG(lst("d").st_mode));
  EXPECT_EQ(contents("d"), "now a file");
}

TEST_F(LayerTest, DirectoryOverDirectoryMerges) {
  applyOk({dir("m/", 0755), file("m/lower", "l")});
  applyOk({dir("m/", 0700), file("m/upper", "u")});
  EXPECT_EQ(lst("m").st_mode & 07777, 0700u);
  EXPECT_EQ(contents("m/lower"), "l");
  EXPECT_EQ(contents("m/upper"), "u");
}

TEST_F(LayerTest, SymlinkIsReplacedNotWrittenThrough) {
  std::string sentinel = outer_ + "/sentinel";
  ASSERT_TRUE(sys::writeFileAtomic(sentinel, "original").ok());
  ASSERT_EQ(::symlink(sentinel.c_str(), at("abs").c_str()), 0);
  ASSERT_EQ(::symlink("../sentinel", at("rel").c_str()), 0);
  ASSERT_EQ(::symlink(outer_.c_str(), at("dirlink").c_str()), 0);
  applyOk({file("abs", "new"), file("rel", "new too"), dir("dirlink/"), file("dirlink/f", "f")});
  EXPECT_TRUE(S_ISREG(lst("abs").st_mode));
  EXPECT_EQ(contents("abs"), "new");
  EXPECT_EQ(contents("rel"), "new too");
  EXPECT_TRUE(S_ISDIR(lst("dirlink").st_mode));
  EXPECT_EQ(contents("dirlink/f"), "f");
  EXPECT_EQ(*sys::readFile(sentinel), "original");
  EXPECT_FALSE(sys::exists(outer_ + "/f"));
}

TEST_F(LayerTest, LaterEntriesReplaceEarlierOnesOfTheSameLayer) {
  applyOk(
      {file("x", "first"), symlink("x", "/etc/passwd"), file("x", "third"), hardlink("y", "x")});
  EXPECT_EQ(contents("x"), "third");
  EXPECT_EQ(lst("y").st_ino, lst("x").st_ino);
}

// Each entry's parent is looked up in the tree as the entries before it left it, even when
// one of them replaced a directory that earlier entries were written into.
TEST_F(LayerTest, EntriesFollowAParentReplacedEarlierInTheLayer) {
  applyOk({dir("e/"), file("d/a", "1"), symlink("d", "e"), file("d/b", "2"), file("e/c", "3"),
           dir("d2/"), file("d2/x", "4"), file("d2", "not a directory any more")});
  EXPECT_TRUE(S_ISLNK(lst("d").st_mode));
  EXPECT_EQ(contents("e/b"), "2");
  EXPECT_EQ(contents("e/c"), "3");
  EXPECT_EQ(contents("d2"), "not a directory any more");
  EXPECT_NE(applyFails(tarOf({file("f/a", "1"), file("f", "x"), file("f/b", "2")})), "");
  EXPECT_EQ(contents("f"), "x");
}

}  // namespace
}  // namespace berth::image
