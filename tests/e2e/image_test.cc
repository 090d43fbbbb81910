// Images in and out of berth with the real tools: podman, skopeo. Each test has its own
// berth root and its own podman storage; nothing outside them is touched.

#include <ctime>
#include <fstream>
#include <thread>

#include "common/strings.h"
#include "e2e/daemon.h"
#include "support/harness.h"
#include "sys/fs.h"

namespace berth::test {
namespace {

class Images : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (HasFatalFailure()) return;
    dir_ = std::make_unique<TempDir>("berth-images");
    std::ofstream(dir_->path() + "/containers.conf")
        << "[containers]\ndefault_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]\n"
           "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n";
    auto mk = runCmd({BERTH_SOURCE_DIR "/scripts/busybox-rootfs.sh", path("rootfs")});
    ASSERT_EQ(mk.code, 0) << mk.err;
    auto tar =
        runCmd({"/bin/sh", "-c", "tar -C " + path("rootfs") + " -cf " + path("rootfs.tar") + " ."});
    ASSERT_EQ(tar.code, 0) << tar.err;
  }
  void TearDown() override {
    daemon_.reset();
    if (!dir_) return;
    podman({"rm", "--all", "--force"});
    runCmd({"/bin/sh", "-c",
            "grep -o ' " + dir_->path() +
                "[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l"});
    dir_.reset();
  }
  std::string path(const std::string& name) const { return dir_->path() + "/" + name; }

  CmdResult berth(const std::vector<std::string>& args) {
    return berthOnRoot(path("berth"), daemon_, args, 120);
  }
  CmdResult podman(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/podman",
                                     "--root",
                                     path("storage"),
                                     "--runroot",
                                     path("run"),
                                     "--tmpdir",
                                     path("tmp"),
                                     "--storage-driver",
                                     "vfs",
                                     "--cgroup-manager",
                                     "cgroupfs",
                                     "--events-backend",
                                     "file",
                                     "--runtime",
                                     runtimePath()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, "", 120, {"CONTAINERS_CONF=" + path("containers.conf")});
  }
  nlohmann::json inspect(const std::string& ref) {
    auto r = berth({"image", "inspect", ref});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.code == 0 ? nlohmann::json::parse(r.out)[0] : nlohmann::json();
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Daemon> daemon_;  // destroyed before dir_
};

