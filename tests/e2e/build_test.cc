// berth build: multi-stage Dockerfiles, the layer cache, .dockerignore, ADD of a tar and
// of a URL, COPY --chmod and --link, RUN --mount, a Dockerfile from outside the context,
// and errors with line numbers. Each test has its own berth root.

#include <fstream>
#include <mutex>

#include "api/test_web_server.h"
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
  EXPECT_NE(base.err.find("Dockerfile:1: FROM no-such-image:1: image 'no-such-image:1' does not "
                          "exist"),
            std::string::npos)
      << base.err;
  write("Dockerfile", "FROM busybox:test\nRUN true\nFROM ${BASE}\n");
  auto no_arg = berth({"build", "-t", "bad:1", path("ctx")});
  EXPECT_NE(no_arg.code, 0);
  EXPECT_NE(no_arg.err.find("Dockerfile:3: FROM needs an image ('${BASE}' expanded to ''; a FROM "
                            "sees only the ARGs declared before the first FROM"),
            std::string::npos)
      << no_arg.err;
  write("Dockerfile", "FROM busybox:test AS a\nFROM later\nFROM busybox:test AS later\n");
  auto later = berth({"build", "-t", "bad:1", path("ctx")});
  EXPECT_NE(later.code, 0);
  EXPECT_NE(later.err.find("Dockerfile:2: FROM later: image 'later' does not exist"),
            std::string::npos)
      << later.err;
  EXPECT_NE(later.err.find("a FROM can only use an earlier stage"), std::string::npos) << later.err;
  write("Dockerfile", "FROM busybox:test\n\nFROM busybox:test AS 1st\n");
  auto name = berth({"build", "-t", "bad:1", path("ctx")});
  EXPECT_NE(name.code, 0);
  EXPECT_NE(name.err.find("Dockerfile:3: invalid stage name '1st'"), std::string::npos) << name.err;
  write("Dockerfile", "FROM busybox:test\nCOPY --from=nowhere /x /x\n");
  auto from = berth({"build", "-t", "bad:1", path("ctx")});
  EXPECT_NE(from.code, 0);
  EXPECT_NE(from.err.find("Dockerfile:2: COPY --from=nowhere: no earlier stage or local image "
                          "'nowhere'"),
            std::string::npos)
      << from.err;
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
  // By name, not by searching the table: an image ID is hex and may well contain "bad".
  auto left = berth({"image", "inspect", "bad:1"});
  EXPECT_NE(left.code, 0) << left.out;
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

// COPY --chmod sets the mode in the image; a COPY without --link keeps the mode and owner
// of a directory the stage already has and writes through its symlinks, as docker does;
// a COPY --link layer is reused when an earlier step changes.
TEST_F(Build, CopyChmodParentDirectoriesAndLink) {
  write("f.txt", "file\n");
  write("g.txt", "through the link\n");
  write("Dockerfile",
        "FROM busybox:test\n"
        "ARG REV=1\n"
        "RUN mkdir -p /data && chown 1000:1000 /data && chmod 750 /data && ln -s /data /link && "
        "echo $REV > /rev\n"
        "COPY --chmod=640 f.txt /data/\n"
        "COPY g.txt /link/\n"
        "COPY --link --chmod=0755 f.txt /linked/run.sh\n"
        "CMD stat -c '%a %u %n' /data /data/f.txt /linked/run.sh; cat /data/g.txt; "
        "test -L /link && echo /link is a link\n");
  const std::string expected =
      "750 1000 /data\n640 0 /data/f.txt\n755 0 /linked/run.sh\nthrough the link\n"
      "/link is a link\n";
  auto first = berth({"build", "-t", "modes:1", path("ctx")});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  auto run = berth({"run", "modes:1"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, expected);

  // The RUN changes: the two COPYs after it build again, the --link one does not.
  auto second = berth({"build", "--build-arg", "REV=2", "-t", "modes:2", path("ctx")});
  ASSERT_EQ(second.code, 0) << second.out << second.err;
  EXPECT_EQ(count(second.out, "Using cache"), 1) << second.out;
  EXPECT_NE(second.out.find("COPY --link --chmod=0755 f.txt /linked/run.sh\n ---> Using cache"),
            std::string::npos)
      << second.out;
  EXPECT_EQ(berth({"run", "modes:2"}).out, expected);

  write("Dockerfile", "FROM busybox:test\nCOPY --chmod=u+x f.txt /\n");
  auto bad = berth({"build", "-t", "modes:3", path("ctx")});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("Dockerfile:2: --chmod: mode 'u+x': use an octal mode"), std::string::npos)
      << bad.err;
}

