// The command line's pure parts: flag parsing, the create body, frames, tables.

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <map>

#include "cli/berth/format.h"
#include "cli/berth/frames.h"
#include "cli/berth/run_options.h"

namespace berth::cli {
namespace {

using nlohmann::json;

constexpr int64_t kSecond = 1000000000;

TEST(ParseCpus, NanoCpus) {
  EXPECT_EQ(*parseCpus("1.5"), 1500000000);
  EXPECT_EQ(*parseCpus("0.25"), 250000000);
  EXPECT_EQ(*parseCpus("2"), 2000000000);
  for (const char* bad : {"", "abc", "1.5x", "-1"}) EXPECT_FALSE(parseCpus(bad).ok()) << bad;
}

TEST(ParseVolume, BindVolumeAndAnonymous) {
  EXPECT_EQ(*parseVolume("/host:/data"), (json{{"type", "bind"},
                                               {"source", "/host"},
                                               {"target", "/data"},
                                               {"read_only", false},
                                               {"tmpfs_size", 0}}));
  auto ro = *parseVolume("/host:/data:ro");
  EXPECT_TRUE(ro["read_only"].get<bool>());
  auto vol = *parseVolume("cache:/var/cache");
  EXPECT_EQ(vol["type"], "volume");
  EXPECT_EQ(vol["source"], "cache");
  auto anon = *parseVolume("/data");
  EXPECT_EQ(anon["type"], "volume");
  EXPECT_EQ(anon["source"], "");
  EXPECT_EQ(anon["target"], "/data");
}

TEST(ParseVolume, RefusesRelativePathsAndUnknownOptions) {
  EXPECT_FALSE(parseVolume("./dir:/data").ok());
  EXPECT_FALSE(parseVolume("/host:data").ok());
  EXPECT_FALSE(parseVolume("/host:/data:rx").ok());
  EXPECT_FALSE(parseVolume("a:/b:ro:x").ok());
  EXPECT_FALSE(parseVolume(":/data").ok());
  EXPECT_NE(parseVolume("./dir:/data").error().message().find("absolute path"), std::string::npos);
}

TEST(ParseMount, Types) {
  auto bind = *parseMount("type=bind,source=/a,target=/b,readonly");
  EXPECT_EQ(bind["type"], "bind");
  EXPECT_EQ(bind["source"], "/a");
  EXPECT_EQ(bind["target"], "/b");
  EXPECT_TRUE(bind["read_only"].get<bool>());
  auto vol = *parseMount("src=v,dst=/d");  // type defaults to volume
  EXPECT_EQ(vol["type"], "volume");
  EXPECT_EQ(vol["source"], "v");
  EXPECT_FALSE(vol["read_only"].get<bool>());
  auto tmp = *parseMount("type=tmpfs,destination=/t,tmpfs-size=64m,ro=false");
  EXPECT_EQ(tmp["tmpfs_size"], 64 * 1024 * 1024);
  EXPECT_FALSE(tmp["read_only"].get<bool>());
}

TEST(ParseMount, Refuses) {
  for (const char* bad :
       {"type=bind,target=/b", "type=bind,source=rel,target=/b",
        "type=volume,source=/abs,target=/b", "type=tmpfs,source=x,target=/t", "type=nfs,target=/t",
        "source=v",
        "type=bind,source=/a,"
        "target=/b,colour=red",
        "type=volume,target=/b,tmpfs-size=1m", "type=bind,source=/a,target=/b,readonly=maybe"})
    EXPECT_FALSE(parseMount(bad).ok()) << bad;
}

TEST(ParseTmpfs, SizeAndMode) {
  auto m = *parseTmpfs("/run:size=64m,ro");
  EXPECT_EQ(m["type"], "tmpfs");
  EXPECT_EQ(m["target"], "/run");
  EXPECT_EQ(m["tmpfs_size"], 64 * 1024 * 1024);
  EXPECT_TRUE(m["read_only"].get<bool>());
  EXPECT_EQ((*parseTmpfs("/x"))["tmpfs_size"], 0);
  EXPECT_FALSE(parseTmpfs("/run:noexec").ok());
  EXPECT_FALSE(parseTmpfs("run").ok());
}

TEST(ParseRestart, Policies) {
  EXPECT_EQ(*parseRestart("no"), (json{{"name", "no"}, {"max_retries", 0}}));
  EXPECT_EQ(*parseRestart("always"), (json{{"name", "always"}, {"max_retries", 0}}));
  EXPECT_EQ(*parseRestart("unless-stopped"),
            (json{{"name", "unless-stopped"}, {"max_retries", 0}}));
  EXPECT_EQ(*parseRestart("on-failure:3"), (json{{"name", "on-failure"}, {"max_retries", 3}}));
  EXPECT_EQ(*parseRestart("on-failure"), (json{{"name", "on-failure"}, {"max_retries", 0}}));
  for (const char* bad : {"", "sometimes", "always:3", "on-failure:x", "on-failure:-1"})
    EXPECT_FALSE(parseRestart(bad).ok()) << bad;
}

TEST(ApplyLogOpt, SizeAndFiles) {
  json log = json::object();
  ASSERT_TRUE(applyLogOpt("max-size=10m", log).ok());
  ASSERT_TRUE(applyLogOpt("max-file=3", log).ok());
  EXPECT_EQ(log, (json{{"max_size", 10 * 1024 * 1024}, {"max_files", 3}}));
  EXPECT_FALSE(applyLogOpt("max-file=0", log).ok());
  EXPECT_FALSE(applyLogOpt("max-size=lots", log).ok());
  EXPECT_FALSE(applyLogOpt("compress=true", log).ok());
  EXPECT_FALSE(applyLogOpt("max-size", log).ok());
}

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ParseEnvFile, CommentsBlanksAndHostValues) {
  auto vars = parseEnvFile("# comment\nA=1\n\n  B=two words\nHOME\nUNSET\nC=\r\n",
                           fakeEnv({{"HOME", "/root"}}));
  ASSERT_TRUE(vars.ok()) << vars.error().message();
  EXPECT_EQ(*vars, (std::vector<std::string>{"A=1", "B=two words", "HOME=/root", "C="}));
  EXPECT_FALSE(parseEnvFile("BAD KEY=1\n", fakeEnv({})).ok());
  EXPECT_NE(parseEnvFile("A=1\n=x\n", fakeEnv({})).error().message().find("line 2"),
            std::string::npos);
}

TEST(CreateBody, EveryFlag) {
  RunFlags f;
  f.image = "busybox";
  f.cmd = {"sh", "-c", "echo hi"};
  f.name = "web";
  f.env = {"A=b", "HOME", "MISSING"};
  f.env_files = {"/env"};
  f.labels = {"k=v", "flag"};
  f.workdir = "/w";
  f.user = "1000:1000";
  f.hostname = "h";
  f.entrypoint = "";
  f.interactive = f.tty = f.rm = f.init = f.read_only = true;
  f.memory = "32m";
  f.cpus = "1.5";
  f.pids_limit = "100";
  f.cpuset_cpus = "0-1";
  f.cap_add = {"NET_ADMIN"};
  f.cap_drop = {"ALL"};
  f.security_opts = {"no-new-privileges"};
  f.health_cmd = "true";
  f.health_interval = "1s";
  f.health_timeout = "2s";
  f.health_retries = "3";
  f.health_start_period = "0s";
  f.volumes = {"/host:/data:ro", "vol:/v"};
  f.mounts = {"type=tmpfs,target=/t"};
  f.tmpfs = {"/run:size=1m"};
  f.network = "host";
  f.stop_signal = "SIGINT";
  f.stop_timeout = "5";
  f.log_opts = {"max-size=10m", "max-file=3"};
  auto body = createBody(f, fakeEnv({{"HOME", "/root"}}),
                         [](const std::string& path) -> Result<std::string> {
                           EXPECT_EQ(path, "/env");
                           return std::string("FROMFILE=1\n");
                         });
  ASSERT_TRUE(body.ok()) << body.error().message();
  json& b = *body;
  EXPECT_EQ(b["image"], "busybox");
  EXPECT_EQ(b["cmd"], (json{"sh", "-c", "echo hi"}));
  EXPECT_EQ(b["entrypoint"], json::array());
  EXPECT_EQ(b["env"], (json{"FROMFILE=1", "A=b", "HOME=/root"}));
  EXPECT_EQ(b["labels"], (json{{"k", "v"}, {"flag", ""}}));
  EXPECT_EQ(b["workdir"], "/w");
  EXPECT_EQ(b["user"], "1000:1000");
  EXPECT_EQ(b["hostname"], "h");
  for (const char* k :
       {"tty", "open_stdin", "auto_remove", "init", "read_only", "no_new_privileges"})
    EXPECT_EQ(b[k], true) << k;
  EXPECT_EQ(b["resources"], (json{{"memory", 33554432},
                                  {"nano_cpus", 1500000000},
                                  {"pids_limit", 100},
                                  {"cpuset_cpus", "0-1"}}));
  EXPECT_EQ(b["cap_add"], (json{"NET_ADMIN"}));
  EXPECT_EQ(b["cap_drop"], (json{"ALL"}));
  EXPECT_EQ(b["healthcheck"], (json{{"test", {"CMD-SHELL", "true"}},
                                    {"interval_ns", kSecond},
                                    {"timeout_ns", 2 * kSecond},
                                    {"start_period_ns", 0},
                                    {"retries", 3}}));
  ASSERT_EQ(b["mounts"].size(), 4u);
  EXPECT_EQ(b["mounts"][0]["type"], "bind");
  EXPECT_EQ(b["mounts"][1]["type"], "volume");
  EXPECT_EQ(b["mounts"][2]["type"], "tmpfs");
  EXPECT_EQ(b["mounts"][3]["tmpfs_size"], 1024 * 1024);
  EXPECT_EQ(b["network_mode"], "host");
  EXPECT_EQ(b["stop_signal"], "SIGINT");
  EXPECT_EQ(b["stop_timeout"], 5);
  EXPECT_EQ(b["log"], (json{{"max_size", 10 * 1024 * 1024}, {"max_files", 3}}));
  EXPECT_FALSE(b.contains("restart"));
}

TEST(CreateBody, MinimalBodyHasOnlyTheImage) {
  RunFlags f;
  f.image = "busybox";
  auto body = createBody(f, fakeEnv({}), nullptr);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, (json{{"image", "busybox"}}));
  f.entrypoint = "/bin/sh";
  f.pids_limit = "-1";
  f.no_healthcheck = true;
  body = createBody(f, fakeEnv({}), nullptr);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ((*body)["entrypoint"], (json{"/bin/sh"}));
  EXPECT_EQ((*body)["resources"]["pids_limit"], 0);
  EXPECT_EQ((*body)["healthcheck"], (json{{"test", {"NONE"}}}));
}

