// The configuration store as a user drives it (issue 7, "Configuration"): `berth kv` put,
// get, ls, rm and watch against berthd, compare-and-swap, values encrypted by the CLI,
// durability across `kill -9` of berthd, bad input, and the same verbs on an etcd cluster
// where etcdctl sees the keys.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/base64.h"
#include "common/strings.h"
#include "e2e/daemon.h"
#include "store/test_etcd.h"

namespace berth::test {
namespace {

int64_t revisionOf(const CmdResult& put) {
  EXPECT_EQ(put.code, 0) << put.err;
  return parseInt(trim(put.out)).value_or(-1);
}

std::string base64Of(const nlohmann::json& value) {
  return base64Decode(value.get<std::string>()).value();
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// `berth kv watch ARGS…` in the background with its stdout in a file, interrupted with
// SIGINT (Ctrl-C) and reaped on destruction.
class Watcher {
 public:
  Watcher(const Daemon& d, const std::vector<std::string>& args, std::string out)
      : out_(std::move(out)) {
    std::vector<std::string> argv = {BERTH_CLI, "-H", "unix://" + d.socket(), "kv", "watch"};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::signal(SIGINT, SIG_DFL);  // a shell may have left it ignored
      std::vector<char*> raw;
      for (auto& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      ::execv(BERTH_CLI, raw.data());
      _exit(127);
    }
  }
  ~Watcher() {
    ::kill(pid_, SIGINT);
    ::waitpid(pid_, nullptr, 0);
  }
  // The complete lines written so far.
  std::vector<std::string> lines() const {
    std::string text = readFile(out_);
    auto all = split(text.substr(0, text.rfind('\n') + 1), '\n');
    if (!all.empty() && all.back().empty()) all.pop_back();
    return all;
  }
  bool running() const { return ::waitpid(pid_, nullptr, WNOHANG) == 0; }

 private:
  std::string out_;
  pid_t pid_ = -1;
};

class Kv : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (HasFatalFailure()) return;
    d_ = std::make_unique<Daemon>(DaemonFlags{});
  }
  void TearDown() override { d_.reset(); }

  CmdResult kv(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), "kv");
    return d_->berth(args, 30, input);
  }
  // A key file with 64 hex digits.
  std::string keyFile(const std::string& name, char digit) {
    std::string path = d_->path(name);
    std::ofstream(path) << std::string(64, digit) << "\n";
    return path;
  }

  std::unique_ptr<Daemon> d_;
};

TEST_F(Kv, PutGetListRemove) {
  int64_t r1 = revisionOf(kv({"put", "app/db/url", "postgres://db:5432/app"}));
  int64_t r2 = revisionOf(kv({"put", "app/db/user", "-"}, "alice"));
  EXPECT_GT(r2, r1);
  revisionOf(kv({"put", "other/x", "1"}));

  auto get = kv({"get", "app/db/url"});
  EXPECT_EQ(get.code, 0) << get.err;
  EXPECT_EQ(get.out, "postgres://db:5432/app\n");
  EXPECT_EQ(kv({"get", "app/db/user"}).out, "alice\n");

  auto ls = kv({"ls", "app/"});
  EXPECT_EQ(ls.code, 0) << ls.err;
  auto rows = split(trim(ls.out), '\n');
  ASSERT_EQ(rows.size(), 3u) << ls.out;
  EXPECT_TRUE(rows[0].starts_with("KEY")) << ls.out;
  EXPECT_NE(rows[1].find("app/db/url"), std::string::npos);
  EXPECT_NE(rows[1].find(std::to_string(r1)), std::string::npos);
  EXPECT_NE(rows[1].find("postgres://db:5432/app"), std::string::npos);
  EXPECT_NE(rows[2].find("app/db/user"), std::string::npos);

  auto json_ls = kv({"ls", "--format", "json"});
  auto objects = split(trim(json_ls.out), '\n');
  ASSERT_EQ(objects.size(), 3u) << json_ls.out;
  auto first = nlohmann::json::parse(objects[0]);
  EXPECT_EQ(first["key"], "app/db/url");
  EXPECT_EQ(first["mod_revision"], r1);

  auto rm = kv({"rm", "app/db/url"});
  EXPECT_EQ(rm.code, 0) << rm.err;
  auto gone = kv({"get", "app/db/url"});
  EXPECT_EQ(gone.code, 1);
  EXPECT_EQ(gone.out, "");
  EXPECT_NE(gone.err.find("no such kv key: 'app/db/url'"), std::string::npos) << gone.err;
  auto again = kv({"rm", "app/db/url"});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("no such kv key: 'app/db/url'"), std::string::npos) << again.err;
  EXPECT_EQ(split(trim(kv({"ls", "app/"}).out), '\n').size(), 2u);

  // The value as it was, from the history.
  auto old = kv({"get", "app/db/url", "--revision", std::to_string(r1)});
  EXPECT_EQ(old.out, "postgres://db:5432/app\n") << old.err;
}