// RUN --mount: a cache mount keeps its content from one build to the next and is not in
// the image; a bind mount reads an earlier stage and the context (writes with rw are
// thrown away); a tmpfs; a secret given with --secret. None leaves a mount point behind.
TEST_F(Build, RunMounts) {
  write("input.txt", "input\n");
  std::ofstream(path("token")) << "s3cret";
  write("Dockerfile",
        "FROM busybox:test AS tools\n"
        "RUN mkdir /out && echo from-stage > /out/tool.txt\n"
        "\n"
        "FROM busybox:test\n"
        "RUN --mount=type=cache,target=/cache,id=counter \\\n"
        "    n=$(cat /cache/n 2>/dev/null || echo 0); echo $((n+1)) > /cache/n; "
        "echo cache-count=$((n+1))\n"
        "RUN --mount=type=bind,from=tools,source=/out,target=/tools \\\n"
        "    --mount=type=bind,source=input.txt,target=/input.txt \\\n"
        "    --mount=type=tmpfs,target=/scratch \\\n"
        "    cat /tools/tool.txt /input.txt > /result && grep -c ' /scratch ' /proc/mounts "
        ">> /result\n"
        "RUN --mount=type=bind,target=/ctx,rw echo scribbled > /ctx/input.txt\n"
        "COPY input.txt /copied.txt\n"
        "RUN --mount=type=secret,id=token,required \\\n"
        "    test \"$(cat /run/secrets/token)\" = s3cret && echo secret-ok > /secret-ok\n"
        "CMD for p in /cache /tools /input.txt /scratch /ctx /run/secrets; do "
        "test -e $p && echo $p is in the image; done; cat /result /copied.txt /secret-ok\n");
  auto first =
      berth({"build", "--secret", "id=token,src=" + path("token"), "-t", "mounts:1", path("ctx")});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("\ncache-count=1\n"), std::string::npos) << first.out;
  auto run = berth({"run", "mounts:1"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "from-stage\ninput\n1\ninput\nsecret-ok\n");

  auto second = berth({"build", "--no-cache", "--secret", "id=token,src=" + path("token"), "-t",
                       "mounts:2", path("ctx")});
  ASSERT_EQ(second.code, 0) << second.out << second.err;
  EXPECT_NE(second.out.find("\ncache-count=2\n"), std::string::npos) << second.out;

  auto no_secret = berth({"build", "--no-cache", "-t", "mounts:3", path("ctx")});
  EXPECT_NE(no_secret.code, 0);
  EXPECT_NE(no_secret.err.find("Dockerfile:13: secret 'token' is required: give it with --secret "
                               "id=token,src=FILE"),
            std::string::npos)
      << no_secret.err;
  auto leftovers = runCmd({"/bin/sh", "-c",
                           "ls " + path("berth/build") + " | wc -l; grep -c " + path("berth") +
                               " /proc/self/mountinfo"});
  EXPECT_EQ(leftovers.out, "0\n0\n");
}

// `builder prune` empties the build cache: the next build runs every step again, and a
// RUN --mount=type=cache directory starts empty. Through the Docker API too.
TEST_F(Build, BuilderPruneEmptiesTheLayerCacheAndTheCacheMounts) {
  write("Dockerfile", R"(FROM busybox:test
RUN --mount=type=cache,target=/cache,id=counter \
    n=$(cat /cache/n 2>/dev/null || echo 0); echo $((n+1)) > /cache/n; echo cache-count=$((n+1))
RUN echo step-ran > /step
)");
  const std::vector<std::string> build = {"build", "-t", "pruned:1", path("ctx")};
  auto fresh = berth(build);
  ASSERT_EQ(fresh.code, 0) << fresh.out << fresh.err;
  EXPECT_NE(fresh.out.find("\ncache-count=1\n"), std::string::npos) << fresh.out;
  auto cached = berth(build);
  ASSERT_EQ(cached.code, 0) << cached.err;
  EXPECT_EQ(cached.out.find("\ncache-count="), std::string::npos) << "a cache hit runs nothing";

  auto pruned = berth({"builder", "prune", "-f"});
  ASSERT_EQ(pruned.code, 0) << pruned.err;
  EXPECT_NE(pruned.out.find("Deleted build cache objects:"), std::string::npos) << pruned.out;
  EXPECT_EQ(runCmd({"/bin/sh", "-c", "ls " + path("berth/build-cache-mounts") + " | wc -l"}).out,
            "0\n");
  auto again = berth(build);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("\ncache-count=1\n"), std::string::npos)
      << "every step runs again, with an empty cache mount: " << again.out;

  // The Docker API's form, as `docker builder prune` and `docker system prune` send it.
  auto api = daemon_->curl("POST", "/v1.41/build/prune?all=1&keep-storage=0&filters=%7B%7D");
  EXPECT_EQ(api.code, 200) << api.out;
  EXPECT_NE(api.out.find("\"CachesDeleted\":["), std::string::npos) << api.out;
  auto keep = daemon_->curl("POST", "/v1.41/build/prune?keep-storage=1000000");
  EXPECT_EQ(keep.code, 400) << keep.out;
  EXPECT_NE(keep.out.find("keep-storage"), std::string::npos) << keep.out;
}