std::string errorOf(void (*set)(RunFlags&)) {
  RunFlags f;
  f.image = "busybox";
  set(f);
  auto body = createBody(f, fakeEnv({}), [](const std::string& p) -> Result<std::string> {
    return notFound("open '" + p + "': no such file or directory");
  });
  return body ? "" : body.error().message();
}

TEST(CreateBody, BadFlagsNameTheFlagAndTheValue) {
  EXPECT_EQ(errorOf([](RunFlags& f) { f.memory = "12q"; }).rfind("invalid --memory '12q': ", 0),
            0u);
  EXPECT_EQ(errorOf([](RunFlags& f) { f.cpus = "many"; }).rfind("invalid --cpus 'many': ", 0), 0u);
  EXPECT_EQ(errorOf([](RunFlags& f) { f.pids_limit = "x"; }).rfind("invalid --pids-limit", 0), 0u);
  EXPECT_EQ(errorOf([](RunFlags& f) { f.cpuset_cpus = "a"; }).rfind("invalid --cpuset-cpus", 0),
            0u);
  EXPECT_EQ(errorOf([](RunFlags& f) { f.volumes = {"x:y"}; }).rfind("invalid -v 'x:y': ", 0), 0u);
  EXPECT_EQ(errorOf([](RunFlags& f) { f.mounts = {"type=x"}; }).rfind("invalid --mount", 0), 0u);
  EXPECT_EQ(errorOf([](RunFlags& f) { f.restart = "maybe"; }).rfind("invalid --restart", 0), 0u);
  EXPECT_EQ(errorOf([](RunFlags& f) {
              f.health_interval = "5";
            }).rfind("invalid --health-interval '5'", 0),
            0u);
  EXPECT_EQ(errorOf([](RunFlags& f) { f.network = "container:"; }),
            "invalid --network 'container:': the name is empty");
  EXPECT_EQ(
      errorOf([](RunFlags& f) { f.stop_signal = "SIGNOPE"; }).rfind("invalid --stop-signal", 0),
      0u);
  EXPECT_EQ(errorOf([](RunFlags& f) { f.log_opts = {"max-file=2"}; }),
            "invalid --log-opt: max-file needs max-size");
  EXPECT_EQ(errorOf([](RunFlags& f) {
              f.security_opts = {"seccomp=x.json"};
            }).rfind("invalid --security-opt", 0),
            0u);
  EXPECT_EQ(errorOf([](RunFlags& f) { f.workdir = "rel"; }).rfind("invalid --workdir", 0), 0u);
  EXPECT_EQ(errorOf([](RunFlags& f) {
              f.rm = true;
              f.restart = "always";
            }),
            "conflicting options: --restart and --rm");
  EXPECT_EQ(errorOf([](RunFlags& f) {
              f.no_healthcheck = true;
              f.health_cmd = "true";
            }),
            "--no-healthcheck conflicts with --health-* options");
  EXPECT_EQ(errorOf([](RunFlags& f) {
              f.volumes = {"/a:/x", "/b:/x"};
            }),
            "duplicate mount point '/x'");
  EXPECT_NE(errorOf([](RunFlags& f) { f.env_files = {"/nope"}; }).find("read --env-file '/nope'"),
            std::string::npos);
}

