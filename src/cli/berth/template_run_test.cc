// berth template's arguments, the atomic write that happens only on change, the reload
// commands, and one round over several templates, against a temporary directory and an
// in-memory data source.

#include "cli/berth/template_run.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/berth/template_fake_source.h"

namespace berth::cli::tmpl {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

TEST(TemplateSpecTest, SourceDestAndACommandThatMayHoldColons) {
  auto s = parseTemplateSpec("web.tmpl:/etc/nginx/web.conf:nginx -s reload && echo a:b");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->source, "web.tmpl");
  EXPECT_EQ(s->dest, "/etc/nginx/web.conf");
  EXPECT_EQ(s->command, "nginx -s reload && echo a:b");
  auto plain = parseTemplateSpec("a.tmpl:out/a.conf").value();
  EXPECT_EQ(plain.dest, "out/a.conf");
  EXPECT_EQ(plain.command, "");
}

TEST(TemplateSpecTest, BadSpecsSayWhatIsExpected) {
  const std::string expected =
      " (expected SRC:DEST[:RELOAD_COMMAND], such as "
      "web.tmpl:/etc/nginx/conf.d/web.conf:\"nginx -s reload\")";
  EXPECT_EQ(parseTemplateSpec("web.tmpl").error().message(),
            "invalid template 'web.tmpl': no ':' between the template and its output" + expected);
  EXPECT_EQ(parseTemplateSpec(":out").error().message(),
            "invalid template ':out': the template file is empty" + expected);
  EXPECT_EQ(parseTemplateSpec("a::cmd").error().message(),
            "invalid template 'a::cmd': the output file is empty" + expected);
  EXPECT_EQ(
      parseTemplateSpec("a:b: ").error().message(),
      "invalid template 'a:b: ': the reload command after the second ':' is empty" + expected);
}

TEST(TemplateWaitTest, MinAndMax) {
  auto q = parseWait("2s:10s").value();
  EXPECT_EQ(q.min, milliseconds(2000));
  EXPECT_EQ(q.max, milliseconds(10000));
  auto only_min = parseWait("500ms").value();
  EXPECT_EQ(only_min.max, milliseconds(2000));  // 4 × MIN
  EXPECT_EQ(parseWait("10s:2s").error().message(),
            "invalid --wait '10s:2s': the maximum is shorter than the minimum (MIN[:MAX], such as "
            "2s:10s)");
  EXPECT_EQ(parseWait("soon").error().message(),
            "invalid --wait 'soon': expected a duration such as 1s, 500ms, 1m30s or 2h");
}

TEST(TemplateWaitTest, RenderWhenQuietOrWhenTheMaximumIsReached) {
  Quiescence q{milliseconds(2000), milliseconds(10000)};
  std::chrono::steady_clock::time_point t0;
  EXPECT_EQ(renderAt(q, t0, t0), t0 + milliseconds(2000));
  EXPECT_EQ(renderAt(q, t0, t0 + milliseconds(3000)), t0 + milliseconds(5000));
  // Changes keep coming: the maximum wins.
  EXPECT_EQ(renderAt(q, t0, t0 + milliseconds(9500)), t0 + milliseconds(10000));
  EXPECT_EQ(renderAt(Quiescence{}, t0, t0), t0);
}

class TemplateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-template-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static void write(const std::string& p, const std::string& content) {
    std::ofstream(p) << content;
  }
  static std::string read(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static struct stat statOf(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st;
  }
  // The names in the directory (temporary files would show here).
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
};

TEST_F(TemplateFileTest, WritesANewFileAndNothingWhenTheContentIsTheSame) {
  std::string out = path("out.conf");
  EXPECT_EQ(writeIfChanged(out, "a\n").value(), true);
  EXPECT_EQ(read(out), "a\n");
  EXPECT_EQ(statOf(out).st_mode & 07777, 0644u);
  ino_t inode = statOf(out).st_ino;
  EXPECT_EQ(writeIfChanged(out, "a\n").value(), false);
  EXPECT_EQ(statOf(out).st_ino, inode);  // not replaced
  EXPECT_EQ(writeIfChanged(out, "b\n").value(), true);
  EXPECT_EQ(read(out), "b\n");
  EXPECT_NE(statOf(out).st_ino, inode);  // a new file renamed over the old one
  EXPECT_EQ(writeIfChanged(out, "").value(), true);
  EXPECT_EQ(read(out), "");
  EXPECT_EQ(names(), std::vector<std::string>{"out.conf"});
}