// ADD of a URL, from a web server on loopback: not unpacked, mode 0600, the Last-Modified
// time; cached while the content stays the same; --checksum checked; clear errors for a
// URL that cannot be fetched.
TEST_F(Build, AddUrl) {
  std::mutex mu;
  std::string content = "remote content\n";
  auto tar = runCmd({"/bin/sh", "-c",
                     "mkdir -p " + path("t") + " && echo inner > " + path("t/inner") +
                         " && tar -C " + path("t") + " -czf - inner"});
  ASSERT_EQ(tar.code, 0) << tar.err;
  api::test::TestWebServer server([&](const std::string& head) {
    std::lock_guard<std::mutex> lock(mu);
    if (head.starts_with("GET /file.txt "))
      return api::test::httpAnswer(200, "OK", content,
                                   {{"Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"}});
    if (head.starts_with("GET /files.tar.gz ")) return api::test::httpAnswer(200, "OK", tar.out);
    return api::test::httpAnswer(404, "Not Found", "");
  });
  ASSERT_NE(server.port(), 0);
  std::string base = server.base();
  std::string sha =
      runCmd({"/bin/sh", "-c", "printf 'remote content\\n' | sha256sum"}).out.substr(0, 64);
  write("Dockerfile",
        "FROM busybox:test\n"
        "ADD " +
            base +
            "/file.txt /downloads/\n"
            "ADD --checksum=sha256:" +
            sha + " " + base +
            "/file.txt /checked.txt\n"
            "ADD " +
            base +
            "/files.tar.gz /downloads/\n"
            "CMD cat /downloads/file.txt /checked.txt; stat -c '%a %Y %n' /downloads/file.txt; "
            "ls /downloads\n");
  auto first = berth({"build", "-t", "url:1", path("ctx")});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  auto run = berth({"run", "url:1"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out,
            "remote content\nremote content\n600 1445412480 /downloads/file.txt\nfile.txt\n"
            "files.tar.gz\n");

  auto second = berth({"build", "-t", "url:1", path("ctx")});
  ASSERT_EQ(second.code, 0) << second.out << second.err;
  EXPECT_EQ(count(second.out, "Using cache"), 3) << second.out;

  {
    std::lock_guard<std::mutex> lock(mu);
    content = "changed on the server\n";
  }
  auto changed = berth({"build", "-t", "url:2", path("ctx")});
  EXPECT_NE(changed.code, 0);
  EXPECT_NE(changed.err.find("Dockerfile:3: checksum of '" + base +
                             "/file.txt' does not match: expected sha256:" + sha),
            std::string::npos)
      << changed.err;

  write("Dockerfile", "FROM busybox:test\nADD " + base + "/missing.txt /\n");
  auto missing = berth({"build", "-t", "url:3", path("ctx")});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("Dockerfile:2: fetch '" + base +
                             "/missing.txt': the server answered 404 Not Found"),
            std::string::npos)
      << missing.err;
  api::test::RefusingPort closed;
  std::string unreachable = "http://127.0.0.1:" + std::to_string(closed.port()) + "/x";
  write("Dockerfile", "FROM busybox:test\nADD " + unreachable + " /x\n");
  auto refused = berth({"build", "-t", "url:3", path("ctx")});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("Dockerfile:2: fetch '" + unreachable + "'"), std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("connection refused"), std::string::npos) << refused.err;
  auto list = berth({"images"});
  EXPECT_EQ(list.out.find("url:2"), std::string::npos) << list.out;
}

// -f with a Dockerfile outside the context (and -f - from stdin): it builds, no COPY sees
// it, and errors name it.
TEST_F(Build, DockerfileOutsideTheContext) {
  write("keep.txt", "kept\n");
  write("ignored.txt", "x\n");
  write(".dockerignore", "ignored.txt\n");
  ASSERT_TRUE(sys::mkdirAll(path("elsewhere")).ok());
  std::ofstream(path("elsewhere/app.Dockerfile"))
      << "FROM busybox:test\nCOPY . /ctx/\nCMD ls -A /ctx\n";
  auto b = berth({"build", "-f", path("elsewhere/app.Dockerfile"), "-t", "outside:1", path("ctx")});
  ASSERT_EQ(b.code, 0) << b.out << b.err;
  auto run = berth({"run", "outside:1"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, ".dockerignore\nkeep.txt\n");

  auto piped = daemon_->berth({"build", "-f", "-", "-t", "outside:2", path("ctx")}, 300,
                              "FROM busybox:test\nCMD echo from stdin\n");
  ASSERT_EQ(piped.code, 0) << piped.out << piped.err;
  EXPECT_EQ(berth({"run", "outside:2"}).out, "from stdin\n");

  std::ofstream(path("elsewhere/app.Dockerfile")) << "FROM busybox:test\nRUNN typo\n";
  auto typo =
      berth({"build", "-f", path("elsewhere/app.Dockerfile"), "-t", "outside:3", path("ctx")});
  EXPECT_NE(typo.code, 0);
  EXPECT_NE(typo.err.find("app.Dockerfile:2: unknown instruction 'RUNN'"), std::string::npos)
      << typo.err;
}

}  // namespace
}  // namespace berth::test