TEST(CreateBody, NetworkingOnAUserNetwork) {
  RunFlags f;
  f.image = "busybox";
  f.network = "appnet";
  f.ip = "10.89.0.9";
  f.mac_address = "02:42:0A:59:00:09";
  f.network_aliases = {"db", "primary"};
  f.publish = {"18080:80", "127.0.0.1::9000/udp", "8000-8001:70-71"};
  f.publish_all = true;
  f.expose = {"5000-5001", "53/udp"};
  f.links = {"cache:redis", "queue"};
  f.dns = {"10.255.255.53", "1.1.1.1"};
  auto body = createBody(f, fakeEnv({}), nullptr);
  ASSERT_TRUE(body.ok()) << body.error().message();
  EXPECT_EQ(*body, json::parse(R"({
    "image": "busybox",
    "network_mode": "appnet",
    "networks": {"appnet": {"ip": "10.89.0.9", "mac": "02:42:0a:59:00:09",
                            "aliases": ["db", "primary"]}},
    "ports": [
      {"container_port": 80, "protocol": "tcp", "host_ip": "", "host_port": 18080},
      {"container_port": 9000, "protocol": "udp", "host_ip": "127.0.0.1", "host_port": 0},
      {"container_port": 70, "protocol": "tcp", "host_ip": "", "host_port": 8000},
      {"container_port": 71, "protocol": "tcp", "host_ip": "", "host_port": 8001}],
    "publish_all": true,
    "expose": ["5000/tcp", "5001/tcp", "53/udp"],
    "links": ["cache:redis", "queue"],
    "dns": ["10.255.255.53", "1.1.1.1"]})"));
}

