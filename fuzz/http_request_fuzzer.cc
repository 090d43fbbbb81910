// Raw bytes on a connection → berthd's real HTTP server: Beast's request parser, our Request
// (percent-decoding, the query, readBody/readJson/readSome over chunked and sized bodies,
// Expect: 100-continue), dockerPrepare's version prefix, the Router's {name} and {name*}
// segments, streamed and hijacked answers. The server listens on a unix socket in a temp
// dir for the whole run; each input is one connection, written and half-closed, and the
// server must answer with HTTP (or nothing) and close it, never crash or hang.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include "api/docker_create.h"
#include "api/docker_routes.h"
#include "api/http.h"
#include "common/log.h"
#include "sys/fs.h"

namespace {

using berth::api::Request;
using berth::api::Response;
using nlohmann::json;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "http_request_fuzzer: %s: %s\n", what.c_str(), std::strerror(errno));
  std::abort();
}

// Handlers shaped like berthd's: each reads the request the way a real endpoint does.
berth::api::Router fuzzRouter() {
  berth::api::Router r;
  r.add("GET", "/_ping", [](Request&, Response& res) { res.send(200, "text/plain", "OK"); });
  r.add("GET", "/containers/json", [](Request& req, Response& res) {
    res.json(200, json{{"all", req.queryBool("all")},
                       {"limit", req.queryValue("limit", "-1")},
                       {"filters", req.queryValue("filters")}});
  });
  // The create bodies go where berthd sends them (their decoding has a fuzzer of its own).
  r.add("POST", "/containers/create", [](Request& req, Response& res) {
    auto body = req.readJson(64 << 10);
    if (!body.ok()) return res.error(body.error());
    auto config = berth::api::docker::createConfig(*body, req.queryValue("name"));
    if (!config.ok()) return res.error(config.error());
    res.json(201, berth::engine::toJson(*config));
  });
  r.add("POST", "/v1/containers", [](Request& req, Response& res) {
    auto body = req.readJson(64 << 10);
    if (!body.ok()) return res.error(body.error());
    auto config = berth::engine::configFromJson(*body);
    if (!config.ok()) return res.error(config.error());
    if (auto s = berth::engine::validate(*config); !s.ok()) return res.error(s.error());
    res.json(201, json{{"id", config->name}, {"body", *body}});
  });
  r.add("GET", "/containers/{id}/json", [](Request& req, Response& res) {
    res.json(200, json{{"Id", req.params["id"]}});
  });
  r.add("POST", "/containers/{id}/start", [](Request& req, Response& res) {
    auto body = req.readBody(1024);
    if (!body.ok()) return res.error(body.error());
    res.send(204, "", "");
  });
  // Uploads: the body piece by piece (tar archives arrive chunked).
  r.add("PUT", "/containers/{id}/archive", [](Request& req, Response& res) {
    char buf[512];
    size_t total = 0;
    for (;;) {
      auto n = req.readSome(buf, sizeof buf);
      if (!n.ok()) return res.error(n.error());
      if (*n == 0) break;
      total += *n;
    }
    res.json(200, json{{"bytes", total}, {"path", req.queryValue("path")}});
  });
  r.add("GET", "/images/{name*}/json", [](Request& req, Response& res) {
    res.json(200, json{{"Name", req.params["name"]}});
  });
  r.add("GET", "/files/{path*}",
        [](Request& req, Response& res) { res.send(200, "text/plain", req.params["path"]); });
  r.add("GET", "/events", [](Request& req, Response& res) {
    if (!res.beginStream(200, "application/json").ok()) return;
    for (const auto& [k, v] : req.query)
      if (!res.write(json{{k, v}}.dump(-1, ' ', false, json::error_handler_t::replace)).ok())
        return;
    res.end();
  });
  // Attach: the connection is taken over and answered raw, as docker attach is.
  r.add("POST", "/containers/{id}/attach", [](Request&, Response& res) {
    std::string early;
    auto fd =
        res.hijack("HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", &early);
    if (!fd.ok()) return res.error(fd.error());
    (void)!::write(fd->get(), early.data(), early.size());
  });
  r.add("DELETE", "/containers/{id}", [](Request& req, Response& res) {
    res.json(200, json{{"force", req.queryBool("force")}, {"header", req.header("x-fuzz")}});
  });
  return r;
}

struct Fixture {
  std::string dir;
  std::string socket_path;
  berth::api::Server server{fuzzRouter(), berth::api::dockerPrepare};
  std::thread serving;

  Fixture() {
    char tmpl[] = "/tmp/berth-http-fuzz-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) die("mkdtemp");
    dir = tmpl;
    socket_path = dir + "/api.sock";
    berth::Status s = server.listenUnix(socket_path, 0600);
    if (!s.ok()) {
      std::fprintf(stderr, "http_request_fuzzer: %s\n", s.error().message().c_str());
      std::abort();
    }
    serving = std::thread([this] { server.serve(); });
  }
  ~Fixture() {
    server.stop();
    serving.join();
    (void)berth::sys::removeAll(dir);
  }
};

Fixture* g_fixture = nullptr;

void cleanUp() {
  delete g_fixture;
  g_fixture = nullptr;
}

int connectTo(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("connect");
  return fd;
}

// Writes `in` and reads the answer at the same time (a server answering pipelined requests
// must never block on a full socket), half-closes after the last byte, returns what the
// server wrote once it closed the connection.
std::string exchange(int fd, std::string_view in) {
  std::string out;
  size_t sent = 0;
  bool write_open = true;
  if (in.empty()) {
    ::shutdown(fd, SHUT_WR);
    write_open = false;
  }
  for (;;) {
    pollfd p{fd, static_cast<short>(POLLIN | (write_open ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (write_open && (p.revents & POLLOUT)) {
      ssize_t n = ::send(fd, in.data() + sent, in.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
      // The server may close before reading it all (a malformed head): that is an answer.
      if (n < 0 && errno != EAGAIN && errno != EINTR) sent = in.size();
      if (sent == in.size()) {
        ::shutdown(fd, SHUT_WR);
        write_open = false;
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16 << 10];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0) return out;
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
      } else if (errno == ECONNRESET) {
        return out;
      } else if (errno != EAGAIN && errno != EINTR) {
        die("recv");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  berth::log::configure("/dev/null", false, berth::log::Level::kError);
  g_fixture = new Fixture();
  std::atexit(cleanUp);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = connectTo(g_fixture->socket_path);
  std::string out = exchange(fd, std::string_view(reinterpret_cast<const char*>(data), size));
  ::close(fd);
  // Whatever the server says, it says in HTTP/1.1, status line first.
  if (!out.empty() && !out.starts_with("HTTP/1.1 ")) {
    std::fprintf(stderr, "answer is not HTTP: %.200s\n", out.c_str());
    std::abort();
  }
  return 0;
}