TEST_F(Kv, CompareAndSwapWinsOnceAndNamesTheCurrentRevision) {
  int64_t r1 = revisionOf(kv({"put", "leader", "a"}));
  int64_t r2 = revisionOf(kv({"put", "leader", "b", "--if-revision", std::to_string(r1)}));
  EXPECT_GT(r2, r1);
  auto stale = kv({"put", "leader", "c", "--if-revision", std::to_string(r1)});
  EXPECT_EQ(stale.code, 1);
  EXPECT_NE(stale.err.find("if at revision " + std::to_string(r1) + ": its revision is " +
                           std::to_string(r2)),
            std::string::npos)
      << stale.err;
  EXPECT_EQ(kv({"get", "leader"}).out, "b\n");

  // 0: only if absent.
  EXPECT_EQ(kv({"put", "lock", "me", "--if-revision", "0"}).code, 0);
  auto taken = kv({"put", "lock", "you", "--if-revision", "0"});
  EXPECT_EQ(taken.code, 1);
  EXPECT_NE(taken.err.find("its revision is"), std::string::npos) << taken.err;
  EXPECT_EQ(kv({"get", "lock"}).out, "me\n");

  auto stale_rm = kv({"rm", "leader", "--if-revision", std::to_string(r1)});
  EXPECT_EQ(stale_rm.code, 1);
  EXPECT_NE(stale_rm.err.find("its revision is " + std::to_string(r2)), std::string::npos);
  EXPECT_EQ(kv({"rm", "leader", "--if-revision", std::to_string(r2)}).code, 0);
  EXPECT_EQ(kv({"get", "leader"}).code, 1);

  auto api = d_->curl("PUT", "/v1/kv?key=lock&if_revision=1", R"({"value":"eA=="})");
  EXPECT_EQ(api.code, 409) << api.out;
}

TEST_F(Kv, WatchSeesEveryChangeInOrder) {
  int64_t r0 = revisionOf(kv({"put", "app/a", "v0"}));
  // From r0: the watch starts in the history, then follows the changes as they come.
  Watcher w(*d_, {"app/", "--from-revision", std::to_string(r0)}, d_->path("watch.out"));
  std::vector<std::string> want = {std::to_string(r0) + " put app/a v0"};
  for (int i = 1; i <= 20; ++i) {
    std::string key = i % 2 ? "app/a" : "app/b";
    int64_t r = revisionOf(kv({"put", key, "v" + std::to_string(i)}));
    want.push_back(std::to_string(r) + " put " + key + " v" + std::to_string(i));
    revisionOf(kv({"put", "elsewhere/x", std::to_string(i)}));  // not under the prefix
  }
  auto rm = kv({"rm", "app/b"});
  ASSERT_EQ(rm.code, 0) << rm.err;
  int64_t last = revisionOf(kv({"put", "app/z", "end"}));
  want.push_back(std::to_string(last - 1) + " delete app/b");
  want.push_back(std::to_string(last) + " put app/z end");

  EXPECT_TRUE(eventually([&] { return w.lines().size() >= want.size(); }, 20))
      << readFile(d_->path("watch.out"));
  EXPECT_EQ(w.lines(), want);
  EXPECT_TRUE(w.running());
}

TEST_F(Kv, EncryptedValuesNeedTheKey) {
  std::string key = keyFile("kv.key", 'a');
  std::string wrong = keyFile("wrong.key", 'b');
  auto put = kv({"put", "app/password", "hunter2", "--encrypt", "--key-file", key});
  ASSERT_EQ(put.code, 0) << put.err;

  auto get = kv({"get", "app/password", "--key-file", key});
  EXPECT_EQ(get.code, 0) << get.err;
  EXPECT_EQ(get.out, "hunter2\n");

  // berthd holds only the sealed text.
  auto stored = d_->curl("GET", "/v1/kv?key=app/password");
  ASSERT_EQ(stored.code, 200) << stored.out;
  auto sealed = base64Of(nlohmann::json::parse(stored.out)["value"]);
  EXPECT_TRUE(sealed.starts_with("$berth-aes256gcm$1$")) << sealed;
  EXPECT_EQ(sealed.find("hunter2"), std::string::npos);

  auto no_key = kv({"get", "app/password"});
  EXPECT_EQ(no_key.code, 1);
  EXPECT_EQ(no_key.out, "");
  EXPECT_NE(no_key.err.find("'app/password' is encrypted: give --key-file"), std::string::npos)
      << no_key.err;

  auto bad = kv({"get", "app/password", "--key-file", wrong});
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.out, "");
  EXPECT_NE(bad.err.find("wrong key, or the value was altered"), std::string::npos) << bad.err;

  EXPECT_NE(kv({"ls", "app/"}).out.find("(encrypted)"), std::string::npos);
  auto no_file = kv({"put", "app/x", "v", "--encrypt"});
  EXPECT_EQ(no_file.code, 1);
  EXPECT_NE(no_file.err.find("--key-file"), std::string::npos);
}

