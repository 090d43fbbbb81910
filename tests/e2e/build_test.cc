// berth build: multi-stage Dockerfiles, the layer cache, .dockerignore, ADD of a tar,
// and errors with line numbers. Each test has its own berth root.

#include <fstream>

#include "e2e/daemon.h"
#include "support/harness.h"
#include "sys/fs.h"

namespace berth::test {
namespace {

class Build : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (HasFatalFailure()) return;
    dir_ = std::make_unique<TempDir>("berth-build");
    daemon_ = std::make_unique<Daemon>(path("berth"));
    daemon_->addBusybox("busybox:test");
    ASSERT_FALSE(HasFailure());
    ASSERT_TRUE(sys::mkdirAll(path("ctx")).ok());
  }
  std::string path(const std::string& name) const { return dir_->path() + "/" + name; }
  void write(const std::string& rel, const std::string& text) {
    std::ofstream(path("ctx/" + rel)) << text;
  }
  CmdResult berth(const std::vector<std::string>& args) {
    return berthOnRoot(path("berth"), daemon_, args, 300);
  }
  static int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
  }
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Daemon> daemon_;  // destroyed before dir_
};

TEST_F(Build, MultiStageBuildRunsAndRebuildsFromCache) {
  write("hello.txt", "world\n");
  write("Dockerfile",
        "ARG BASE=busybox:test\n"
        "FROM ${BASE} AS build\n"
        "WORKDIR /src\n"
        "COPY hello.txt .\n"
        "RUN echo RUNNING-STEP && mkdir -p /opt/app && \\\n"
        "    echo \"built from $(cat hello.txt)\" > /opt/app/out.txt\n"
        "\n"
        "FROM ${BASE}\n"
        "ENV GREETING=hi APP_DIR=/opt/app\n"
        "COPY --from=build /opt/app /app\n"
        "WORKDIR /app\n"
        "RUN echo RUNNING-STEP && echo 'appuser:x:1000:1000::/app:/bin/sh' >> /etc/passwd\n"
        "USER appuser\n"
        "LABEL org.example.title=\"demo app\"\n"
        "ENTRYPOINT [\"sh\", \"-c\", \"echo $GREETING $(id -u) $(pwd) $(cat out.txt)\"]\n");
  auto first = berth({"build", "-t", "app:1", path("ctx")});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  EXPECT_EQ(count(first.out, "\nRUNNING-STEP\n"), 2) << first.out;
  auto run = berth({"run", "app:1"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "hi 1000 /app built from world\n");

  // The same context again: no step runs, every layer comes from the cache.
  auto second = berth({"build", "-t", "app:1", path("ctx")});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(count(second.out, "\nRUNNING-STEP\n"), 0) << second.out;
  EXPECT_EQ(count(second.out, "Using cache"), 4) << second.out;  // 2 COPY + 2 RUN

  // Changing one file re-runs only what depends on it: its COPY, the RUN after it, and the
  // COPY --from that takes that RUN's output; the last RUN's input did not change… but
  // its parent layer did, so it runs too. WORKDIR and ENV stay config-only.
  write("hello.txt", "changed\n");
  auto third = berth({"build", "-t", "app:1", path("ctx")});
  ASSERT_EQ(third.code, 0) << third.err;
  EXPECT_EQ(count(third.out, "\nRUNNING-STEP\n"), 2) << third.out;
  EXPECT_EQ(berth({"run", "app:1"}).out, "hi 1000 /app built from changed\n");
  auto inspect = berth({"image", "inspect", "app:1"});
  auto j = nlohmann::json::parse(inspect.out)[0];
  EXPECT_EQ(j["Config"]["User"], "appuser");
  EXPECT_EQ(j["Config"]["Labels"]["org.example.title"], "demo app");
  EXPECT_EQ(j["Config"]["WorkingDir"], "/app");
}

TEST_F(Build, DockerignoreAddTarAndBuildArgs) {
  write("keep.txt", "kept\n");
  write("secret.txt", "do not ship\n");
  write(".dockerignore", "secret.txt\n*.tmp\n");
  write("junk.tmp", "x\n");
  auto tar =
      runCmd({"/bin/sh", "-c",
              "mkdir -p " + path("t/inner") + " && echo from-tar > " + path("t/inner/f") +
                  " && tar -C " + path("t") + " -czf " + path("ctx/files.tar.gz") + " inner"});
  ASSERT_EQ(tar.code, 0) << tar.err;
  write("Dockerfile",
        "FROM busybox:test\n"
        "ARG WHO=nobody\n"
        "COPY . /ctx/\n"
        "ADD files.tar.gz /unpacked/\n"
        "RUN echo \"hello $WHO\" > /greeting\n"
        "CMD ls /ctx; cat /unpacked/inner/f /greeting\n");
  auto b = berth({"build", "--build-arg", "WHO=berth", "-t", "ctx:1", path("ctx")});
  ASSERT_EQ(b.code, 0) << b.out << b.err;
  auto run = berth({"run", "ctx:1"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "Dockerfile\nfiles.tar.gz\nkeep.txt\nfrom-tar\nhello berth\n");
}

TEST_F(Build, ErrorsNameTheLineAndLeaveNoImage) {
  write("Dockerfile", "FROM busybox:test\nRUN true\nRUNN echo typo\n");
  auto typo = berth({"build", "-t", "bad:1", path("ctx")});
  EXPECT_NE(typo.code, 0);
  EXPECT_NE(typo.err.find("Dockerfile:3: unknown instruction 'RUNN'"), std::string::npos)
      << typo.err;
  write("Dockerfile", "FROM no-such-image:1\nRUN true\n");
  auto base = berth({"build", "-t", "bad:1", path("ctx")});
  EXPECT_NE(base.code, 0);
  EXPECT_NE(base.err.find("image 'no-such-image:1' does not exist"), std::string::npos) << base.err;
  write("Dockerfile", "FROM busybox:test\nCOPY missing.txt /\n");
  auto missing = berth({"build", "-t", "bad:1", path("ctx")});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("Dockerfile:2"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("'missing.txt' does not exist"), std::string::npos) << missing.err;
  write("Dockerfile", "FROM busybox:test\nRUN exit 3\n");
  auto failing = berth({"build", "-t", "bad:1", path("ctx")});
  EXPECT_NE(failing.code, 0);
  EXPECT_NE(
      failing.err.find("Dockerfile:2: The command '/bin/sh -c exit 3' returned a non-zero code: 3"),
      std::string::npos)
      << failing.err;
  auto list = berth({"images"});
  EXPECT_EQ(list.out.find("bad"), std::string::npos) << list.out;
  // Nothing of the failed steps is left mounted or in the build directory.
  auto leftovers = runCmd({"/bin/sh", "-c",
                           "ls " + path("berth/build") + " | wc -l; grep -c " + path("berth") +
                               " /proc/self/mountinfo"});
  EXPECT_EQ(leftovers.out, "0\n0\n");
}

// Through the API: a context that would write outside its directory, and a Dockerfile
// with a syntax error, are 400s before any step runs; nothing is left of either.
TEST_F(Build, BadContextsAreRefusedBeforeAnyStep) {
  auto evil = runCmd({"/bin/sh", "-c",
                      "cd " + path("") +
                          " && mkdir -p x && echo FROM busybox:test > x/Dockerfile && "
                          "echo pwned > escape.txt && tar -C x -cf evil.tar Dockerfile && "
                          "tar -C x -rf evil.tar --transform 's|^|../|' -P ../escape.txt"});
  ASSERT_EQ(evil.code, 0) << evil.err;
  auto r = daemon_->upload("/v1/images/build?t=evil:1", path("evil.tar"));
  EXPECT_EQ(r.code, 400) << r.out;
  EXPECT_NE(r.out.find("build context"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("escape.txt"), std::string::npos) << r.out;

  write("Dockerfile", "FROM busybox:test\nRUNN typo\n");
  ASSERT_EQ(runCmd({"tar", "-C", path("ctx"), "-cf", path("typo.tar"), "Dockerfile"}).code, 0);
  auto typo = daemon_->upload("/v1/images/build?t=typo:1", path("typo.tar"));
  EXPECT_EQ(typo.code, 400) << typo.out;
  EXPECT_NE(typo.out.find("Dockerfile:2: unknown instruction 'RUNN'"), std::string::npos)
      << typo.out;

  auto list = berth({"images"});
  EXPECT_EQ(list.out.find("evil"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("typo"), std::string::npos) << list.out;
  auto leftovers = runCmd({"/bin/sh", "-c", "ls -A " + path("berth/tmp") + " | wc -l"});
  EXPECT_EQ(leftovers.out, "0\n") << "a refused context was left behind";
}

}  // namespace
}  // namespace berth::test
