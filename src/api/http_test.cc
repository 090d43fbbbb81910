#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "api/http.h"
#include "api/test_certs.h"
#include "common/temp_dir_testing.h"
#include "sys/fs.h"

namespace berth::api {
namespace {

using namespace std::chrono_literals;
constexpr auto kDeadline = 10s;

using berth::testing::TempDir;

// A one-shot event a handler thread sets and the test waits on, with a deadline.
class Flag {
 public:
  void set() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// A server on a temp unix socket, serving on its own thread.
class TestServer {
 public:
  explicit TestServer(Router router, Server::Prepare prepare = nullptr)
      : server_(std::move(router), std::move(prepare)), path_(dir_.path() + "/run/api.sock") {
    Status s = server_.listenUnix(path_, 0660);
    EXPECT_TRUE(s.ok()) << s.error().message();
    done_ = served_.get_future();
    thread_ = std::thread([this] {
      server_.serve();
      served_.set_value();
    });
  }
  ~TestServer() {
    server_.stop();
    thread_.join();
  }
  // Stops the server; true when serve() returned before the deadline.
  bool stop() {
    server_.stop();
    return done_.wait_for(kDeadline) == std::future_status::ready;
  }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_.path(); }
  Server& server() { return server_; }

 private:
  TempDir dir_;
  Server server_;
  std::string path_;
  std::promise<void> served_;
  std::future<void> done_;
  std::thread thread_;
};

sys::Fd connectRaw(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  sys::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

void sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

std::string readToEnd(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// Reads one response with a Content-Length body from a raw connection: head and body.
std::pair<std::string, std::string> readRawResponse(int fd) {
  std::string data;
  char buf[4096];
  size_t end;
  while ((end = data.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return {};
    data.append(buf, static_cast<size_t>(n));
  }
  std::string head = data.substr(0, end + 4);
  size_t cl = head.find("Content-Length: ");
  size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16));
  std::string body = data.substr(end + 4);
  while (body.size() < length) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    body.append(buf, static_cast<size_t>(n));
  }
  return {head, body};
}

nlohmann::json bodyJson(const ClientResponse& r) {
  auto j = r.json();
  EXPECT_TRUE(j.ok()) << r.body;
  return j.ok() ? *j : nlohmann::json();
}

TEST(HttpStatus, MapsEveryCode) {
  EXPECT_EQ(httpStatus(ErrorCode::kInvalidArgument), 400);
  EXPECT_EQ(httpStatus(ErrorCode::kNotFound), 404);
  EXPECT_EQ(httpStatus(ErrorCode::kAlreadyExists), 409);
  EXPECT_EQ(httpStatus(ErrorCode::kConflict), 409);
  EXPECT_EQ(httpStatus(ErrorCode::kPermissionDenied), 403);
  EXPECT_EQ(httpStatus(ErrorCode::kUnsupported), 501);
  EXPECT_EQ(httpStatus(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(httpStatus(ErrorCode::kInternal), 500);
}

TEST(Router, MatchesParamsRestAndMethods) {
  Router router;
  auto tag = [](std::string name) {
    return [name](Request&, Response& res) { res.send(200, "text/plain", name); };
  };
  router.add("GET", "/containers/{id}/json", tag("inspect"));
  router.add("POST", "/containers/{id}/start", tag("start"));
  router.add("GET", "/images/{name*}/json", tag("image"));
  router.add("GET", "/files/{rest*}", tag("files"));
  router.add("GET", "/x/{a}", tag("first"));
  router.add("GET", "/x/y", tag("second"));

  std::map<std::string, std::string> params;
  bool allowed = false;
  EXPECT_TRUE(router.match("GET", "/containers/abc/json", params, allowed));
  EXPECT_EQ(params["id"], "abc");
  EXPECT_TRUE(allowed);

  params.clear();
  EXPECT_TRUE(router.match("GET", "/images/library/nginx/json", params, allowed));
  EXPECT_EQ(params["name"], "library/nginx");

  params.clear();
  EXPECT_TRUE(router.match("GET", "/files/a/b/c.txt", params, allowed));
  EXPECT_EQ(params["rest"], "a/b/c.txt");

  params.clear();
  EXPECT_TRUE(router.match("GET", "/x/y", params, allowed));
  EXPECT_EQ(params["a"], "y");  // the first route added wins

  EXPECT_FALSE(router.match("GET", "/files", params, allowed));
  EXPECT_TRUE(allowed);
  EXPECT_FALSE(router.match("GET", "/images/json", params, allowed));
  EXPECT_FALSE(router.match("DELETE", "/containers/abc/json", params, allowed));
  EXPECT_FALSE(allowed);
  EXPECT_FALSE(router.match("GET", "/nope", params, allowed));
  EXPECT_TRUE(allowed);
}

Router basicRouter() {
  Router r;
  r.add("GET", "/containers/{id}/json", [](Request& req, Response& res) {
    res.json(200, {{"id", req.params["id"]}, {"host", req.header("host")}});
  });
  r.add("GET", "/files/{rest*}", [](Request& req, Response& res) {
    res.json(200, {{"rest", req.params["rest"]}, {"path", req.path}});
  });
  r.add("GET", "/query", [](Request& req, Response& res) {
    res.json(200, {{"name", req.queryValue("name")},
                   {"dup", req.queryValue("dup")},
                   {"missing", req.queryValue("missing", "dflt")},
                   {"all", req.queryBool("all")},
                   {"flag", req.queryBool("flag", true)},
                   {"empty", req.queryBool("empty", true)},
                   {"none", req.queryBool("none", true)},
                   {"yes", req.queryBool("yes")},
                   {"absent", req.queryBool("absent", true)},
                   {"has_empty", req.hasQuery("empty")}});
  });
  r.add("POST", "/json", [](Request& req, Response& res) {
    auto body = req.readJson();
    if (!body.ok()) return res.error(body.error());
    res.json(200, {{"got", *body}});
  });
  r.add("GET", "/err/{kind}", [](Request& req, Response& res) {
    std::string kind = req.params["kind"];
    if (kind == "notfound") return res.error(notFound("container 'x': no such container"));
    if (kind == "conflict") return res.error(conflict("start container 'x': already running"));
    if (kind == "invalid") return res.error(invalidArgument("bad filter"));
    if (kind == "throw") throw std::runtime_error("boom");
    res.send(204, "", "");
  });
  r.add("POST", "/ignore", [](Request&, Response& res) { res.send(200, "text/plain", "ok"); });
  r.add("HEAD", "/ping", [](Request&, Response& res) { res.send(200, "text/plain", "OK"); });
  r.add("GET", "/pieces", [](Request&, Response& res) {
    if (!res.beginStream(200, "text/plain").ok()) return;
    (void)res.write("a");
    (void)res.write("b");
  });
  return r;
}

TEST(HttpServer, RoutesWithParamsAndAnswers404And405) {
  TestServer ts(basicRouter());
  Client client("unix://" + ts.path());

  auto r = client.request("GET", "/containers/abc/json");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_EQ(bodyJson(*r)["id"], "abc");
  EXPECT_EQ(bodyJson(*r)["host"], "berth");

  r = client.request("GET", "/files/etc/ssl/certs%20dir");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(bodyJson(*r)["rest"], "etc/ssl/certs dir");

  r = client.request("GET", "/nowhere");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->errorMessage(), "page not found");

  r = client.request("DELETE", "/containers/abc/json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 405);

  r = client.request("HEAD", "/ping");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["content-length"], "2");
  EXPECT_EQ(r->body, "");
}

TEST(HttpServer, PrepareRewritesPathAndCanAnswer) {
  Server::Prepare prepare = [](Request& req, Response& res) {
    if (req.path == "/refuse") {
      res.error(Error(ErrorCode::kPermissionDenied, "refused"));
      return false;
    }
    if (req.path.rfind("/v1.41/", 0) == 0) req.path = req.path.substr(6);
    res.setHeader("Api-Version", "1.41");
    return true;
  };
  TestServer ts(basicRouter(), prepare);
  Client client(ts.path());
  auto r = client.request("GET", "/v1.41/containers/abc/json");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["api-version"], "1.41");
  r = client.request("GET", "/refuse");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->errorMessage(), "refused");
}

TEST(HttpServer, DecodesQueryAndBools) {
  TestServer ts(basicRouter());
  Client client(ts.path());
  auto r = client.request(
      "GET", "/query?name=a%20b+c&dup=1&dup=2&all=1&flag=FALSE&empty=&none=None&yes=true");
  ASSERT_TRUE(r.ok());
  auto j = bodyJson(*r);
  EXPECT_EQ(j["name"], "a b c");
  EXPECT_EQ(j["dup"], "1");
  EXPECT_EQ(j["missing"], "dflt");
  EXPECT_EQ(j["all"], true);
  EXPECT_EQ(j["flag"], false);
  EXPECT_EQ(j["empty"], false);
  EXPECT_EQ(j["none"], false);
  EXPECT_EQ(j["yes"], true);
  EXPECT_EQ(j["absent"], true);
  EXPECT_EQ(j["has_empty"], true);
}

TEST(HttpServer, MalformedJsonIs400WithOffset) {
  TestServer ts(basicRouter());
  Client client(ts.path());
  auto r = client.request("POST", "/json", R"({"a": tru})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->errorMessage().find("invalid json at byte 10"), std::string::npos)
      << r->errorMessage();

  r = client.request("POST", "/json", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(bodyJson(*r)["got"], nlohmann::json::object());

  r = client.request("POST", "/json", R"({"a": [1, 2]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(bodyJson(*r)["got"]["a"][1], 2);
}

// Found by fuzz/create_config_fuzzer: a deeply nested body crashed the daemon (stack
// overflow) wherever the handler dumped or copied it.
TEST(HttpServer, DeeplyNestedJsonIs400) {
  TestServer ts(basicRouter());
  Client client(ts.path());
  std::string deep = std::string(1 << 20, '[') + std::string(1 << 20, ']');
  auto r = client.request("POST", "/json", deep);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->errorMessage().find("json at byte 513 nested deeper than 512"), std::string::npos)
      << r->errorMessage();

  // Brackets inside strings do not count; 512 levels are fine.
  std::string deep_ok = std::string(511, '[') + R"({"s": "[[[[\"[[[["})" + std::string(511, ']');
  r = client.request("POST", "/json", deep_ok);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200) << r->errorMessage();
}

TEST(HttpServer, MapsErrorsToStatuses) {
  TestServer ts(basicRouter());
  Client client(ts.path());
  auto status = [&](const std::string& kind) {
    auto r = client.request("GET", "/err/" + kind);
    EXPECT_TRUE(r.ok());
    return r.ok() ? std::make_pair(r->status, r->errorMessage()) : std::make_pair(0, std::string());
  };
  EXPECT_EQ(status("notfound"),
            std::make_pair(404, std::string("container 'x': no such container")));
  EXPECT_EQ(status("conflict").first, 409);
  EXPECT_EQ(status("invalid").first, 400);
  auto thrown = status("throw");
  EXPECT_EQ(thrown.first, 500);
  EXPECT_EQ(thrown.second, "internal error: boom");
  EXPECT_EQ(status("none").first, 204);
}

TEST(HttpServer, StreamsChunksAsTheyAreWritten) {
  Flag got_first;
  Router router;
  router.add("GET", "/events", [&](Request&, Response& res) {
    ASSERT_TRUE(res.beginStream(200, "application/json").ok());
    ASSERT_TRUE(res.write("one").ok());
    // Only sent once the client has read the first: proves each write is flushed.
    ASSERT_TRUE(got_first.wait());
    ASSERT_TRUE(res.write("two").ok());
    res.end();
  });
  TestServer ts(std::move(router));
  Client client(ts.path());
  auto s = client.stream("GET", "/events");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ((*s)->status, 200);
  EXPECT_EQ((*s)->headers["transfer-encoding"], "chunked");
  std::string piece;
  auto more = (*s)->next(piece);
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(piece, "one");
  got_first.set();
  more = (*s)->next(piece);
  ASSERT_TRUE(more.ok() && *more);
  EXPECT_EQ(piece, "two");
  more = (*s)->next(piece);
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
}

TEST(HttpServer, StreamStopsWhenTheClientGoesAway) {
  Flag write_failed, saw_close;
  Router router;
  router.add("GET", "/follow", [&](Request&, Response& res) {
    ASSERT_TRUE(res.beginStream(200, "text/plain").ok());
    std::string line(1024, 'x');
    while (res.write(line).ok()) {
    }
    write_failed.set();
  });
  router.add("GET", "/wait", [&](Request&, Response& res) {
    ASSERT_TRUE(res.beginStream(200, "text/plain").ok());
    ASSERT_TRUE(res.write("waiting").ok());
    // A long poll: peerClosed() is checked now and then, as a wait handler would.
    auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (!res.peerClosed() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(5ms);
    if (res.peerClosed()) saw_close.set();
  });
  TestServer ts(std::move(router));
  Client client(ts.path());
  {
    auto s = client.stream("GET", "/follow");
    ASSERT_TRUE(s.ok());
    std::string piece;
    ASSERT_TRUE(*(*s)->next(piece));
  }
  EXPECT_TRUE(write_failed.wait());
  {
    auto s = client.stream("GET", "/wait");
    ASSERT_TRUE(s.ok());
    std::string piece;
    ASSERT_TRUE(*(*s)->next(piece));
    EXPECT_EQ(piece, "waiting");
  }
  EXPECT_TRUE(saw_close.wait());
}

TEST(HttpServer, UploadsLargeBodiesPieceByPiece) {
  Router router;
  router.add("POST", "/build", [](Request& req, Response& res) {
    std::string got;
    char buf[8192];
    for (;;) {
      auto n = req.readSome(buf, sizeof buf);
      if (!n.ok()) return res.error(n.error());
      if (*n == 0) break;
      got.append(buf, *n);
    }
    res.send(200, "application/octet-stream", got);
  });
  router.add("POST", "/small", [](Request& req, Response& res) {
    auto body = req.readBody(1024);
    if (!body.ok()) return res.error(body.error());
    res.send(200, "text/plain", *body);
  });
  TestServer ts(std::move(router));

  std::string data(5 << 20, '\0');
  std::mt19937 rng(42);
  for (char& c : data) c = static_cast<char>(rng());
  std::string file = ts.dir() + "/context.tar";
  {
    sys::Fd out(::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_EQ(::write(out.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  sys::Fd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  Client client(ts.path());
  auto r = client.upload("POST", "/build", in.get(), "application/x-tar");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(r->body.size(), data.size());
  EXPECT_TRUE(r->body == data);

  r = client.request("POST", "/small", std::string(2048, 'a'), "text/plain");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->errorMessage(), "request body larger than 1024 bytes");
}

Router echoRouter(std::string* early_seen, std::mutex* mu) {
  Router router;
  router.add("POST", "/attach", [=](Request& req, Response& res) {
    if (req.header("content-type") == "application/json") {
      auto body = req.readJson();
      if (!body.ok()) return res.error(body.error());
    }
    std::string early;
    auto fd = res.hijack(
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
        "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
        &early);
    if (!fd.ok()) return;
    {
      std::lock_guard<std::mutex> lock(*mu);
      *early_seen = early;
    }
    std::string data = early;
    char buf[4096];
    for (;;) {
      if (!data.empty() && ::send(fd->get(), data.data(), data.size(), MSG_NOSIGNAL) < 0) return;
      ssize_t n = ::read(fd->get(), buf, sizeof buf);
      if (n <= 0) return;
      data.assign(buf, static_cast<size_t>(n));
    }
  });
  return router;
}

TEST(HttpServer, HijackEchoesTheRawStream) {
  std::mutex mu;
  std::string early;
  TestServer ts(echoRouter(&early, &mu));
  Client client(ts.path());
  auto h = client.hijack("POST", "/attach?stdin=1&stream=1");
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_EQ(h->status, 101);
  EXPECT_EQ(h->headers["upgrade"], "tcp");
  sendAll(h->fd.get(), "hello, world");
  ASSERT_EQ(::shutdown(h->fd.get(), SHUT_WR), 0);
  EXPECT_EQ(h->early_bytes + readToEnd(h->fd.get()), "hello, world");
}

TEST(HttpServer, HijackReturnsBytesSentWithTheRequest) {
  std::mutex mu;
  std::string early;
  TestServer ts(echoRouter(&early, &mu));
  sys::Fd fd = connectRaw(ts.path());
  // The JSON body belongs to the request; what follows it, sent in the same write, is
  // stream data the server has already buffered.
  sendAll(fd.get(),
          "POST /attach HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\n"
          "Content-Length: 2\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n{}stdin-bytes");
  ASSERT_EQ(::shutdown(fd.get(), SHUT_WR), 0);
  std::string all = readToEnd(fd.get());
  EXPECT_EQ(all.rfind("HTTP/1.1 101 UPGRADED\r\n", 0), 0u) << all;
  EXPECT_EQ(all.substr(all.find("\r\n\r\n") + 4), "stdin-bytes");
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(early, "stdin-bytes");
}

TEST(HttpServer, KeepsConnectionsAlive) {
  TestServer ts(basicRouter());
  sys::Fd fd = connectRaw(ts.path());
  sendAll(fd.get(), "GET /containers/a/json HTTP/1.1\r\nHost: berth\r\n\r\n");
  auto [head1, body1] = readRawResponse(fd.get());
  EXPECT_EQ(head1.rfind("HTTP/1.1 200", 0), 0u) << head1;
  EXPECT_EQ(nlohmann::json::parse(body1)["id"], "a");
  // A body the handler ignores is drained so that the next request parses.
  sendAll(fd.get(), "POST /ignore HTTP/1.1\r\nHost: berth\r\nContent-Length: 5\r\n\r\nabcde");
  auto [head2, body2] = readRawResponse(fd.get());
  EXPECT_EQ(body2, "ok");
  sendAll(fd.get(),
          "POST /ignore HTTP/1.1\r\nHost: berth\r\nTransfer-Encoding: chunked\r\n\r\n"
          "3\r\nabc\r\n0\r\n\r\n");
  auto [head3, body3] = readRawResponse(fd.get());
  EXPECT_EQ(body3, "ok");
  sendAll(fd.get(), "GET /containers/b/json HTTP/1.1\r\nHost: berth\r\nConnection: close\r\n\r\n");
  auto [head4, body4] = readRawResponse(fd.get());
  EXPECT_EQ(nlohmann::json::parse(body4)["id"], "b");
  EXPECT_NE(head4.find("Connection: close"), std::string::npos);
  EXPECT_EQ(readToEnd(fd.get()), "");  // closed after a Connection: close request
}

TEST(HttpServer, StreamsToHttp10ClientsUntilClose) {
  TestServer ts(basicRouter());
  sys::Fd fd = connectRaw(ts.path());
  sendAll(fd.get(), "GET /pieces HTTP/1.0\r\n\r\n");
  std::string all = readToEnd(fd.get());
  size_t end = all.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(all.find("chunked"), std::string::npos) << all;
  EXPECT_EQ(all.substr(end + 4), "ab");

  Client client(ts.path());  // HTTP/1.1: chunked, terminated by the server
  auto s = client.stream("GET", "/pieces");
  ASSERT_TRUE(s.ok());
  std::string piece, body;
  while (*(*s)->next(piece)) body += piece;
  EXPECT_EQ(body, "ab");
}

TEST(HttpServer, MalformedRequestIs400) {
  TestServer ts(basicRouter());
  sys::Fd fd = connectRaw(ts.path());
  sendAll(fd.get(), "GARBAGE\r\n\r\n");
  std::string all = readToEnd(fd.get());
  EXPECT_EQ(all.rfind("HTTP/1.1 400", 0), 0u) << all;
}

TEST(HttpServer, StopEndsServeAndClosesConnections) {
  Flag streaming;
  Router router = basicRouter();
  router.add("GET", "/forever", [&](Request&, Response& res) {
    ASSERT_TRUE(res.beginStream(200, "text/plain").ok());
    streaming.set();
    while (res.write(std::string(512, 'x')).ok()) {
    }
  });
  TestServer ts(std::move(router));
  sys::Fd idle = connectRaw(ts.path());
  sendAll(idle.get(), "GET /containers/a/json HTTP/1.1\r\nHost: berth\r\n\r\n");
  ASSERT_FALSE(readRawResponse(idle.get()).first.empty());
  Client client(ts.path());
  auto s = client.stream("GET", "/forever");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(streaming.wait());

  EXPECT_TRUE(ts.stop());
  EXPECT_EQ(readToEnd(idle.get()), "");  // the idle keep-alive connection was closed
  std::string piece;
  Result<bool> more = true;
  while (more.ok() && *more) more = (*s)->next(piece);
  EXPECT_FALSE(more.ok());  // the stream was cut off, not terminated
  EXPECT_FALSE(sys::exists(ts.path()));
}

size_t countEntries(const char* dir) {
  size_t n = 0;
  if (DIR* d = ::opendir(dir)) {
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

// Waits until `pred` holds, checking every few milliseconds, up to the deadline.
template <class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

TEST(HttpServer, LeavesNoThreadsOrDescriptorsBehind) {
  const size_t fds = countEntries("/proc/self/fd");
  const size_t tasks = countEntries("/proc/self/task");
  {
    Flag write_failed;
    std::mutex mu;
    std::string early;
    Router router = echoRouter(&early, &mu);
    router.add("GET", "/follow", [&](Request&, Response& res) {
      ASSERT_TRUE(res.beginStream(200, "text/plain").ok());
      while (res.write(std::string(1024, 'x')).ok()) {
      }
      write_failed.set();
    });
    router.add("GET", "/ok", [](Request&, Response& res) { res.send(200, "text/plain", "ok"); });
    TestServer ts(std::move(router));
    Client client(ts.path());
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.request("GET", "/ok").ok());
    {
      auto s = client.stream("GET", "/follow");
      ASSERT_TRUE(s.ok());
      std::string piece;
      ASSERT_TRUE(*(*s)->next(piece));
    }
    ASSERT_TRUE(write_failed.wait());
    {
      auto h = client.hijack("POST", "/attach");
      ASSERT_TRUE(h.ok());
      sendAll(h->fd.get(), "x");
      ::shutdown(h->fd.get(), SHUT_WR);
      EXPECT_EQ(h->early_bytes + readToEnd(h->fd.get()), "x");
    }
    // Finished connections are joined while serving, not only at stop: one thread serves.
    EXPECT_TRUE(eventually([&] { return countEntries("/proc/self/task") == tasks + 1; }));
    EXPECT_TRUE(ts.stop());
  }
  EXPECT_EQ(countEntries("/proc/self/fd"), fds);
  EXPECT_EQ(countEntries("/proc/self/task"), tasks);
}

TEST(HttpServer, ListenUnixReplacesStaleSocketsAndRefusesLiveOnes) {
  TempDir dir;
  std::string path = dir.path() + "/sub/dir/api.sock";
  {
    ASSERT_TRUE(sys::mkdirAll(dir.path() + "/sub/dir").ok());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    sys::Fd stale(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  Server first{Router()};
  Status s = first.listenUnix(path, 0600);
  ASSERT_TRUE(s.ok()) << s.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  Server second{Router()};
  s = second.listenUnix(path, 0600);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(s.error().message(), "listen on '" + path + "': another daemon is answering there");

  std::string fresh = dir.path() + "/new/parent/api.sock";
  ASSERT_TRUE(second.listenUnix(fresh, 0660).ok());
  ASSERT_EQ(::stat((dir.path() + "/new/parent").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST(HttpServer, TcpWithoutTlsIsRefused) {
  Server server{Router()};
  auto port = server.listenTcp("127.0.0.1", 0, TlsConfig{});
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(port.error().message(),
            "tcp listener needs --tlscacert, --tlscert and --tlskey: plain TCP is refused");
}

TEST(HttpClient, ConnectionErrorsSayWhatToCheck) {
  TempDir dir;
  Client client(dir.path() + "/missing.sock");
  auto r = client.request("GET", "/_ping");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message(), "connect to '" + dir.path() +
                                     "/missing.sock': no such file or directory; is berthd "
                                     "running?");
  Client bad("http://example.com");
  EXPECT_EQ(bad.request("GET", "/").error().code(), ErrorCode::kInvalidArgument);
}

TEST(HttpClient, ErrorMessageFallsBack) {
  ClientResponse r;
  r.status = 404;
  r.body = R"({"message": "no such container"})";
  EXPECT_EQ(r.errorMessage(), "no such container");
  r.body = "plain text\n";
  EXPECT_EQ(r.errorMessage(), "plain text");
  r.body = "";
  EXPECT_EQ(r.errorMessage(), "404 Not Found");
}

// ---- TLS ----

TEST(HttpTls, DemandsClientCertificates) {
  TempDir dir;
  const std::string& d = dir.path();
  ASSERT_TRUE(test::makeTestCertificates(d));

  Server server(basicRouter());
  auto port =
      server.listenTcp("127.0.0.1", 0, {d + "/server.pem", d + "/server-key.pem", d + "/ca.pem"});
  ASSERT_TRUE(port.ok()) << port.error().message();
  ASSERT_GT(*port, 0);
  std::thread serving([&] { server.serve(); });
  struct Joiner {
    Server& server;
    std::thread& thread;
    ~Joiner() {
      server.stop();
      thread.join();
    }
  } joiner{server, serving};

  std::string address = "tcp://127.0.0.1:" + std::to_string(*port);
  Client good(address, TlsConfig{d + "/client.pem", d + "/client-key.pem", d + "/ca.pem"});
  auto r = good.request("GET", "/containers/abc/json");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(bodyJson(*r)["id"], "abc");
  auto s = good.stream("GET", "/files/a/b");
  ASSERT_TRUE(s.ok()) << s.error().message();
  std::string piece, all;
  while (*(*s)->next(piece)) all += piece;
  EXPECT_EQ(nlohmann::json::parse(all)["rest"], "a/b");
  EXPECT_EQ(good.hijack("POST", "/attach").error().code(), ErrorCode::kUnsupported);

  Client anonymous(address, TlsConfig{"", "", d + "/ca.pem"});
  r = anonymous.request("GET", "/containers/abc/json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("certificate required"), std::string::npos)
      << r.error().message();

  Client plain(address);
  EXPECT_FALSE(plain.request("GET", "/containers/abc/json").ok());

  // A server certificate from another CA is refused by the client.
  TempDir other;
  ASSERT_TRUE(test::makeTestCertificates(other.path()));
  Client wrong_ca(address,
                  TlsConfig{d + "/client.pem", d + "/client-key.pem", other.path() + "/ca.pem"});
  r = wrong_ca.request("GET", "/containers/abc/json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos)
      << r.error().message();
}

}  // namespace
}  // namespace berth::api