TEST_F(Images, ImportSaveThenPodmanLoadsAndRunsIt) {
  auto imp =
      berth({"import", path("rootfs.tar"), "demo/busybox:1", "-c", "CMD [\"echo\", \"from-cmd\"]"});
  ASSERT_EQ(imp.code, 0) << imp.err;
  std::string id = imp.out.substr(0, imp.out.size() - 1);
  auto list = berth({"images"});
  EXPECT_NE(list.out.find("demo/busybox"), std::string::npos) << list.out;
  auto save = berth({"save", "-o", path("saved.tar"), "demo/busybox:1"});
  ASSERT_EQ(save.code, 0) << save.err;
  auto load = podman({"load", "-i", path("saved.tar")});
  ASSERT_EQ(load.code, 0) << load.err;
  // podman keeps our image id: the config went through byte for byte.
  auto pid = podman({"image", "inspect", "--format", "{{.Id}}", "demo/busybox:1"});
  EXPECT_EQ("sha256:" + pid.out.substr(0, pid.out.size() - 1), id);
  auto run = podman({"run", "--rm", "--network", "none", "demo/busybox:1"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "from-cmd\n");
  // The same image on berth prints the same.
  auto ours = berth({"run", "--rm", "demo/busybox:1"});
  EXPECT_EQ(ours.code, 0) << ours.err;
  EXPECT_EQ(ours.out, run.out);
}

TEST_F(Images, PodmanSaveLoadsIntoBerth) {
  ASSERT_EQ(podman({"import", path("rootfs.tar"), "localhost/from-podman:v1"}).code, 0);
  auto save = podman({"save", "-o", path("podman.tar"), "localhost/from-podman:v1"});
  ASSERT_EQ(save.code, 0) << save.err;
  auto load = berth({"load", "-i", path("podman.tar")});
  ASSERT_EQ(load.code, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded image: localhost/from-podman:v1\n");
  auto pid = podman({"image", "inspect", "--format", "{{.Id}}", "localhost/from-podman:v1"});
  EXPECT_EQ(inspect("localhost/from-podman:v1")["Id"],
            "sha256:" + pid.out.substr(0, pid.out.size() - 1));
  // And it runs on berth.
  auto run = berth({"run", "localhost/from-podman:v1", "sh", "-c", "echo runs-on-berth; exit 4"});
  EXPECT_EQ(run.out, "runs-on-berth\n");
  EXPECT_EQ(run.code, 4) << run.err;
}

// Two layers: the second deletes a file and empties a directory of the first (OCI
// whiteouts); the container must not see them, and an image sharing the base layer
// stores it once.
TEST_F(Images, WhiteoutsHideLowerFilesInTheContainer) {
  std::string script =
      "set -e; cd " + path("") +
      "; mkdir -p l1/etc/conf.d l2/etc/conf.d arch; "
      "cp -a rootfs/. l1/; echo secret > l1/etc/secret; echo old > l1/etc/conf.d/a; "
      "touch l2/etc/.wh.secret l2/etc/conf.d/.wh..wh..opq; echo new > l2/etc/conf.d/b; "
      "tar -C l1 -cf arch/l1.tar .; tar -C l2 -cf arch/l2.tar .; "
      "d1=sha256:$(sha256sum arch/l1.tar | cut -d' ' -f1); "
      "d2=sha256:$(sha256sum arch/l2.tar | cut -d' ' -f1); "
      "printf '{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},"
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}' $d1 $d2 > arch/config.json; "
      "printf '[{\"Config\":\"config.json\",\"RepoTags\":[\"layered:1\"],"
      "\"Layers\":[\"l1.tar\",\"l2.tar\"]}]' > arch/manifest.json; "
      "tar -C arch -cf layered.tar manifest.json config.json l1.tar l2.tar";
  auto mk = runCmd({"/bin/bash", "-c", script});
  ASSERT_EQ(mk.code, 0) << mk.err;
  auto load = berth({"load", "-i", path("layered.tar")});
  ASSERT_EQ(load.code, 0) << load.err;
  auto run = berth({"run", "layered:1", "sh", "-c",
                    "ls /etc/secret 2>&1 >/dev/null | grep -c 'No such file'; ls /etc/conf.d"});
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out, "1\nb\n");
  // The base layer is one snapshot, shared with a second image built on it.
  ASSERT_EQ(berth({"import", path("arch/l1.tar"), "base:1"}).code, 0);
  EXPECT_EQ(berth({"run", "base:1", "cat", "/etc/secret"}).out, "secret\n");
  auto snaps = runCmd({"/bin/sh", "-c", "ls " + path("berth/snapshots") + " | wc -l"});
  EXPECT_EQ(snaps.out, "2\n") << "base layer unpacked twice?";
}