TEST_F(TemplateFileTest, KeepsTheModeOfTheFileItReplaces) {
  std::string out = path("secret.conf");
  write(out, "old");
  ASSERT_EQ(::chmod(out.c_str(), 0640), 0);
  EXPECT_TRUE(writeIfChanged(out, "new").value());
  EXPECT_EQ(statOf(out).st_mode & 07777, 0640u);
  EXPECT_EQ(read(out), "new");
}

TEST_F(TemplateFileTest, ReplacesTheFileALinkNamesAndKeepsTheLink) {
  write(path("real.conf"), "old");
  fs::create_symlink("real.conf", dir_ / "link.conf");
  EXPECT_TRUE(writeIfChanged(path("link.conf"), "new").value());
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.conf"));
  EXPECT_EQ(read(path("real.conf")), "new");
  EXPECT_EQ(names(), (std::vector<std::string>{"link.conf", "real.conf"}));
}

TEST_F(TemplateFileTest, BadDestinationsFailAndLeaveNothing) {
  auto missing = writeIfChanged(path("nodir/out.conf"), "x");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "write '" + path("nodir/out.conf") +
                                           "': create a file in '" + path("nodir") +
                                           "': no such file or directory");
  fs::create_directory(dir_ / "adir");
  auto directory = writeIfChanged(path("adir"), "x");
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().message(), "write '" + path("adir") + "': it is not a regular file");
  EXPECT_EQ(names(), std::vector<std::string>{"adir"});
  EXPECT_TRUE(fs::is_empty(dir_ / "adir"));
}

TEST_F(TemplateFileTest, ShellCommandsGetTheirExitCodeAndNoStdin) {
  EXPECT_EQ(runShell("exit 0").value(), 0);
  EXPECT_EQ(runShell("exit 3").value(), 3);
  EXPECT_EQ(runShell("kill -TERM $$").value(), 128 + SIGTERM);
  std::string out = path("stdin");
  EXPECT_EQ(runShell("cat > '" + out + "'").value(), 0);  // /dev/null: ends at once
  EXPECT_EQ(read(out), "");
}

ServiceInstance instance(std::string id, std::string address) {
  ServiceInstance in;
  in.id = std::move(id);
  in.service = "web";
  in.address = std::move(address);
  in.port = 80;
  in.health = "passing";
  return in;
}

class TemplateSetTest : public TemplateFileTest {
 protected:
  void SetUp() override {
    TemplateFileTest::SetUp();
    write(path("web.tmpl"), "{{ range service \"web\" }}server {{ .Address }};\n{{ end }}");
    write(path("app.tmpl"), "url={{ key \"app/url\" }}\n");
    source.kv["app/url"] = "postgres://db";
    source.services["web"] = {instance("a", "10.0.0.2")};
  }
  TemplateSet load(const std::vector<std::string>& args) {
    std::vector<TemplateSpec> specs;
    for (const auto& a : args) specs.push_back(parseTemplateSpec(a).value());
    auto set = TemplateSet::load(specs);
    EXPECT_TRUE(set.ok()) << set.error().message();
    return std::move(set).value();
  }
  // Records commands instead of running them; each "succeeds" with `exit_code`.
  CommandRunner recorder(int exit_code = 0) {
    return [this, exit_code](const std::string& command) -> Result<int> {
      ran.push_back(command);
      return exit_code;
    };
  }

  FakeSource source;
  std::vector<std::string> ran;
};

TEST_F(TemplateSetTest, WritesWhatChangedAndRunsEachCommandOnce) {
  auto set = load({path("web.tmpl") + ":" + path("web.conf") + ":reload web",
                   path("app.tmpl") + ":" + path("app.conf") + ":reload web"});
  auto first = set.render(source, recorder(), true);
  EXPECT_TRUE(first.errors.empty());
  EXPECT_EQ(first.written, (std::vector<std::string>{path("web.conf"), path("app.conf")}));
  EXPECT_EQ(ran, std::vector<std::string>{"reload web"});  // one command, both files written
  EXPECT_EQ(read(path("web.conf")), "server 10.0.0.2;\n");
  EXPECT_EQ(read(path("app.conf")), "url=postgres://db\n");
  EXPECT_EQ(first.deps.keys, std::set<std::string>{"app/url"});
  EXPECT_EQ(first.deps.services, std::set<std::string>{"web"});

  // Nothing changed: nothing written, nothing run.
  auto same = set.render(source, recorder(), true);
  EXPECT_TRUE(same.written.empty());
  EXPECT_EQ(ran.size(), 1u);

  source.services["web"].push_back(instance("b", "10.0.0.3"));
  auto grown = set.render(source, recorder(), true);
  EXPECT_EQ(grown.written, std::vector<std::string>{path("web.conf")});
  EXPECT_EQ(ran.size(), 2u);
  EXPECT_EQ(read(path("web.conf")), "server 10.0.0.2;\nserver 10.0.0.3;\n");
}

