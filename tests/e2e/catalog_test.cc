// The service catalog as a user drives it (issue 7, "Service catalog"): containers that
// register themselves with --service, found by dig and by other containers through
// NAME.service.berth, leaving when they stop or fail their check; blocking HTTP queries;
// `berth catalog`; registrations across a daemon crash; bad input.

#include <future>

#include "common/strings.h"
#include "e2e/daemon.h"

namespace berth::test {
namespace {

using nlohmann::json;

const char* kHttpd =
    "mkdir -p /www && echo \"page of $(hostname)\" > /www/index.html && "
    "exec httpd -f -p 80 -h /www";

constexpr int kDnsPort = 18553;

class Catalog : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (HasFatalFailure()) return;
    d_ = std::make_unique<Daemon>(
        DaemonFlags{{"--dns-listen", "127.0.0.1:" + std::to_string(kDnsPort)}});
    d_->addBusybox("busybox");
  }
  void TearDown() override { d_.reset(); }

  // dig's short answer for NAME of TYPE at the daemon's host listener, one line per record.
  std::string dig(const std::string& name, const std::string& type = "A", bool tcp = false) {
    std::vector<std::string> args = {
        "dig", "+short", "+time=2", "+tries=1", "@127.0.0.1", "-p", std::to_string(kDnsPort),
        "-t",  type,     name};
    if (tcp) args.insert(args.begin() + 1, "+tcp");
    return runCmd(args).out;
  }
  std::string ipOf(const std::string& name) {
    auto j = d_->inspect(name);
    for (const auto& [net, ep] : j["network_settings"]["networks"].items())
      return ep.value("ip", "");
    return "";
  }
  json instances(const std::string& service, const std::string& query = "") {
    auto r = d_->curl("GET", "/v1/catalog/services/" + service + query);
    auto j = json::parse(r.out, nullptr, false);
    return j.is_object() ? j["instances"] : json::array();
  }

  std::unique_ptr<Daemon> d_;
};

TEST_F(Catalog, ContainerServiceIsFoundByDnsUntilItStopsOrFailsItsCheck) {
  auto run = d_->berth({"run", "-d", "--name", "web", "--service", "web:80", "--service-tag", "v1",
                        "--service-check", "http:/index.html", "--service-check-interval", "200ms",
                        "busybox", "sh", "-c", kHttpd});
  ASSERT_EQ(run.code, 0) << run.err;
  std::string ip = ipOf("web");
  ASSERT_FALSE(ip.empty());
  // Passing once its first check answered 200: the name answers its address.
  ASSERT_TRUE(eventually([&] { return dig("web.service.berth") == ip + "\n"; }))
      << dig("web.service.berth") << d_->berth({"catalog", "show", "web"}).out;
  EXPECT_EQ(dig("web.service.berth", "A", /*tcp=*/true), ip + "\n");
  EXPECT_EQ(dig("v1.web.service.berth"), ip + "\n");
  EXPECT_EQ(dig("v2.web.service.berth"), "");
  // SRV with the port, under both spellings, and a target that resolves to the address.
  auto srv = split(trim(dig("_web._tcp.service.berth", "SRV")), ' ');
  ASSERT_EQ(srv.size(), 4u) << dig("_web._tcp.service.berth", "SRV");
  EXPECT_EQ(srv[2], "80");
  EXPECT_EQ(dig(srv[3]), ip + "\n");
  EXPECT_EQ(dig("web.service.berth", "SRV"), dig("_web._tcp.service.berth", "SRV"));

  // Another container reaches it by that name (its resolv.conf points at berthd).
  auto client =
      d_->berth({"run", "--rm", "busybox", "wget", "-qO-", "-T", "5", "http://web.service.berth/"});
  EXPECT_EQ(client.code, 0) << client.err;
  EXPECT_EQ(client.out.rfind("page of", 0), 0u) << client.out;

  // Its check fails (the page is gone: 404): it leaves the answers; fixed: it is back.
  ASSERT_EQ(d_->berth({"exec", "web", "rm", "/www/index.html"}).code, 0);
  ASSERT_TRUE(eventually([&] { return dig("web.service.berth").empty(); }))
      << dig("web.service.berth");
  auto shown = instances("web");
  ASSERT_EQ(shown.size(), 1u) << shown.dump();
  EXPECT_EQ(shown[0].value("health", ""), "critical");
  EXPECT_NE(shown[0].value("output", "").find("404"), std::string::npos) << shown.dump();
  EXPECT_TRUE(instances("web", "?passing=1").empty());
  ASSERT_EQ(d_->berth({"exec", "web", "sh", "-c", "echo back > /www/index.html"}).code, 0);
  ASSERT_TRUE(eventually([&] { return dig("web.service.berth") == ip + "\n"; }))
      << dig("web.service.berth");

  // Stopped: it is gone from DNS and from the catalog.
  ASSERT_EQ(d_->berth({"stop", "-t", "1", "web"}).code, 0);
  ASSERT_TRUE(eventually([&] { return dig("web.service.berth").empty(); }, 5));
  EXPECT_TRUE(instances("web").empty());
  // Names outside the catalog are still forwarded or answered as before.
  EXPECT_EQ(dig("nosuch.service.berth"), "");
}