TEST_F(Images, SkopeoOciArchiveGivesTheSameImage) {
  ASSERT_EQ(berth({"import", path("rootfs.tar"), "orig:1"}).code, 0);
  ASSERT_EQ(berth({"save", "-o", path("docker.tar"), "orig:1"}).code, 0);
  auto copy = runCmd({"/usr/bin/skopeo", "copy", "-q", "docker-archive:" + path("docker.tar"),
                      "oci-archive:" + path("oci.tar") + ":copied:2"});
  ASSERT_EQ(copy.code, 0) << copy.err;
  auto load = berth({"load", "-i", path("oci.tar")});
  ASSERT_EQ(load.code, 0) << load.err;
  EXPECT_EQ(load.out, "Loaded image: copied:2\n");
  nlohmann::json a = inspect("orig:1"), b = inspect("copied:2");
  // skopeo recompresses the layer (gzip) but the content is the same: same diff_ids,
  // same config.
  EXPECT_EQ(a["RootFS"], b["RootFS"]);
  EXPECT_EQ(a["Config"], b["Config"]);
  EXPECT_EQ(a["Created"], b["Created"]);
  // And our own OCI archive loads back as the very same image.
  ASSERT_EQ(berth({"save", "--format", "oci", "-o", path("ours.tar"), "orig:1"}).code, 0);
  ASSERT_EQ(berth({"rmi", "orig:1"}).code, 0);
  ASSERT_EQ(berth({"load", "-i", path("ours.tar")}).code, 0);
  EXPECT_EQ(inspect("orig:1")["Id"], a["Id"]);
}

TEST_F(Images, RmiRefusesAnImageARunningContainerUses) {
  ASSERT_EQ(berth({"import", path("rootfs.tar"), "busy:1"}).code, 0);
  ASSERT_EQ(daemon_->berth({"run", "-d", "--name", "user", "busy:1", "sleep", "30"}).code, 0);
  auto r = berth({"rmi", "busy:1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("conflict: unable to remove repository reference \"busy:1\" (must force) - "
                       "container "),
            std::string::npos)
      << r.err;
  // Not even by id with --force while it runs; the name stays.
  auto id = inspect("busy:1")["Id"].get<std::string>();
  auto forced = berth({"rmi", "-f", id});
  EXPECT_EQ(forced.code, 1);
  EXPECT_NE(forced.err.find("(cannot be forced) - image is being used by running container"),
            std::string::npos)
      << forced.err;
  EXPECT_EQ(inspect("busy:1")["Id"], id);
  // Once the container is gone the image can go.
  ASSERT_EQ(daemon_->berth({"rm", "-f", "user"}).code, 0);
  EXPECT_EQ(berth({"rmi", "busy:1"}).code, 0);
}

TEST_F(Images, TagRmiAndPrune) {
  int64_t t0 = static_cast<int64_t>(std::time(nullptr)) - 1;
  ASSERT_EQ(berth({"import", path("rootfs.tar"), "a:1"}).code, 0);
  ASSERT_EQ(berth({"tag", "a:1", "b:2"}).code, 0);
  std::string id = inspect("a:1")["Id"];
  auto refused = berth({"rmi", id});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("image is referenced in multiple repositories"), std::string::npos)
      << refused.err;
  auto r1 = berth({"rmi", "a:1"});
  EXPECT_EQ(r1.out, "Untagged: a:1\n");
  auto r2 = berth({"rmi", "b:2"});
  EXPECT_NE(r2.out.find("Deleted: sha256:"), std::string::npos);
  EXPECT_EQ(berth({"images", "-q"}).out, "");
  // The blobs went with the last image.
  auto blobs = runCmd({"/bin/sh", "-c", "ls " + path("berth/blobs/sha256") + " | wc -l"});
  EXPECT_EQ(blobs.out, "0\n");
  // Each change was an event.
  auto events = daemon_->curl("GET", "/v1/events?filter=type=image&since=" + std::to_string(t0) +
                                         "&until=" + std::to_string(std::time(nullptr) + 1));
  EXPECT_EQ(events.code, 200);
  std::vector<std::string> actions;
  for (const auto& line : split(events.out, '\n')) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    actions.push_back(j.value("action", "") + " " + j["attributes"].value("name", ""));
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"import a:1", "tag b:2", "untag a:1", "untag b:2",
                                               "delete " + id}));

  // Dangling images go with prune; tagged ones only with --all.
  ASSERT_EQ(berth({"import", path("rootfs.tar")}).code, 0);
  ASSERT_EQ(berth({"import", path("rootfs.tar"), "kept:1", "-m", "second"}).code, 0);
  EXPECT_EQ(berth({"images", "-q", "-f", "dangling=true"}).out.size(), 13u);
  auto pruned = berth({"image", "prune", "-f"});
  EXPECT_NE(pruned.out.find("deleted: sha256:"), std::string::npos) << pruned.out;
  EXPECT_EQ(berth({"images", "-q"}).out.size(), 13u);
  EXPECT_NE(berth({"history", "kept:1"}).out.find("berth import"), std::string::npos);
  auto all = berth({"image", "prune", "-a", "-f"});
  EXPECT_NE(all.out.find("untagged: kept:1"), std::string::npos) << all.out;
  EXPECT_EQ(berth({"images", "-q"}).out, "");
}

