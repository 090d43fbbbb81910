// `berth template` as a user drives it against berthd (issue 7, "Configuration" and test 3):
// files rendered from kv keys and service instances, written only when they change, the
// reload command run after each change, --watch following `berth kv put` and containers
// that register a service, and the errors of bad templates and arguments.

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/strings.h"
#include "e2e/background.h"
#include "e2e/daemon.h"
#include "sys/fs.h"

namespace berth::test {
namespace {

namespace fs = std::filesystem;

std::string readText(const std::string& path) { return sys::readFile(path).value_or(""); }

// The number of lines in a file (0 when it does not exist).
size_t lineCount(const std::string& path) {
  std::string text = readText(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

class TemplateE2e : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (HasFatalFailure()) return;
    d_ = std::make_unique<Daemon>(DaemonFlags{});
    dir_ = d_->path("files");
    ASSERT_TRUE(fs::create_directory(dir_));
  }
  void TearDown() override { d_.reset(); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
  }
  void put(const std::string& key, const std::string& value) const {
    auto r = d_->berth({"kv", "put", key, value});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  // SRC:DEST:COMMAND with a reload command that adds a line to `marker`.
  std::string spec(const std::string& src, const std::string& dest) const {
    return path(src) + ":" + path(dest) + ":echo reload >> " + path("marker");
  }
  CmdResult once(std::vector<std::string> args) const {
    args.insert(args.begin(), "template");
    return d_->berth(args, 60);
  }
  // The names in the files directory: temporary files would show here.
  std::set<std::string> names() const {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.insert(e.path().filename().string());
    return out;
  }

  std::unique_ptr<Daemon> d_;
  std::string dir_;
};

const char* kAppTemplate =
    "url={{ key \"app/db/url\" }}\n"
    "pool={{ keyOrDefault \"app/db/pool\" \"10\" }}\n"
    "{{ range ls \"app/env\" }}{{ .Key }}={{ .Value }}\n{{ end }}";

TEST_F(TemplateE2e, OnceRendersKeysAndReloadsOnlyWhenTheFileChanges) {
  put("app/db/url", "postgres://db1/app");
  put("app/env/A", "1");
  put("app/env/deep/B", "2");  // in a sub-folder: ls leaves it out
  write("app.tmpl", kAppTemplate);

  auto first = once({spec("app.tmpl", "app.conf")});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(readText(path("app.conf")), "url=postgres://db1/app\npool=10\nA=1\n");
  EXPECT_EQ(lineCount(path("marker")), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(path("app.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  // The same content: the file is left alone and the command does not run.
  auto again = once({spec("app.tmpl", "app.conf")});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(lineCount(path("marker")), 1u);

  // A change: written again, with the mode the file had.
  ASSERT_EQ(::chmod(path("app.conf").c_str(), 0640), 0);
  put("app/db/pool", "20");
  auto changed = once({"--once", spec("app.tmpl", "app.conf")});
  EXPECT_EQ(changed.code, 0) << changed.err;
  EXPECT_EQ(readText(path("app.conf")), "url=postgres://db1/app\npool=20\nA=1\n");
  EXPECT_EQ(lineCount(path("marker")), 2u);
  ASSERT_EQ(::stat(path("app.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(names(), (std::set<std::string>{"app.tmpl", "app.conf", "marker"}));
}

TEST_F(TemplateE2e, OnceWritesNothingWhenATemplateFails) {
  put("app/db/url", "postgres://db1/app");
  write("app.tmpl", kAppTemplate);
  write("typo.tmpl", "upstream {\n  {{ range servce \"web\" }}{{ end }}\n}\n");
  write("absent.tmpl", "{{ key \"app/absent\" }}\n");

  auto typo = once({spec("app.tmpl", "app.conf"), spec("typo.tmpl", "typo.conf")});
  EXPECT_EQ(typo.code, 1);
  EXPECT_EQ(typo.err, "berth: template " + path("typo.tmpl") +
                          ":2:12: unknown function 'servce': did you mean 'service'?\n");
  auto absent = once({spec("app.tmpl", "app.conf"), spec("absent.tmpl", "absent.conf")});
  EXPECT_EQ(absent.code, 1);
  EXPECT_EQ(absent.err, "berth: template " + path("absent.tmpl") +
                            ":1:4: key \"app/absent\": no such kv key; put it (berth kv put) or "
                            "give a default: keyOrDefault \"app/absent\" \"…\"\n");
  // Neither the good template's file nor the command: all or nothing.
  EXPECT_EQ(names(), (std::set<std::string>{"app.tmpl", "typo.tmpl", "absent.tmpl"}));

  write("fail.tmpl", "x\n");
  auto reload = once({path("fail.tmpl") + ":" + path("fail.conf") + ":exit 3"});
  EXPECT_EQ(reload.code, 1);
  EXPECT_EQ(reload.err, "berth: reload command 'exit 3' exited with 3\n");
  EXPECT_EQ(readText(path("fail.conf")), "x\n");
}

TEST_F(TemplateE2e, BadArgumentsAreClearErrors) {
  write("a.tmpl", "a\n");
  auto no_colon = once({path("a.tmpl")});
  EXPECT_EQ(no_colon.code, 1);
  EXPECT_NE(no_colon.err.find("no ':' between the template and its output (expected "
                              "SRC:DEST[:RELOAD_COMMAND]"),
            std::string::npos)
      << no_colon.err;
  auto both = once({"--once", "--watch", path("a.tmpl") + ":" + path("a.conf")});
  EXPECT_EQ(both.code, 1);
  EXPECT_EQ(both.err, "berth: give --once or --watch, not both\n");
  auto wait = once({"--wait", "1s", path("a.tmpl") + ":" + path("a.conf")});
  EXPECT_EQ(wait.code, 1);
  EXPECT_NE(wait.err.find("--wait applies to --watch"), std::string::npos) << wait.err;
  auto bad_wait = once({"--watch", "--wait", "5s:1s", path("a.tmpl") + ":" + path("a.conf")});
  EXPECT_EQ(bad_wait.code, 1);
  EXPECT_NE(bad_wait.err.find("the maximum is shorter than the minimum"), std::string::npos);
  auto missing = once({path("none.tmpl") + ":" + path("a.conf")});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "berth: read '" + path("none.tmpl") + "': no such file or directory\n");
  auto no_dir = once({path("a.tmpl") + ":" + path("nodir/a.conf")});
  EXPECT_EQ(no_dir.code, 1);
  EXPECT_NE(no_dir.err.find("create a file in '" + path("nodir") + "'"), std::string::npos)
      << no_dir.err;
  EXPECT_EQ(names(), std::set<std::string>{"a.tmpl"});
}

TEST_F(TemplateE2e, EncryptedValuesNeedTheKeyFile) {
  std::string key = path("kv.key");
  std::ofstream(key) << std::string(64, 'a') << "\n";
  auto sealed = d_->berth({"kv", "put", "app/password", "hunter2", "--encrypt", "--key-file", key});
  ASSERT_EQ(sealed.code, 0) << sealed.err;
  write("secret.tmpl", "password={{ key \"app/password\" }}\n");

  auto no_key = once({path("secret.tmpl") + ":" + path("secret.conf")});
  EXPECT_EQ(no_key.code, 1);
  EXPECT_EQ(no_key.err, "berth: template " + path("secret.tmpl") +
                            ":1:13: key \"app/password\": kv key 'app/password' is encrypted: "
                            "give --key-file to decrypt it\n");
  EXPECT_FALSE(fs::exists(path("secret.conf")));

  auto with_key = once({"--key-file", key, path("secret.tmpl") + ":" + path("secret.conf")});
  EXPECT_EQ(with_key.code, 0) << with_key.err;
  EXPECT_EQ(readText(path("secret.conf")), "password=hunter2\n");
}

// (a) --watch follows `berth kv put`: each change of the output is written and reloaded,
// and changes to keys the template does not read reload nothing.
TEST_F(TemplateE2e, WatchRendersAgainOnKvPutAndRunsTheReloadCommand) {
  put("app/db/url", "postgres://db1/app");
  put("app/env/A", "1");
  write("app.tmpl", kAppTemplate);
  BackgroundBerth watch(*d_, {"template", "--watch", spec("app.tmpl", "app.conf")}, d_->path(""),
                        "watch");
  std::string conf = path("app.conf"), marker = path("marker");
  auto shows = [&](const std::string& text, size_t reloads) {
    return eventually([&] { return readText(conf) == text && lineCount(marker) == reloads; });
  };
  ASSERT_TRUE(shows("url=postgres://db1/app\npool=10\nA=1\n", 1)) << readText(conf) << watch.err();

  put("app/db/url", "postgres://db2/app");
  EXPECT_TRUE(shows("url=postgres://db2/app\npool=10\nA=1\n", 2)) << readText(conf) << watch.err();
  put("app/db/pool", "20");
  EXPECT_TRUE(shows("url=postgres://db2/app\npool=20\nA=1\n", 3)) << readText(conf) << watch.err();
  put("app/env/B", "2");
  EXPECT_TRUE(shows("url=postgres://db2/app\npool=20\nA=1\nB=2\n", 4))
      << readText(conf) << watch.err();

  // Keys it does not read, then one it does: the events come in order, so once the last
  // change shows, the others have been seen, and they reloaded nothing.
  put("other/x", "1");
  put("app/env/deep/C", "3");
  put("app/db/url", "postgres://db2/app");  // the same value: the file does not change
  ASSERT_EQ(d_->berth({"kv", "rm", "app/db/pool"}).code, 0);
  EXPECT_TRUE(shows("url=postgres://db2/app\npool=10\nA=1\nB=2\n", 5))
      << readText(conf) << watch.err();
  EXPECT_TRUE(watch.running());

  EXPECT_EQ(watch.stop(SIGTERM), 0);
  EXPECT_EQ(lineCount(marker), 5u);
  EXPECT_EQ(names(), (std::set<std::string>{"app.tmpl", "app.conf", "marker"}));
}

TEST_F(TemplateE2e, WatchWaitsForAnAbsentKeyAndForBerthd) {
  write("late.tmpl", "value={{ key \"app/late\" }}\n");
  BackgroundBerth watch(*d_, {"template", "--watch", spec("late.tmpl", "late.conf")}, d_->path(""),
                        "watch");
  ASSERT_TRUE(eventually([&] { return watch.err().find("no such kv key") != std::string::npos; }))
      << watch.err();
  EXPECT_FALSE(fs::exists(path("late.conf")));
  EXPECT_TRUE(watch.running());
  put("app/late", "here");
  auto shows = [&](const std::string& text, size_t reloads) {
    return eventually([&] {
      return readText(path("late.conf")) == text && lineCount(path("marker")) == reloads;
    });
  };
  EXPECT_TRUE(shows("value=here\n", 1)) << watch.err();

  // berthd restarts: the watch says so, connects again, and a change after the restart
  // shows (read again on reconnection, or seen as an event).
  d_->stop();
  d_->start();
  put("app/late", "after restart");
  EXPECT_TRUE(shows("value=after restart\n", 2)) << watch.err();
  EXPECT_TRUE(eventually([&] { return watch.err().find("working again") != std::string::npos; }))
      << watch.err();
  EXPECT_NE(watch.err().find("berth template: watch kv keys under 'app/late': "), std::string::npos)
      << watch.err();
  EXPECT_EQ(watch.stop(SIGINT), 0);
}

// Issue 7, test 3: an nginx-like upstream list from the instances of `web`, rendered again
// with the reload command when a third instance starts.
TEST_F(TemplateE2e, WatchFollowsTheInstancesOfAService) {
  d_.reset();
  d_ = std::make_unique<Daemon>();  // with the busybox image
  dir_ = d_->path("files");
  ASSERT_TRUE(fs::create_directory(dir_));
  const char* httpd = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www";
  auto start = [&](const std::string& name) {
    auto r = d_->berth(
        {"run", "-d", "--name", name, "--service", "web:80", "busybox", "sh", "-c", httpd});
    EXPECT_EQ(r.code, 0) << r.err;
    return d_->inspect(name)["network_settings"]["networks"]["bridge"].value("ip", "");
  };
  std::string web1 = "server " + start("web1") + ":80;";
  std::set<std::string> servers = {web1, "server " + start("web2") + ":80;"};
  // Both registered before the watch starts, so that its first round lists both.
  auto registered = [&] {
    auto r = d_->curl("GET", "/v1/catalog/services/web");
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return r.code == 200 && j.is_object() ? j["instances"].size() : size_t{0};
  };
  ASSERT_TRUE(eventually([&] { return registered() == 2; }));
  write("upstream.tmpl",
        "upstream web {\n"
        "{{- range service \"web\" }}\n"
        "    server {{ .Address }}:{{ .Port }};\n"
        "{{- end }}\n"
        "}\n");
  BackgroundBerth watch(*d_, {"template", "--watch", spec("upstream.tmpl", "upstream.conf")},
                        d_->path(""), "watch");
  // The server lines of the file, which lists instances by id.
  auto listed = [&] {
    std::set<std::string> lines;
    std::string text = readText(path("upstream.conf"));
    if (!text.starts_with("upstream web {\n") || !text.ends_with("}\n")) return lines;
    for (const auto& line : split(text, '\n'))
      if (line.starts_with("    server ")) lines.insert(std::string(trim(line)));
    return lines;
  };
  ASSERT_TRUE(eventually([&] { return listed() == servers && lineCount(path("marker")) == 1; }))
      << readText(path("upstream.conf")) << watch.err();

  servers.insert("server " + start("web3") + ":80;");
  EXPECT_TRUE(eventually([&] { return listed() == servers && lineCount(path("marker")) == 2; }))
      << readText(path("upstream.conf")) << watch.err();

  // An instance that stops leaves the list.
  ASSERT_EQ(d_->berth({"stop", "-t", "1", "web1"}).code, 0);
  servers.erase(web1);
  EXPECT_TRUE(eventually([&] { return listed() == servers && lineCount(path("marker")) == 3; }))
      << readText(path("upstream.conf")) << watch.err();
  EXPECT_TRUE(watch.running()) << watch.err();
  EXPECT_EQ(watch.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace berth::test