TEST_F(Catalog, BlockingQueryReturnsWhenAnInstanceRegisters) {
  auto first = d_->curl("GET", "/v1/catalog/services/api");
  ASSERT_EQ(first.code, 0) << first.err;
  int64_t index = json::parse(first.out).value("index", int64_t{-1});
  ASSERT_GE(index, 0) << first.out;
  auto waiting = std::async(std::launch::async, [&] {
    return d_->curl("GET", "/v1/catalog/services/api?index=" + std::to_string(index) + "&wait=60s");
  });
  // Still waiting: nothing changed.
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  auto reg = d_->berth({"catalog", "register", "api", "--address", "10.1.2.3", "--port", "8080",
                        "--tag", "blue", "--id", "api-1"});
  ASSERT_EQ(reg.code, 0) << reg.err;
  EXPECT_EQ(trim(reg.out), "api-1");
  auto answer = json::parse(waiting.get().out, nullptr, false);
  ASSERT_TRUE(answer.is_object()) << answer;
  EXPECT_GT(answer.value("index", int64_t{0}), index);
  ASSERT_EQ(answer["instances"].size(), 1u) << answer.dump();
  EXPECT_EQ(answer["instances"][0].value("address", ""), "10.1.2.3");
  EXPECT_EQ(answer["instances"][0].value("port", 0), 8080);
  EXPECT_EQ(answer["instances"][0].value("health", ""), "passing");

  // A blocking query with nothing changing answers at the end of its wait, unchanged.
  int64_t now = answer.value("index", int64_t{0});
  auto idle = json::parse(
      d_->curl("GET", "/v1/catalog/services/api?index=" + std::to_string(now) + "&wait=200ms").out);
  EXPECT_EQ(idle.value("index", int64_t{0}), now);

  auto ls = d_->berth({"catalog", "ls"});
  EXPECT_NE(ls.out.find("api"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("blue"), std::string::npos) << ls.out;
  EXPECT_EQ(dig("api.service.berth"), "10.1.2.3\n");
  ASSERT_EQ(d_->berth({"catalog", "deregister", "api", "api-1"}).code, 0);
  EXPECT_TRUE(instances("api").empty());
  EXPECT_NE(d_->berth({"catalog", "deregister", "api", "api-1"}).code, 0);
}

TEST_F(Catalog, RegistrationsSurviveADaemonCrashAndARestart) {
  ASSERT_EQ(d_->berth({"run", "-d", "--name", "db", "-l", "berth.service=db:5432", "busybox",
                       "sleep", "600"})
                .code,
            0);
  ASSERT_EQ(
      d_->berth({"catalog", "register", "ext", "--address", "192.0.2.7", "--id", "ext-1"}).code, 0);
  ASSERT_TRUE(eventually([&] { return instances("db").size() == 1; }));
  d_->kill9();
  d_->start();
  EXPECT_EQ(instances("db").size(), 1u);
  EXPECT_EQ(instances("ext").size(), 1u);
  // A clean stop revokes the node's lease; a start registers both again.
  d_->stop();
  d_->start();
  ASSERT_TRUE(eventually([&] { return instances("db").size() == 1; }));
  EXPECT_EQ(instances("ext").size(), 1u) << d_->berth({"catalog", "ls"}).out;
  EXPECT_EQ(dig("db.service.berth"), ipOf("db") + "\n");
}

TEST_F(Catalog, BadInputIsRefusedAndLeavesNothing) {
  auto bad_port = d_->berth({"run", "-d", "--name", "x", "--service", "web:99999", "busybox"});
  EXPECT_NE(bad_port.code, 0);
  EXPECT_NE(bad_port.err.find("berth.service"), std::string::npos) << bad_port.err;
  EXPECT_EQ(d_->berth({"ps", "-aq"}).out, "");  // no container was made
  auto bad_name = d_->berth({"run", "-d", "--service", "Web_1", "busybox"});
  EXPECT_NE(bad_name.code, 0);
  EXPECT_NE(bad_name.err.find("Web_1"), std::string::npos) << bad_name.err;
  auto bad_check =
      d_->berth({"run", "-d", "--service", "web", "--service-check", "ping", "busybox"});
  EXPECT_NE(bad_check.code, 0);
  EXPECT_NE(bad_check.err.find("berth.service.check"), std::string::npos) << bad_check.err;
  auto orphan = d_->berth({"run", "-d", "--service-tag", "x", "busybox"});
  EXPECT_NE(orphan.code, 0);
  EXPECT_NE(orphan.err.find("--service"), std::string::npos) << orphan.err;
  EXPECT_EQ(d_->berth({"ps", "-aq"}).out, "");

  auto bad_addr = d_->berth({"catalog", "register", "web", "--address", "10.0.0.300"});
  EXPECT_NE(bad_addr.code, 0);
  EXPECT_NE(bad_addr.err.find("10.0.0.300"), std::string::npos) << bad_addr.err;
  auto bad_wait = d_->curl("GET", "/v1/catalog/services/web?index=1&wait=soon");
  EXPECT_NE(bad_wait.out.find("wait"), std::string::npos) << bad_wait.out;
  auto body = d_->curl("PUT", "/v1/catalog/services/web", "{\"address\": 7}");
  EXPECT_NE(body.out.find("address"), std::string::npos) << body.out;
  EXPECT_EQ(json::parse(d_->curl("GET", "/v1/catalog/services").out)["services"].size(), 0u);
}

}  // namespace
}  // namespace berth::test
