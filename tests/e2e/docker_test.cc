// The Docker API as its real clients use it (issue 6): Debian's docker CLI (20.10) and the
// docker 28 CLI, docker-py and docker-compose, each against a berthd of the test's own
// (DOCKER_HOST on its socket; dockerd is never involved).

#include <unistd.h>

#include <fstream>

#include "common/strings.h"
#include "e2e/daemon.h"

namespace berth::test {
namespace {

const char* kDebianDocker = "/usr/bin/docker";     // docker.io 20.10
const char* kNewDocker = "/usr/local/bin/docker";  // docker 28, where the machine has it

const char* kHttpd =
    "mkdir -p /www && echo \"page of $(hostname)\" > /www/index.html && "
    "exec httpd -f -p 80 -h /www";

class DockerClients : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_EQ(::access(kDebianDocker, X_OK), 0) << "Debian's docker.io client is missing";
    d_ = std::make_unique<Daemon>();
    work_ = std::make_unique<TempDir>("docker-e2e");
  }
  void TearDown() override { d_.reset(); }

  std::vector<std::string> env() const {
    return {"DOCKER_HOST=unix://" + d_->socket(), "DOCKER_CONFIG=" + work_->path() + "/config",
            "DOCKER_BUILDKIT=0", "HOME=" + work_->path()};
  }
  // `docker ARGS…` with the given client.
  CmdResult docker(const std::vector<std::string>& args, const std::string& client = kDebianDocker,
                   const std::string& input = "", int timeout = 60) const {
    std::vector<std::string> argv = {client};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, input, timeout, env());
  }
  // A shell line with the clients' environment (pipes, script(1) for a pty).
  CmdResult sh(const std::string& line, int timeout = 60) const {
    return runCmd({"/bin/sh", "-c", line}, "", timeout, env());
  }
  std::vector<std::string> clients() const {
    std::vector<std::string> out = {kDebianDocker};
    if (::access(kNewDocker, X_OK) == 0) out.push_back(kNewDocker);
    return out;
  }
  std::string file(const std::string& name, const std::string& text) const {
    std::string p = work_->path() + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  static CmdResult curl(const std::string& url) {
    return runCmd({"curl", "-s", "--max-time", "5", url}, "", 15);
  }

  std::unique_ptr<Daemon> d_;
  std::unique_ptr<TempDir> work_;
};

TEST_F(DockerClients, BothClientsNegotiateRunAndLeaveNothingBehind) {
  for (const auto& client : clients()) {
    SCOPED_TRACE(client);
    auto v = docker({"version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}"}, client);
    EXPECT_EQ(v.code, 0) << v.err;
    EXPECT_EQ(v.out, "1.41 linux\n");
    auto info = docker({"info", "--format", "{{.OSType}} {{.Driver}} {{.Containers}}"}, client);
    EXPECT_EQ(info.code, 0) << info.err;
    EXPECT_EQ(info.out, "linux overlay2 0\n");
    auto hi = docker({"run", "--rm", "busybox", "echo", "hi"}, client);
    EXPECT_EQ(hi.code, 0) << hi.err;
    EXPECT_EQ(hi.out, "hi\n");
    auto both =
        docker({"run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 7"}, client);
    EXPECT_EQ(both.code, 7);
    EXPECT_EQ(both.out, "out\n");
    EXPECT_EQ(both.err, "err\n");
    EXPECT_EQ(docker({"ps", "-aq"}, client).out, "");  // --rm: the daemon removed them
    // stdin reaches the container and its end closes it.
    auto cat =
        docker({"run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo done"}, client, "piped\n");
    EXPECT_EQ(cat.out, "piped\ndone\n") << cat.err;
  }
}