TEST(CreateBody, DefaultBridge) {
  RunFlags f;
  f.image = "busybox";
  f.publish = {"80"};
  f.ip = "10.88.0.7";
  auto body = createBody(f, fakeEnv({}), nullptr);
  ASSERT_TRUE(body.ok()) << body.error().message();
  // No --network: network_mode is left to the daemon; the endpoint is the bridge's.
  EXPECT_FALSE(body->contains("network_mode"));
  EXPECT_EQ((*body)["networks"], (json{{"bridge", {{"ip", "10.88.0.7"}}}}));
  EXPECT_EQ((*body)["ports"][0]["host_port"], 0);
  for (const char* mode : {"bridge", "none", "host", "container:web", "my_net.2"}) {
    f = RunFlags();
    f.image = "busybox";
    f.network = mode;
    body = createBody(f, fakeEnv({}), nullptr);
    ASSERT_TRUE(body.ok()) << mode << ": " << body.error().message();
    EXPECT_EQ(*body, (json{{"image", "busybox"}, {"network_mode", mode}}));
  }
  f.network = "host";
  f.dns = {"1.1.1.1"};
  f.expose = {"80"};
  EXPECT_TRUE(createBody(f, fakeEnv({}), nullptr).ok()) << "--dns and --expose suit host";
}