// Bad input: a precise error, a non-zero exit, no image and nothing outside the store.
TEST_F(Images, BadArchivesAreRefusedWholly) {
  // A tarball with a ../ entry.
  auto evil = runCmd({"/bin/sh", "-c",
                      "cd " + path("") +
                          " && mkdir -p x && echo pwned > escape.txt && "
                          "tar -C x -cf evil.tar --transform 's|^|../|' -P ../escape.txt"});
  ASSERT_EQ(evil.code, 0) << evil.err;
  auto imp = berth({"import", path("evil.tar"), "evil:1"});
  EXPECT_NE(imp.code, 0);
  EXPECT_NE(imp.err.find("escape.txt"), std::string::npos) << imp.err;
  // Not a tar at all, and a truncated gzip.
  { std::ofstream(path("junk.tar")) << "this is not an archive"; }
  EXPECT_NE(berth({"load", "-i", path("junk.tar")}).code, 0);
  runCmd({"/bin/sh", "-c",
          "gzip -c " + path("rootfs.tar") + " | head -c 20000 > " + path("cut.tar.gz")});
  auto cut = berth({"import", path("cut.tar.gz"), "cut:1"});
  EXPECT_NE(cut.code, 0);
  // A docker-archive whose layer does not match the config's diff_id.
  ASSERT_EQ(berth({"import", path("rootfs.tar"), "good:1"}).code, 0);
  ASSERT_EQ(berth({"save", "-o", path("good.tar"), "good:1"}).code, 0);
  auto tamper = runCmd({"/bin/sh", "-c",
                        "mkdir -p " + path("t") + " && tar -C " + path("t") + " -xf " +
                            path("good.tar") + " && for f in " + path("t") +
                            "/*/layer.tar; do echo extra >> $f; done && "
                            "tar -C " +
                            path("t") + " -cf " + path("bad.tar") + " ."});
  ASSERT_EQ(tamper.code, 0) << tamper.err;
  ASSERT_EQ(berth({"rmi", "good:1"}).code, 0);
  auto bad = berth({"load", "-i", path("bad.tar")});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("does not match its diff_id"), std::string::npos) << bad.err;
  EXPECT_EQ(berth({"images", "-q"}).out, "") << "a refused archive left an image";
  // Through the API: the same refusals are 400s, and a change that cannot be applied is
  // refused before the body is read.
  auto junk = daemon_->upload("/v1/images/load", path("junk.tar"));
  EXPECT_EQ(junk.code, 400) << junk.out;
  auto change = daemon_->upload("/v1/images/import?name=x:1&change=FROB%20x", path("rootfs.tar"));
  EXPECT_EQ(change.code, 400) << change.out;
  EXPECT_NE(change.out.find("FROB"), std::string::npos) << change.out;
  auto unknown = berth({"save", "-o", path("none.tar"), "nope:1"});
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("no such image: 'nope:1'"), std::string::npos) << unknown.err;
  EXPECT_FALSE(sys::exists(path("none.tar")));
}