TEST_F(DockerClients, DetachedWebServerThroughItsWholeLife) {
  auto run =
      docker({"run", "-d", "-p", "18480:80", "--name", "web", "busybox", "sh", "-c", kHttpd});
  ASSERT_EQ(run.code, 0) << run.err;
  std::string id = std::string(trim(run.out));
  EXPECT_EQ(id.size(), 64u);
  ASSERT_TRUE(
      eventually([] { return curl("http://127.0.0.1:18480/").out.starts_with("page of"); }));
  auto ps = docker({"ps", "--format", "{{.Names}}|{{.Status}}|{{.Ports}}|{{.Command}}"});
  EXPECT_TRUE(ps.out.starts_with("web|Up ")) << ps.out;
  EXPECT_NE(ps.out.find("|0.0.0.0:18480->80/tcp|"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("|\"sh -c mkdir -p /www"), std::string::npos) << ps.out;  // as dockerd
  EXPECT_EQ(docker({"port", "web"}).out, "80/tcp -> 0.0.0.0:18480\n");
  auto inspect =
      docker({"inspect", "-f",
              "{{.State.Status}} {{.Name}} {{.Config.Image}} {{.HostConfig.NetworkMode}} "
              "{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}",
              "web"});
  EXPECT_EQ(inspect.out, "running /web busybox bridge 18480\n") << inspect.err;
  auto ip = docker({"inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web"});
  EXPECT_EQ(curl("http://" + std::string(trim(ip.out)) + "/").out.rfind("page of", 0), 0u);
  auto exec = docker({"exec", "web", "sh", "-c", "echo in-exec; exit 3"});
  EXPECT_EQ(exec.code, 3);
  EXPECT_EQ(exec.out, "in-exec\n");
  auto top = docker({"top", "web"});
  EXPECT_NE(top.out.find("httpd -f -p 80"), std::string::npos) << top.out << top.err;
  auto stats = docker({"stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"});
  EXPECT_EQ(stats.out, "web 1\n") << stats.err;
  EXPECT_EQ(docker({"pause", "web"}).code, 0);
  EXPECT_NE(docker({"ps", "--format", "{{.Status}}"}).out.find("(Paused)"), std::string::npos);
  EXPECT_EQ(docker({"unpause", "web"}).code, 0);
  EXPECT_EQ(docker({"rename", "web", "web2"}).code, 0);
  EXPECT_EQ(docker({"stop", "-t", "1", "web2"}).out, "web2\n");
  auto exited = docker({"ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}"});
  EXPECT_EQ(exited.out, "web2\n");
  // wait answers the exit code of a stopped container at once.
  auto wait = docker({"wait", "web2"});
  EXPECT_EQ(wait.code, 0);
  EXPECT_FALSE(trim(wait.out).empty());
  EXPECT_EQ(docker({"start", "web2"}).code, 0);
  ASSERT_TRUE(
      eventually([] { return curl("http://127.0.0.1:18480/").out.starts_with("page of"); }));
  EXPECT_EQ(docker({"rm", "-f", "web2"}).code, 0);
  EXPECT_EQ(docker({"ps", "-aq"}).out, "");
  EXPECT_NE(curl("http://127.0.0.1:18480/").code, 0);
}

TEST_F(DockerClients, LogsFollowWaitAndExitCodes) {
  auto run = docker({"run", "-d", "--name", "counter", "busybox", "sh", "-c",
                     "for i in 1 2 3; do echo line $i; sleep 0.2; done; echo oops >&2; exit 4"});
  ASSERT_EQ(run.code, 0) << run.err;
  auto follow = docker({"logs", "-f", "counter"}, kDebianDocker, "", 30);
  EXPECT_EQ(follow.code, 0);
  EXPECT_EQ(follow.out, "line 1\nline 2\nline 3\n");
  EXPECT_EQ(follow.err, "oops\n");
  EXPECT_EQ(docker({"wait", "counter"}).out, "4\n");
  EXPECT_EQ(docker({"logs", "--tail", "1", "counter"}).out, "");  // the last line is stderr's
  auto ts = docker({"logs", "-t", "counter"});
  EXPECT_TRUE(ts.out.starts_with("20")) << ts.out;  // an RFC 3339 time first
  EXPECT_EQ(docker({"inspect", "-f", "{{.State.ExitCode}}", "counter"}).out, "4\n");
}

TEST_F(DockerClients, InteractiveTerminalsForRunAndExec) {
  for (const auto& client : clients()) {
    SCOPED_TRACE(client);
    auto it = sh("printf 'echo tty=$(tty); exit 5\\n' | script -qec '" + client +
                 " run -it --rm busybox sh' /dev/null");
    EXPECT_EQ(it.code, 5) << it.out << it.err;
    EXPECT_NE(it.out.find("tty=/dev/pts/0"), std::string::npos) << it.out;
  }
  ASSERT_EQ(docker({"run", "-d", "--name", "box", "busybox", "sleep", "60"}).code, 0);
  auto exec = sh("printf 'echo in=$(tty); exit 6\\n' | script -qec '" + std::string(kDebianDocker) +
                 " exec -it box sh' /dev/null");
  EXPECT_EQ(exec.code, 6) << exec.out << exec.err;
  EXPECT_NE(exec.out.find("in=/dev/pts/"), std::string::npos) << exec.out;
}

TEST_F(DockerClients, CopyInAndOut) {
  ASSERT_EQ(docker({"run", "-d", "--name", "box", "busybox", "sleep", "60"}).code, 0);
  std::string in = file("greeting.txt", "hello from the host\n");
  auto cp_in = docker({"cp", in, "box:/tmp/"});
  ASSERT_EQ(cp_in.code, 0) << cp_in.err;
  EXPECT_EQ(docker({"exec", "box", "cat", "/tmp/greeting.txt"}).out, "hello from the host\n");
  ASSERT_EQ(docker({"exec", "box", "sh", "-c", "mkdir -p /out/d && echo x > /out/d/f"}).code, 0);
  auto cp_out = docker({"cp", "box:/out/d", work_->path() + "/copied"});
  ASSERT_EQ(cp_out.code, 0) << cp_out.err;
  std::ifstream f(work_->path() + "/copied/f");
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line, "x");
  // diff and export read the same root.
  auto diff = docker({"diff", "box"});
  EXPECT_NE(diff.out.find("A /tmp/greeting.txt\n"), std::string::npos) << diff.out << diff.err;
  EXPECT_NE(diff.out.find("A /out/d/f\n"), std::string::npos) << diff.out;
  auto exported = sh(std::string(kDebianDocker) + " export box | tar -t");
  EXPECT_EQ(exported.code, 0) << exported.err;
  EXPECT_NE(exported.out.find("out/d/f\n"), std::string::npos);
  EXPECT_NE(exported.out.find("bin/busybox\n"), std::string::npos);
  auto df = docker({"system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}"});
  EXPECT_NE(df.out.find("Containers 1 1\n"), std::string::npos) << df.out << df.err;
  EXPECT_NE(df.out.find("Images 1 1\n"), std::string::npos) << df.out;
  auto missing = docker({"cp", "box:/nope", work_->path()});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("/nope"), std::string::npos) << missing.err;
  // system prune ends with the build cache (/build/prune): it must answer, or the CLI fails
  // after pruning everything else. The running box and its image stay.
  auto prune = docker({"system", "prune", "-f"});
  EXPECT_EQ(prune.code, 0) << prune.out << prune.err;
  EXPECT_NE(prune.out.find("Total reclaimed space"), std::string::npos) << prune.out;
  EXPECT_NE(docker({"ps", "-q"}).out, "");
  EXPECT_EQ(docker({"builder", "prune", "-f"}).code, 0);
}