TEST(CreateBody, NetworkingErrors) {
  EXPECT_EQ(errorOf([](RunFlags& f) { f.publish = {"80:abc"}; }),
            "invalid --publish '80:abc': container port must be a number 1-65535");
  EXPECT_EQ(errorOf([](RunFlags& f) { f.publish = {"[::1]:80:80"}; }),
            "invalid --publish '[::1]:80:80': IPv6 addresses are not supported yet");
  EXPECT_EQ(errorOf([](RunFlags& f) {
              f.publish = {"8080:80", "127.0.0.1:8080:81"};
            }),
            "invalid --publish '127.0.0.1:8080:81': host port 8080/tcp is published twice");
  EXPECT_EQ(errorOf([](RunFlags& f) {
              f.publish = {"8000-8002:80-82", "8002:90"};
            }),
            "invalid --publish '8002:90': host port 8002/tcp is published twice");
  EXPECT_EQ(errorOf([](RunFlags& f) {
              f.publish = {"8080:80",         "8080:80/udp", "1.2.3.4:8081:80",
                           "1.2.3.5:8081:80", "80",          "80"};
            }),
            "");
  EXPECT_EQ(errorOf([](RunFlags& f) { f.expose = {"http"}; }),
            "invalid --expose 'http': port must be a number 1-65535");
  EXPECT_EQ(errorOf([](RunFlags& f) { f.ip = "10.89.0"; }),
            "invalid --ip '10.89.0': not an IPv4 address such as 10.89.0.9");
  EXPECT_EQ(errorOf([](RunFlags& f) { f.mac_address = "02:42"; }),
            "invalid --mac-address '02:42': not a MAC address such as 02:42:0a:59:00:09");
  EXPECT_EQ(errorOf([](RunFlags& f) { f.dns = {"dns.google"}; }),
            "invalid --dns 'dns.google': not an IPv4 address such as 10.89.0.9");
  EXPECT_EQ(errorOf([](RunFlags& f) { f.links = {"a:b:c"}; }),
            "invalid --link 'a:b:c': expected NAME[:ALIAS]");
  EXPECT_EQ(
      errorOf([](RunFlags& f) { f.network = "my net"; }),
      "invalid --network 'my net': 'my net' is not a valid name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");
  // docker refuses aliases on the default bridge, given or implied.
  for (const char* mode : {"", "bridge"}) {
    RunFlags f;
    f.image = "busybox";
    f.network = mode;
    f.network_aliases = {"db"};
    auto body = createBody(f, fakeEnv({}), nullptr);
    ASSERT_FALSE(body.ok()) << mode;
    EXPECT_EQ(body.error().message(),
              "invalid --network-alias 'db': network-scoped aliases are supported only on "
              "user-defined networks, not on the default bridge");
  }
  EXPECT_EQ(
      errorOf([](RunFlags& f) {
        f.network = "appnet";
        f.network_aliases = {"a b"};
      }),
      "invalid --network-alias 'a b': 'a b' is not a valid name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)");
}

TEST(CreateBody, ModesWithoutAnEndpointConflict) {
  struct Case {
    const char* mode;
    void (*set)(RunFlags&);
    const char* flag;
  } cases[] = {
      {"host", [](RunFlags& f) { f.publish = {"80"}; }, "--publish"},
      {"none", [](RunFlags& f) { f.publish_all = true; }, "--publish-all"},
      {"none", [](RunFlags& f) { f.ip = "10.0.0.2"; }, "--ip"},
      {"host", [](RunFlags& f) { f.mac_address = "02:00:00:00:00:01"; }, "--mac-address"},
      {"host", [](RunFlags& f) { f.network_aliases = {"x"}; }, "--network-alias"},
      {"none", [](RunFlags& f) { f.links = {"db"}; }, "--link"},
      {"container:web", [](RunFlags& f) { f.publish = {"80"}; }, "--publish"},
      {"container:web", [](RunFlags& f) { f.expose = {"80"}; }, "--expose"},
      {"container:web", [](RunFlags& f) { f.dns = {"1.1.1.1"}; }, "--dns"},
      {"container:web", [](RunFlags& f) { f.hostname = "h"; }, "--hostname"},
  };
  for (const auto& c : cases) {
    RunFlags f;
    f.image = "busybox";
    f.network = c.mode;
    c.set(f);
    auto body = createBody(f, fakeEnv({}), nullptr);
    ASSERT_FALSE(body.ok()) << c.mode << " " << c.flag;
    EXPECT_EQ(body.error().message(),
              "conflicting options: " + std::string(c.flag) + " and --network " + c.mode);
  }
}