// A load in progress holds no lock that container creation needs: with a load stalled in
// the middle of its body, a container is created, runs and goes; then the load completes.
TEST_F(Images, ContainersRunWhileALoadIsInFlight) {
  ASSERT_EQ(berth({"import", path("rootfs.tar"), "busy:1"}).code, 0);
  ASSERT_EQ(berth({"save", "-o", path("busy.tar"), "busy:1"}).code, 0);
  ASSERT_EQ(berth({"rmi", "busy:1"}).code, 0);
  ASSERT_EQ(berth({"import", path("rootfs.tar"), "other:1", "-c", "ENV OTHER=1"}).code, 0);
  // The body's first MB goes at once, the rest when the file `go` appears.
  std::string feed = "{ head -c 1000000 " + path("busy.tar") + "; while [ ! -e " + path("go") +
                     " ]; do sleep 0.05; done; tail -c +1000001 " + path("busy.tar") + "; } | " +
                     "BERTH_HOST=unix://" + daemon_->socket() + " " + BERTH_CLI + " load > " +
                     path("load.out") + " 2>/dev/null; echo $? > " + path("load.rc");
  CmdResult loaded;
  std::thread loader([&] { loaded = runCmd({"/bin/bash", "-c", feed}, "", 120); });
  // Detached, then wait and logs: what is tested is creation and start, not attach.
  auto run = daemon_->berth({"run", "-d", "--name", "meanwhile", "other:1", "echo", "ran"});
  auto waited = daemon_->berth({"wait", "meanwhile"});
  auto logs = daemon_->berth({"logs", "meanwhile"});
  runCmd({"touch", path("go")});
  loader.join();
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(waited.out, "0\n") << waited.err;
  EXPECT_EQ(logs.out, "ran\n") << logs.err;
  EXPECT_EQ(daemon_->berth({"rm", "meanwhile"}).code, 0);
  EXPECT_EQ(runCmd({"cat", path("load.rc")}).out, "0\n") << runCmd({"cat", path("load.out")}).out;
  EXPECT_EQ(runCmd({"cat", path("load.out")}).out, "Loaded image: busy:1\n");
}

// A kill -9 of the daemon at any point of a load leaves either no image or a whole one,
// and the next load and a prune clean up after it.
TEST_F(Images, KillDuringLoadLeavesOldOrNewState) {
  std::string script = "set -e; cd " + path("") +
                       "; mkdir -p big/data; cp -a rootfs/. big/; "
                       "head -c 40000000 /dev/urandom > big/data/blob; "
                       "tar -C big -cf big.tar .";
  ASSERT_EQ(runCmd({"/bin/bash", "-c", script}).code, 0);
  ASSERT_EQ(berth({"import", path("big.tar"), "big:1"}).code, 0);
  ASSERT_EQ(berth({"save", "-o", path("big-archive.tar"), "big:1"}).code, 0);
  for (int delay_ms : {20, 80, 160, 320}) {
    (void)berth({"rmi", "big:1"});  // may be absent after the previous round
    auto prune = berth({"image", "prune", "-f"});
    ASSERT_EQ(prune.code, 0) << prune.err;
    std::string cmd = "BERTH_HOST=unix://" + daemon_->socket() + " " + BERTH_CLI + " load -q -i " +
                      path("big-archive.tar") + " & sleep " + std::to_string(delay_ms / 1000.0) +
                      "; true";
    runCmd({"/bin/bash", "-c", cmd});
    daemon_->kill9();
    daemon_->start();
    auto list = berth({"images", "-q"});
    ASSERT_EQ(list.code, 0) << list.err;
    if (!list.out.empty()) {
      // The whole image is there: it runs.
      auto run = berth({"run", "big:1", "sh", "-c", "wc -c < /data/blob"});
      EXPECT_EQ(run.out, "40000000\n") << "after a kill at " << delay_ms << " ms: " << run.err;
    }
    // Whatever state it left, loading again works.
    auto again = berth({"load", "-q", "-i", path("big-archive.tar")});
    EXPECT_EQ(again.code, 0) << "after a kill at " << delay_ms << " ms: " << again.err;
  }
}

}  // namespace
}  // namespace berth::test