TEST_F(DockerClients, UserNetworksAndVolumes) {
  auto net = docker({"network", "create", "appnet"});
  ASSERT_EQ(net.code, 0) << net.err;
  EXPECT_NE(
      docker({"network", "ls", "--format", "{{.Name}} {{.Driver}}"}).out.find("appnet bridge"),
      std::string::npos);
  ASSERT_EQ(
      docker({"run", "-d", "--name", "api", "--network", "appnet", "busybox", "sh", "-c", kHttpd})
          .code,
      0);
  // A container on another user network joins this one while it runs (as in docker, a
  // container of the default bridge keeps the host's resolvers: no names there).
  ASSERT_EQ(docker({"network", "create", "othernet"}).code, 0);
  ASSERT_EQ(
      docker({"run", "-d", "--name", "client", "--network", "othernet", "busybox", "sleep", "60"})
          .code,
      0);
  EXPECT_NE(docker({"exec", "client", "wget", "-qO-", "http://api/"}).code, 0);
  ASSERT_EQ(docker({"network", "connect", "appnet", "client"}).code, 0);
  ASSERT_TRUE(eventually([&] {
    return docker({"exec", "client", "wget", "-qO-", "http://api/"}).out.starts_with("page of");
  }));
  auto members = docker({"network", "inspect", "-f", "{{len .Containers}}", "appnet"});
  EXPECT_EQ(members.out, "2\n");
  EXPECT_EQ(docker({"network", "disconnect", "appnet", "client"}).code, 0);
  EXPECT_NE(docker({"network", "rm", "appnet"}).code, 0);  // api still uses it
  EXPECT_EQ(docker({"rm", "-f", "api", "client"}).code, 0);
  EXPECT_EQ(docker({"network", "rm", "appnet", "othernet"}).code, 0);

  ASSERT_EQ(docker({"volume", "create", "--label", "k=v", "data"}).out, "data\n");
  EXPECT_EQ(docker({"volume", "ls", "--filter", "label=k=v", "--format", "{{.Name}}"}).out,
            "data\n");
  auto write =
      docker({"run", "--rm", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f"});
  EXPECT_EQ(write.code, 0) << write.err;
  EXPECT_EQ(docker({"run", "--rm", "-v", "data:/data:ro", "busybox", "cat", "/data/f"}).out,
            "kept\n");
  EXPECT_EQ(docker({"volume", "rm", "data"}).code, 0);
  EXPECT_EQ(docker({"volume", "ls", "-q"}).out, "");
}

TEST_F(DockerClients, ImagesBuildLoadSaveImportTagRmi) {
  std::string ctx = work_->path() + "/ctx";
  ASSERT_EQ(::mkdir(ctx.c_str(), 0755), 0);
  file("ctx/Dockerfile",
       "FROM busybox\nCOPY msg.txt /msg.txt\nRUN echo built > /built\nCMD [\"cat\", \"/msg.txt\", "
       "\"/built\"]\n");
  file("ctx/msg.txt", "from the context\n");
  for (const auto& client : clients()) {
    SCOPED_TRACE(client);
    auto build = docker({"build", "-t", "app:1", ctx}, client, "", 120);
    ASSERT_EQ(build.code, 0) << build.out << build.err;
    EXPECT_NE(build.out.find("Step 1/4 : FROM busybox"), std::string::npos) << build.out;
    EXPECT_NE(build.out.find("Successfully tagged app:1"), std::string::npos) << build.out;
    EXPECT_EQ(docker({"run", "--rm", "app:1"}, client).out, "from the context\nbuilt\n");
  }
  auto bad = docker(
      {"build", "-t", "bad", "-f", file("Bad.dockerfile", "FROM busybox\nRUN false\n"), ctx});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE((bad.out + bad.err).find("returned a non-zero code: 1"), std::string::npos)
      << bad.out << bad.err;

  EXPECT_EQ(docker({"tag", "app:1", "app:copy"}).code, 0);
  auto images = docker({"images", "--format", "{{.Repository}}:{{.Tag}}"});
  EXPECT_NE(images.out.find("app:1\n"), std::string::npos) << images.out;
  EXPECT_NE(images.out.find("app:copy\n"), std::string::npos);
  EXPECT_NE(images.out.find("busybox:latest\n"), std::string::npos);
  auto history = docker({"history", "--format", "{{.CreatedBy}}", "app:1"});
  EXPECT_NE(history.out.find("echo built"), std::string::npos) << history.out;

  std::string tar = work_->path() + "/app.tar";
  auto save = docker({"save", "-o", tar, "app:1"});
  ASSERT_EQ(save.code, 0) << save.err;
  EXPECT_EQ(docker({"rmi", "app:1", "app:copy"}).code, 0);
  EXPECT_NE(docker({"image", "inspect", "app:1"}).code, 0);
  auto load = docker({"load", "-i", tar});
  EXPECT_EQ(load.code, 0) << load.err;
  EXPECT_NE(load.out.find("Loaded image: app:1"), std::string::npos) << load.out;
  EXPECT_EQ(docker({"run", "--rm", "app:1"}).out, "from the context\nbuilt\n");

  // import: a root filesystem tarball with a CMD, the tag inside the repo parameter.
  std::string rootfs = work_->path() + "/rootfs.tar";
  auto exported = docker({"create", "--name", "src", "busybox"});
  ASSERT_EQ(exported.code, 0);
  auto cp = sh(std::string(kDebianDocker) + " cp src:/ - > " + rootfs);
  ASSERT_EQ(cp.code, 0) << cp.err;
  auto imported = docker({"import", "--change", "CMD [\"echo\", \"imported\"]", rootfs, "mine:2"});
  ASSERT_EQ(imported.code, 0) << imported.err;
  EXPECT_TRUE(imported.out.starts_with("sha256:")) << imported.out;
  EXPECT_EQ(docker({"run", "--rm", "mine:2"}).out, "imported\n");
}

TEST_F(DockerClients, EventsStream) {
  auto since = std::to_string(::time(nullptr) - 1);
  ASSERT_EQ(docker({"run", "--rm", "--name", "ev", "busybox", "true"}).code, 0);
  auto until = std::to_string(::time(nullptr) + 1);
  auto ev = docker({"events", "--since", since, "--until", until, "--filter", "container=ev",
                    "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"});
  EXPECT_EQ(ev.code, 0) << ev.err;
  for (const char* action : {"create", "start", "die", "destroy"})
    EXPECT_NE(ev.out.find(std::string("container ") + action + " ev\n"), std::string::npos)
        << ev.out;
}

TEST_F(DockerClients, BadInputGetsDockersErrorsAndLeavesNothing) {
  auto priv = docker({"run", "--rm", "--privileged", "busybox", "true"});
  EXPECT_EQ(priv.code, 125);
  EXPECT_NE(priv.err.find("Privileged"), std::string::npos) << priv.err;
  auto unknown = docker({"run", "--rm", "no-such-image:9", "true"});
  EXPECT_EQ(unknown.code, 125);
  EXPECT_NE(unknown.err.find("Unable to find image"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("berth pulls from no registry"), std::string::npos) << unknown.err;
  ASSERT_EQ(docker({"run", "-d", "-p", "18481:80", "--name", "a", "busybox", "sleep", "60"}).code,
            0);
  auto clash = docker({"run", "-d", "-p", "18481:80", "--name", "b", "busybox", "sleep", "60"});
  EXPECT_EQ(clash.code, 125);
  EXPECT_NE(clash.err.find("18481"), std::string::npos) << clash.err;
  // As with dockerd, the create succeeded and the start failed: b stays created, with no
  // port, address or interface of its own.
  EXPECT_EQ(docker({"ps", "-aq", "--filter", "status=running"}).out.size(), 13u);
  EXPECT_EQ(
      docker({"ps", "-a", "--filter", "status=created", "--format", "{{.Names}} {{.Ports}}"}).out,
      "b \n");
  EXPECT_EQ(docker({"rm", "b"}).code, 0);
  auto rm_running = docker({"rm", "a"});
  EXPECT_EQ(rm_running.code, 1);
  EXPECT_NE(rm_running.err.find("Stop the container"), std::string::npos) << rm_running.err;
  EXPECT_EQ(docker({"inspect", "nothing-here"}).code, 1);

  // Straight at the socket: unknown paths, versions too new, malformed bodies.
  auto page = d_->curl("GET", "/v1.41/no/such/endpoint");
  EXPECT_EQ(page.code, 404);
  EXPECT_NE(page.out.find("\"message\""), std::string::npos);
  auto newer = d_->curl("GET", "/v1.99/containers/json");
  EXPECT_EQ(newer.code, 400);
  EXPECT_NE(newer.out.find("Maximum supported API version is 1.41"), std::string::npos);
  auto malformed = d_->curl("POST", "/v1.41/containers/create", "{\"Image\": ");
  EXPECT_EQ(malformed.code, 400);
  auto wrong_type =
      d_->curl("POST", "/v1.41/containers/create", "{\"Image\":\"busybox\",\"Cmd\":5}");
  EXPECT_EQ(wrong_type.code, 400);
  EXPECT_NE(wrong_type.out.find("Cmd"), std::string::npos) << wrong_type.out;
  auto buildkit = d_->curl("POST", "/v1.41/build?version=2");
  EXPECT_EQ(buildkit.code, 400);
  EXPECT_NE(buildkit.out.find("DOCKER_BUILDKIT=0"), std::string::npos);
  auto swarm = d_->curl("GET", "/v1.41/services");
  EXPECT_EQ(swarm.code, 404);
  auto bad_filter = d_->curl("GET", "/v1.41/containers/json?filters=%7Bnope");
  EXPECT_EQ(bad_filter.code, 400);
  // Nothing was made by any of it: one container, the one that runs.
  EXPECT_EQ(docker({"ps", "-aq"}).out.size(), 13u);
}

TEST_F(DockerClients, DockerPy) {
  std::string script = file("client.py", R"PY(
import io, sys, tarfile, docker
c = docker.DockerClient(base_url=sys.argv[1])
assert c.ping()
out = c.containers.run("busybox", ["sh", "-c", "echo py-run"], remove=True)
assert out == b"py-run\n", out
net = c.networks.create("pynet", driver="bridge")
vol = c.volumes.create("pyvol")
web = c.containers.run("busybox", ["sh", "-c", "echo started; exec sleep 60"], detach=True,
                       name="pyweb", network="pynet", volumes={"pyvol": {"bind": "/data", "mode": "rw"}})
created = c.containers.create("busybox", ["true"], name="pycreated")
net2 = c.networks.create("pynet2")
other = c.containers.run("busybox", ["sleep", "60"], detach=True, name="pyother", network="pynet2")
net.connect(other)
assert "pyweb" in [x.name for x in c.containers.list()]
assert c.containers.get("pyweb").status == "running"
code, output = web.exec_run(["sh", "-c", "echo exec-out; echo data > /data/f"])
assert code == 0 and output == b"exec-out\n", (code, output)
rc, output = other.exec_run(["sh", "-c", "ping -c1 -W2 pyweb >/dev/null && echo reachable"])
assert output == b"reachable\n", (rc, output)
assert b"started" in web.logs()
web.stop(timeout=1)
web.reload()
assert web.status == "exited", web.status
web.remove()
created.remove()
other.remove(force=True)
net.remove()
net2.remove()
vol.remove()
imgs = [t for i in c.images.list() for t in i.tags]
assert "busybox:latest" in imgs, imgs
img = c.images.get("busybox")
data = b"".join(img.save())
loaded = c.images.load(data)
assert loaded and "busybox:latest" in loaded[0].tags, loaded
ctx = io.BytesIO()
with tarfile.open(fileobj=ctx, mode="w") as t:
    df = b"FROM busybox\nRUN echo py > /py\nCMD [\"cat\", \"/py\"]\n"
    info = tarfile.TarInfo("Dockerfile"); info.size = len(df)
    t.addfile(info, io.BytesIO(df))
ctx.seek(0)
built, logs = c.images.build(fileobj=ctx, custom_context=True, tag="pybuilt:1")
assert c.containers.run("pybuilt:1", remove=True) == b"py\n"
print("docker-py ok")
)PY");
  auto r =
      runCmd({"python3", script, "unix://" + d_->socket()}, "", 180, {"HOME=" + work_->path()});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "docker-py ok\n") << r.err;
}

TEST_F(DockerClients, ComposeUpPsLogsExecDown) {
  std::string dir = work_->path() + "/proj";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  file("proj/docker-compose.yml", R"YML(version: "3.8"
services:
  api:
    image: busybox
    command: sh -c 'mkdir -p /www && echo "api answers" > /www/index.html && echo api up && exec httpd -f -p 80 -h /www'
    networks: [front]
    volumes: [data:/data]
  web:
    image: busybox
    command: sh -c 'echo web up; exec httpd -f -p 80 -h /data'
    networks: [front]
    volumes: [data:/data]
    ports: ["18482:80"]
networks:
  front:
volumes:
  data:
)YML");
  auto compose = [&](const std::string& args, int timeout = 120) {
    return sh("cd " + dir + " && docker-compose -p proj " + args, timeout);
  };
  auto up = compose("up -d");
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  auto ps = compose("ps");
  EXPECT_NE(ps.out.find("proj_api_1"), std::string::npos) << ps.out << ps.err;
  EXPECT_NE(ps.out.find("proj_web_1"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("0.0.0.0:18482->80/tcp"), std::string::npos) << ps.out;
  // The parts find each other by service name on the project's network.
  ASSERT_TRUE(eventually(
      [&] { return compose("exec -T web wget -qO- http://api/").out == "api answers\n"; }));
  // The named volume is shared: web serves what api's container writes into it.
  EXPECT_EQ(compose("exec -T api sh -c 'echo shared > /data/index.html'").code, 0);
  EXPECT_TRUE(eventually([] { return curl("http://127.0.0.1:18482/").out == "shared\n"; }));
  auto logs = compose("logs --no-color");
  EXPECT_NE(logs.out.find("api up"), std::string::npos) << logs.out << logs.err;
  EXPECT_NE(logs.out.find("web up"), std::string::npos) << logs.out;
  auto down = compose("down -v");
  EXPECT_EQ(down.code, 0) << down.out << down.err;
  EXPECT_EQ(docker({"ps", "-aq"}).out, "");
  EXPECT_EQ(docker({"volume", "ls", "-q"}).out, "");
  EXPECT_EQ(docker({"network", "ls", "-q", "--filter", "name=proj"}).out, "");
}

}  // namespace
}  // namespace berth::test