TEST(ParseTimeFlag, UnixRfc3339AndDurations) {
  int64_t now = 1700000000 * kSecond;
  EXPECT_EQ(*parseTimeFlag("1700000000", now), "1700000000");
  EXPECT_EQ(*parseTimeFlag("1700000000.5", now), "1700000000.5");
  EXPECT_EQ(*parseTimeFlag("2024-01-01T00:00:00Z", now), "1704067200.000000000");
  EXPECT_EQ(*parseTimeFlag("2024-01-01T02:00:00.25+02:00", now), "1704067200.250000000");
  EXPECT_EQ(*parseTimeFlag("10m", now), "1699999400.000000000");
  EXPECT_FALSE(parseTimeFlag("yesterday", now).ok());
}

std::vector<std::pair<StreamId, std::string>> decodeAll(FrameDecoder& d, std::string_view in,
                                                        size_t chunk) {
  std::vector<std::pair<StreamId, std::string>> out;
  for (size_t i = 0; i < in.size(); i += chunk) {
    auto s = d.feed(in.substr(i, chunk), [&](StreamId id, std::string_view p) {
      if (!out.empty() && out.back().first == id) {
        out.back().second += p;  // pieces of one frame, or frames of one stream
      } else {
        out.emplace_back(id, std::string(p));
      }
    });
    EXPECT_TRUE(s.ok());
  }
  return out;
}

TEST(FrameDecoder, SplitsStreams) {
  std::string in = encodeFrame(StreamId::kStdout, "hello\n") +
                   encodeFrame(StreamId::kStderr, "oops\n") +
                   encodeFrame(StreamId::kStdout, std::string(70000, 'x'));
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{8}, size_t{4096}, in.size()}) {
    FrameDecoder d;
    auto out = decodeAll(d, in, chunk);
    ASSERT_EQ(out.size(), 3u) << chunk;
    EXPECT_EQ(out[0], (std::pair{StreamId::kStdout, std::string("hello\n")}));
    EXPECT_EQ(out[1], (std::pair{StreamId::kStderr, std::string("oops\n")}));
    EXPECT_EQ(out[2].second.size(), 70000u);
    EXPECT_TRUE(d.atBoundary());
  }
}

TEST(FrameDecoder, EmptyFramesAndPartialEnd) {
  FrameDecoder d;
  auto out =
      decodeAll(d, encodeFrame(StreamId::kStdout, "") + encodeFrame(StreamId::kStderr, "e"), 64);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].second, "e");
  std::string half = encodeFrame(StreamId::kStdout, "abcdef").substr(0, 10);
  decodeAll(d, half, 64);
  EXPECT_FALSE(d.atBoundary());
}

TEST(FrameDecoder, RefusesUnframedInput) {
  FrameDecoder d;
  auto s = d.feed("hello, world", [](StreamId, std::string_view) {});
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(d.feed(encodeFrame(StreamId::kStdout, "x"), [](StreamId, std::string_view) {}).ok());
}

TEST(Table, AlignsLikeDockersTabwriter) {
  Table t({"CONTAINER ID", "NAME", "X"});
  t.add({"abc", "a-much-longer-name", "1"});
  t.add({"é", "n", ""});
  EXPECT_EQ(t.render(),
            "CONTAINER ID   NAME                 X\n"
            "abc            a-much-longer-name   1\n"
            "é              n\n");
  Table narrow({"A", "B"});
  narrow.add({"1", "2"});
  EXPECT_EQ(narrow.render(), "A         B\n1         2\n");
}

TEST(Human, TimeAgo) {
  EXPECT_EQ(timeAgo(100 * kSecond, 105 * kSecond), "5 seconds ago");
  EXPECT_EQ(timeAgo(0, 105 * kSecond), "N/A");
}

TEST(Human, SizesIdsAndQuotes) {
  EXPECT_EQ(binarySize(0), "0B");
  EXPECT_EQ(binarySize(2740000), "2.613MiB");
  EXPECT_EQ(binarySize(1024.0 * 1024 * 1024), "1GiB");
  EXPECT_EQ(decimalSize(2100000), "2.1MB");
  EXPECT_EQ(shortId("sha256:0123456789abcdef"), "0123456789ab");
  EXPECT_EQ(shortId("abc"), "abc");
  EXPECT_EQ(ellipsis("short", 20), "short");
  EXPECT_EQ(ellipsis("sh -c 'while true; do sleep 1; done'", 20), "sh -c 'while true; …");
  EXPECT_EQ(goQuote("sh -c \"x\"\n"), "\"sh -c \\\"x\\\"\\n\"");
}