TEST_F(Kv, AcknowledgedPutsSurviveKill9) {
  std::vector<int64_t> revisions;
  for (int i = 0; i < 20; ++i)
    revisions.push_back(revisionOf(kv({"put", "durable/" + std::to_string(i), std::to_string(i)})));
  d_->kill9();
  d_->start();
  for (int i = 0; i < 20; ++i) {
    auto get = kv({"get", "durable/" + std::to_string(i), "--format", "json"});
    ASSERT_EQ(get.code, 0) << get.err;
    auto j = nlohmann::json::parse(get.out);
    EXPECT_EQ(j["mod_revision"], revisions[i]);
    EXPECT_EQ(base64Of(j["value"]), std::to_string(i));
  }
  // The revision goes on from where it was.
  EXPECT_GT(revisionOf(kv({"put", "durable/next", "x"})), revisions.back());
}

TEST_F(Kv, BadInputIsAPreciseError) {
  auto empty = d_->curl("GET", "/v1/kv?key=");
  EXPECT_EQ(empty.code, 400);
  EXPECT_NE(empty.out.find("must not be empty"), std::string::npos) << empty.out;
  auto nul = d_->curl("PUT", "/v1/kv?key=a%00b", R"({"value":"eA=="})");
  EXPECT_EQ(nul.code, 400);
  EXPECT_NE(nul.out.find("NUL byte"), std::string::npos) << nul.out;
  auto long_key = kv({"put", std::string(5000, 'k'), "v"});
  EXPECT_EQ(long_key.code, 1);
  EXPECT_NE(long_key.err.find("longer than"), std::string::npos) << long_key.err;
  auto big = kv({"put", "big", "-"}, std::string((1 << 20) + 1, 'v'));
  EXPECT_EQ(big.code, 1);
  EXPECT_NE(big.err.find("put kv key 'big': the value has 1048577 bytes, more than the 1048576"),
            std::string::npos)
      << big.err;
  auto revision = d_->curl("GET", "/v1/kv?key=a&revision=yesterday");
  EXPECT_EQ(revision.code, 400);
  EXPECT_NE(revision.out.find("'yesterday' is not a revision"), std::string::npos);
  auto body = d_->curl("PUT", "/v1/kv?key=a", R"({"value":"***"})");
  EXPECT_EQ(body.code, 400);
  EXPECT_NE(body.out.find("base64"), std::string::npos) << body.out;
  auto unknown = d_->curl("GET", "/v1/kv?key=nope");
  EXPECT_EQ(unknown.code, 404);
  EXPECT_NE(unknown.out.find("no such kv key: 'nope'"), std::string::npos);
  // Nothing was written by any of them.
  auto ls = kv({"ls"});
  EXPECT_EQ(split(trim(ls.out), '\n').size(), 1u) << ls.out;
}

TEST_F(Kv, EtcdHoldsTheKeysWhereEtcdctlSeesThem) {
  auto etcd = store::testing::EtcdProcess::start();
  if (!etcd && etcd.error().code() == ErrorCode::kUnsupported)
    GTEST_SKIP() << etcd.error().message();
  ASSERT_TRUE(etcd) << etcd.error().message();
  d_.reset();
  d_ = std::make_unique<Daemon>(DaemonFlags{{"--store", "etcd://" + (*etcd)->endpoint()}});

  int64_t r1 = revisionOf(kv({"put", "app/db/url", "postgres://db/app"}));
  EXPECT_EQ(kv({"get", "app/db/url"}).out, "postgres://db/app\n");
  auto stale = kv({"put", "app/db/url", "x", "--if-revision", std::to_string(r1 - 1)});
  EXPECT_EQ(stale.code, 1);
  EXPECT_NE(stale.err.find("its revision is " + std::to_string(r1)), std::string::npos);

  auto ctl = runCmd({"etcdctl", "--endpoints", "http://" + (*etcd)->endpoint(), "get", "--prefix",
                     "/berth/v1/kv/"},
                    "", 30, {"ETCDCTL_API=3"});
  EXPECT_EQ(ctl.code, 0) << ctl.err;
  EXPECT_EQ(ctl.out, "/berth/v1/kv/app/db/url\npostgres://db/app\n");
  d_.reset();  // before etcd goes
}

}  // namespace
}  // namespace berth::test