TEST_F(TemplateSetTest, OnceWritesNothingWhenOneTemplateFails) {
  auto set = load({path("web.tmpl") + ":" + path("web.conf") + ":reload web",
                   path("app.tmpl") + ":" + path("app.conf")});
  source.kv.clear();
  auto round = set.render(source, recorder(), true);
  ASSERT_EQ(round.errors.size(), 1u);
  EXPECT_EQ(round.errors[0].message(),
            "template " + path("app.tmpl") +
                ":1:8: key \"app/url\": no such kv key; put it (berth kv put) or give a default: "
                "keyOrDefault \"app/url\" \"…\"");
  EXPECT_TRUE(round.written.empty());
  EXPECT_TRUE(ran.empty());
  EXPECT_FALSE(fs::exists(path("web.conf")));
  EXPECT_EQ(round.deps.keys, std::set<std::string>{"app/url"});  // to wait for in --watch
}

TEST_F(TemplateSetTest, WatchKeepsAFailedOutputAndWritesTheOthers) {
  auto set = load({path("web.tmpl") + ":" + path("web.conf") + ":reload web",
                   path("app.tmpl") + ":" + path("app.conf") + ":reload app"});
  ASSERT_TRUE(set.render(source, recorder(), false).errors.empty());
  source.kv.clear();
  source.services["web"].push_back(instance("b", "10.0.0.3"));
  auto round = set.render(source, recorder(), false);
  EXPECT_EQ(round.errors.size(), 1u);
  EXPECT_EQ(round.written, std::vector<std::string>{path("web.conf")});
  EXPECT_EQ(read(path("app.conf")), "url=postgres://db\n");  // as it was
  EXPECT_EQ(ran, (std::vector<std::string>{"reload web", "reload app", "reload web"}));
}

TEST_F(TemplateSetTest, AFailedReloadCommandIsReported) {
  auto set = load({path("app.tmpl") + ":" + path("app.conf") + ":nginx -s reload"});
  auto round = set.render(source, recorder(1), false);
  ASSERT_EQ(round.errors.size(), 1u);
  EXPECT_EQ(round.errors[0].message(), "reload command 'nginx -s reload' exited with 1");
  EXPECT_EQ(read(path("app.conf")), "url=postgres://db\n");
}

TEST_F(TemplateSetTest, LoadErrorsNameTheFile) {
  auto missing = TemplateSet::load({{path("none.tmpl"), path("x"), ""}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "read '" + path("none.tmpl") + "': no such file or directory");
  write(path("bad.tmpl"), "ok\n{{ servce \"web\" }}");
  auto bad = TemplateSet::load({{path("bad.tmpl"), path("x"), ""}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "template " + path("bad.tmpl") +
                                       ":2:4: unknown function 'servce': did you mean "
                                       "'service'?");
  auto twice =
      TemplateSet::load({{path("web.tmpl"), path("out"), ""}, {path("app.tmpl"), path("out"), ""}});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().message(), "templates '" + path("web.tmpl") + "' and '" +
                                         path("app.tmpl") + "' both write '" + path("out") +
                                         "': give each its own output");
  EXPECT_EQ(names(), (std::vector<std::string>{"app.tmpl", "bad.tmpl", "web.tmpl"}));
}

TEST_F(TemplateSetTest, KvPrefixCoversEveryTemplate) {
  write(path("b.tmpl"), "{{ key \"app/other\" }}");
  EXPECT_EQ(load({path("web.tmpl") + ":" + path("w")}).kvPrefix(), std::nullopt);
  EXPECT_EQ(load({path("app.tmpl") + ":" + path("a"), path("b.tmpl") + ":" + path("b")}).kvPrefix(),
            std::optional<std::string>("app/"));
}

}  // namespace
}  // namespace berth::cli::tmpl