TEST(Ps, ObjectAndRow) {
  json summary = {
      {"id", "0123456789abcdef0123"}, {"name", "web"},
      {"image", "busybox"},           {"command", "sh -c 'while true; do sleep 1; done'"},
      {"created_ns", 100 * kSecond},  {"state", "running"},
      {"status", "Up 5 seconds"},     {"labels", {{"a", "1"}, {"b", "2"}}}};
  json ps = psObject(summary, 105 * kSecond, true);
  EXPECT_EQ(ps["ID"], "0123456789ab");
  EXPECT_EQ(ps["Command"], "\"sh -c 'while true; …\"");
  EXPECT_EQ(ps["RunningFor"], "5 seconds ago");
  EXPECT_EQ(ps["Labels"], "a=1,b=2");
  EXPECT_EQ(ps["Names"], "web");
  EXPECT_EQ(psRow(ps),
            (std::vector<std::string>{"0123456789ab", "busybox", "\"sh -c 'while true; …\"",
                                      "5 seconds ago", "Up 5 seconds", "", "web"}));
  EXPECT_EQ(psObject(summary, 105 * kSecond, false)["ID"], "0123456789abcdef0123");
}

json apiPort(int container, const char* protocol, const char* ip, int host) {
  return {
      {"container_port", container}, {"protocol", protocol}, {"host_ip", ip}, {"host_port", host}};
}

TEST(Ps, Ports) {
  EXPECT_EQ(formatPorts(json::array()), "");
  EXPECT_EQ(formatPorts(nullptr), "");
  EXPECT_EQ(formatPorts(json{apiPort(80, "tcp", "0.0.0.0", 18080),
                             apiPort(9000, "udp", "127.0.0.1", 9000), apiPort(53, "udp", "", 0)}),
            "0.0.0.0:18080->80/tcp, 127.0.0.1:9000->9000/udp, 53/udp");
  // host_ip "" is every address; IPv6 in brackets.
  EXPECT_EQ(formatPorts(json{apiPort(80, "tcp", "", 8080), apiPort(80, "tcp", "::", 8080)}),
            "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp");
  // Consecutive ports on consecutive host ports read as one range, as in docker.
  EXPECT_EQ(formatPorts(json{apiPort(80, "tcp", "", 8000), apiPort(81, "tcp", "", 8001),
                             apiPort(82, "tcp", "", 8002), apiPort(83, "tcp", "", 9000),
                             apiPort(84, "udp", "", 9001), apiPort(5000, "tcp", "", 0),
                             apiPort(5001, "tcp", "", 0)}),
            "0.0.0.0:8000-8002->80-82/tcp, 0.0.0.0:9000->83/tcp, 0.0.0.0:9001->84/udp, "
            "5000-5001/tcp");
  json summary = {{"id", "abc"}, {"ports", {apiPort(80, "tcp", "0.0.0.0", 18080)}}};
  EXPECT_EQ(psRow(psObject(summary, 0, true))[5], "0.0.0.0:18080->80/tcp");
}

TEST(Port, Lines) {
  json ports = {apiPort(80, "tcp", "0.0.0.0", 18080), apiPort(80, "tcp", "::", 18080),
                apiPort(53, "udp", "", 5353), apiPort(443, "tcp", "", 0)};
  EXPECT_EQ(*portLines(ports, "", "web"),
            (std::vector<std::string>{"80/tcp -> 0.0.0.0:18080", "80/tcp -> [::]:18080",
                                      "53/udp -> 0.0.0.0:5353"}));
  EXPECT_EQ(*portLines(ports, "80", "web"),
            (std::vector<std::string>{"0.0.0.0:18080", "[::]:18080"}));
  EXPECT_EQ(*portLines(ports, "53/udp", "web"), (std::vector<std::string>{"0.0.0.0:5353"}));
  EXPECT_EQ(portLines(ports, "53", "web").error().message(),
            "no public port '53/tcp' published for 'web'");
  EXPECT_EQ(portLines(ports, "443", "web").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(portLines(ports, "80-81", "web").error().message(),
            "invalid port '80-81': expected PRIVATE_PORT[/PROTOCOL] such as 80/tcp");
  EXPECT_TRUE(portLines(json::array(), "", "web")->empty());
}

TEST(Networks, LsTableAndJson) {
  json bridge = {{"id", "0123456789abcdef0123"}, {"name", "bridge"},
                 {"driver", "bridge"},           {"internal", false},
                 {"labels", json::object()},     {"created_ns", 0}};
  json app = {{"id", "fedcba9876543210"},
              {"name", "appnet"},
              {"driver", "macvlan"},
              {"internal", true},
              {"labels", {{"team", "web"}}}};
  json b = networkObject(bridge, true);
  EXPECT_EQ(b, (json{{"ID", "0123456789ab"},
                     {"Name", "bridge"},
                     {"Driver", "bridge"},
                     {"Scope", "local"},
                     {"IPv6", false},
                     {"Internal", false},
                     {"Labels", ""},
                     {"CreatedAt", ""}}));
  EXPECT_EQ(networkObject(bridge, false)["ID"], "0123456789abcdef0123");
  Table t(networkHeader());
  t.add(networkRow(networkObject(app, true)));
  t.add(networkRow(b));
  EXPECT_EQ(t.render(),
            "NETWORK ID     NAME      DRIVER    SCOPE\n"
            "fedcba987654   appnet    macvlan   local\n"
            "0123456789ab   bridge    bridge    local\n");
  std::vector<json> objects = {networkObject(app, true)};
  EXPECT_EQ(*renderLines(objects, "{{.Name}} {{.Labels}} {{.Internal}}"), "appnet team=web true\n");
  EXPECT_EQ(*renderLines(objects, "json"), objects[0].dump() + "\n");
}

TEST(Inspect, ArrayOrTemplate) {
  json nets = {{{"name", "a"}, {"subnet", "10.89.0.0/24"}}, {{"name", "b"}, {"subnet", ""}}};
  EXPECT_EQ(*renderInspect(nets, ""), nets.dump(4) + "\n");
  EXPECT_EQ(*renderInspect(nets, "json"), nets.dump(4) + "\n");
  EXPECT_EQ(*renderInspect(json::array(), ""), "[]\n");
  EXPECT_EQ(*renderInspect(nets, "{{.Name}}={{.Subnet}}"), "a=10.89.0.0/24\nb=\n");
  EXPECT_FALSE(renderInspect(nets, "{{.Name").ok());
}

TEST(Stats, CpuPercentAndRow) {
  json prev = {{"cpu", {{"usage_ns", 1000}, {"system_ns", 10000}, {"online_cpus", 2}}}};
  json cur = {{"cpu", {{"usage_ns", 2000}, {"system_ns", 20000}, {"online_cpus", 2}}},
              {"memory", {{"usage", 2740000}, {"limit", 1073741824}}},
              {"pids", {{"current", 3}}}};
  EXPECT_DOUBLE_EQ(cpuPercent(prev, cur), 20.0);
  EXPECT_EQ(cpuPercent(nullptr, cur), 0.0);
  EXPECT_EQ(
      statsRow("0123456789abcdef", "web", prev, cur),
      (std::vector<std::string>{"0123456789ab", "web", "20.00%", "2.613MiB / 1GiB", "0.26%", "3"}));
}

TEST(Template, FieldsJsonAndCamelCase) {
  json c = {{"id", "abc"},
            {"state", {{"status", "running"}, {"exit_code", 0}}},
            {"config", {{"labels", {{"k", "v"}}}}}};
  EXPECT_EQ(*renderTemplate("{{.id}}", c), "abc");
  EXPECT_EQ(*renderTemplate("{{.State.Status}} {{.State.ExitCode}}", c), "running 0");
  EXPECT_EQ(*renderTemplate("{{json .config.labels}}", c), "{\"k\":\"v\"}");
  EXPECT_EQ(*renderTemplate("id={{ .Id }}!", c), "id=abc!");
  EXPECT_EQ(*renderTemplate("{{.Missing}}", c), "<no value>");
  EXPECT_EQ(*renderTemplate("{{json .}}", json{{"a", 1}}), "{\"a\":1}");
  EXPECT_FALSE(renderTemplate("{{.id", c).ok());
  EXPECT_FALSE(renderTemplate("{{range .}}", c).ok());
}

TEST(Events, HumanLine) {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  json e = {{"type", "container"},
            {"action", "start"},
            {"id", "abc"},
            {"attributes", {{"name", "web"}, {"image", "busybox"}}},
            {"time_ns", 1704067200 * kSecond + 5}};
  EXPECT_EQ(eventLine(e),
            "2024-01-01T00:00:00.000000005Z container start abc (image=busybox, name=web)");
}

}  // namespace
}  // namespace berth::cli
