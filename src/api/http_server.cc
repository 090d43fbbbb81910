#include "api/http.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <list>
#include <mutex>
#include <thread>

#include "api/http_transport.h"
#include "common/log.h"
#include "common/strings.h"
#include "sys/fs.h"

namespace berth::api {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using detail::describe;
using detail::error_code;
using detail::kHeaderLimit;
using detail::kNoLimit;
using detail::Transport;

int httpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kUnsupported:
      return 501;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

namespace {

// A request body the server may read and drop to keep a connection alive; past this it
// closes the connection instead.
constexpr size_t kDrainLimit = 1 << 20;

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Malformed escapes are kept as they are, as Go's lenient decoders do for paths.
std::string percentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hexDigit(s[i + 1]), lo = hexDigit(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && s[i] == '+') ? ' ' : s[i];
  }
  return out;
}

std::multimap<std::string, std::string> parseQuery(std::string_view q) {
  std::multimap<std::string, std::string> out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key = percentDecode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1), true);
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

// Arrays and objects nested deeper than this are refused: nlohmann's dump, copy and
// comparison recurse once per level, and a 16 MB body of '[' would overflow the stack of
// the connection's thread wherever the document is walked (an error message quoting it,
// say). Docker's bodies nest a few levels deep.
constexpr size_t kJsonDepthLimit = 512;

// The offset of the first '[' or '{' nested deeper than `limit` in `text`, outside
// strings; nullopt when there is none. Malformed JSON is the parser's to report.
std::optional<size_t> nestedPast(std::string_view text, size_t limit) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

}  // namespace

// ---- Request, Response ----

std::string Request::queryValue(const std::string& key, const std::string& fallback) const {
  auto it = query.find(key);
  return it == query.end() ? fallback : it->second;
}

bool Request::queryBool(const std::string& key, bool fallback) const {
  auto it = query.find(key);
  if (it == query.end()) return fallback;
  std::string v = toLower(it->second);
  return !(v.empty() || v == "0" || v == "no" || v == "false" || v == "none");
}

std::string Request::header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string() : it->second;
}

Result<nlohmann::json> Request::readJson(size_t limit) {
  std::string body = BERTH_TRY(readBody(limit));
  if (trim(body).empty()) return nlohmann::json::object();
  if (auto at = nestedPast(body, kJsonDepthLimit))
    return invalidArgument("parse request body: json at byte " + std::to_string(*at + 1) +
                           " nested deeper than " + std::to_string(kJsonDepthLimit) +
                           " arrays and objects");
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error
    // while parsing value - invalid literal; last read: 'x'": keep what follows " - ".
    std::string what = e.what();
    size_t dash = what.rfind(" - ");
    std::string cause = dash == std::string::npos ? what : what.substr(dash + 3);
    return invalidArgument("parse request body: invalid json at byte " + std::to_string(e.byte) +
                           ": " + cause);
  } catch (const nlohmann::json::exception& e) {
    return invalidArgument(std::string("parse request body: ") + e.what());
  }
}

void Response::json(int status, const nlohmann::json& body) {
  // Replace invalid UTF-8 (a container's output can hold anything) instead of throwing.
  send(status, "application/json",
       body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Response::error(const Error& e) {
  json(httpStatus(e.code()), nlohmann::json{{"message", e.message()}});
}

// ---- one connection ----

namespace {

using Parser = http::request_parser<http::buffer_body>;

class ServerRequest : public Request {
 public:
  ServerRequest(Transport& t, beast::flat_buffer& buffer, Parser& parser)
      : t_(t), buffer_(buffer), parser_(parser) {
    auto& h = parser.get();
    method = std::string(h.method_string());
    target = std::string(h.target());
    size_t q = target.find('?');
    path = percentDecode(std::string_view(target).substr(0, q), false);
    if (q != std::string::npos) query = parseQuery(std::string_view(target).substr(q + 1));
    for (const auto& f : h) {
      std::string name = toLower(f.name_string());
      auto [it, inserted] = headers.emplace(name, std::string(f.value()));
      if (!inserted) it->second += ", " + std::string(f.value());
    }
    expect_continue_ = h.version() >= 11 && toLower(header("expect")) == "100-continue";
  }

  Result<std::string> readBody(size_t limit) override {
    std::string out;
    if (auto len = parser_.content_length()) {
      if (*len > limit) return tooLarge(limit);
      out.reserve(static_cast<size_t>(*len));
    }
    for (;;) {
      size_t old = out.size();
      out.resize(old + (64 << 10));
      auto n = readSome(out.data() + old, 64 << 10);
      if (!n.ok()) return n.error();
      out.resize(old + *n);
      if (*n == 0) return out;
      if (out.size() > limit) return tooLarge(limit);
    }
  }

  Result<size_t> readSome(char* buf, size_t size) override {
    if (parser_.is_done() || size == 0) return size_t{0};
    if (broken_) return Error(ErrorCode::kUnavailable, "read request body: connection failed");
    if (expect_continue_ && !continue_sent_) {
      continue_sent_ = true;
      Status s = t_.writeAll({"HTTP/1.1 100 Continue\r\n\r\n"});
      if (!s.ok()) {
        broken_ = true;
        return s.error().context("read request body");
      }
    }
    auto& body = parser_.get().body();
    while (!parser_.is_done()) {
      body.data = buf;
      body.size = size;
      error_code ec;
      http::read_some(t_, buffer_, parser_, ec);
      size_t n = size - body.size;
      body.data = nullptr;
      body.size = 0;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        broken_ = true;
        bool malformed = ec.category() == make_error_code(http::error::bad_chunk).category() &&
                         ec != http::error::partial_message;
        return Error(malformed ? ErrorCode::kInvalidArgument : ErrorCode::kUnavailable,
                     "read request body: " + describe(ec));
      }
      if (n > 0) return n;
    }
    return size_t{0};
  }

  // Whether the connection could serve another request after this one, as far as the
  // body is concerned (decided before the response says keep-alive or close).
  bool mayKeepAlive() const {
    if (parser_.is_done()) return true;
    if (broken_ || (expect_continue_ && !continue_sent_)) return false;
    auto left = parser_.content_length_remaining();
    return !left || *left <= kDrainLimit;
  }

  // Reads and drops the rest of the body, up to `limit` bytes; false when the connection
  // must close instead.
  bool drain(size_t limit) {
    if (parser_.is_done()) return true;
    if (!mayKeepAlive()) return false;
    char scratch[16 << 10];
    size_t total = 0;
    while (total <= limit) {
      auto n = readSome(scratch, sizeof scratch);
      if (!n.ok()) return false;
      if (*n == 0) return true;
      total += *n;
    }
    return false;
  }

  beast::flat_buffer& buffer() { return buffer_; }
  unsigned version() const { return parser_.get().version(); }

 private:
  Error tooLarge(size_t limit) {
    return invalidArgument("request body larger than " + std::to_string(limit) + " bytes");
  }

  Transport& t_;
  beast::flat_buffer& buffer_;
  Parser& parser_;
  bool expect_continue_ = false;
  bool continue_sent_ = false;
  bool broken_ = false;
};

class ServerResponse : public Response {
 public:
  ServerResponse(Transport& t, ServerRequest& req, bool keep_alive)
      : t_(t),
        req_(req),
        keep_alive_(keep_alive),
        head_(req.method == "HEAD"),
        http10_(req.version() < 11) {}

  void setHeader(const std::string& name, const std::string& value) override {
    fields_.set(name, value);
  }

  void send(int status, std::string_view content_type, std::string_view body) override {
    if (state_ != State::kNone) {
      log::error("respond to " + describeRequest() + ": the handler answered twice");
      return;
    }
    state_ = State::kSent;
    http::response<http::string_body> r;
    prepareHead(r, status, content_type);
    bool bodiless = r.result_int() < 200 || r.result_int() == 204 || r.result_int() == 304;
    if (!bodiless) r.body() = body;
    r.prepare_payload();
    error_code ec;
    if (head_ || bodiless) {
      http::response_serializer<http::string_body> sr{r};
      http::write_header(t_, sr, ec);
    } else {
      http::write(t_, r, ec);
    }
    if (ec) broken_ = true;
  }

  Status beginStream(int status, std::string_view content_type) override {
    if (state_ != State::kNone) return conflict("begin stream: the handler already answered");
    state_ = State::kStreaming;
    http::response<http::empty_body> r;
    if (http10_) keep_alive_ = false;  // no chunking in HTTP/1.0: the close ends the body
    prepareHead(r, status, content_type);
    if (!http10_) r.chunked(true);
    http::response_serializer<http::empty_body> sr{r};
    error_code ec;
    http::write_header(t_, sr, ec);
    if (ec) {
      broken_ = true;
      return Error(ErrorCode::kUnavailable, "begin stream: " + describe(ec));
    }
    return okStatus();
  }

  Status write(std::string_view data) override {
    if (state_ != State::kStreaming) return conflict("write stream: no stream begun");
    if (broken_) return Error(ErrorCode::kUnavailable, "write stream: the client went away");
    if (data.empty()) return okStatus();  // an empty chunk would end the body
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    Status s = http10_ ? t_.writeAll({data}) : t_.writeAll({size, data, "\r\n"});
    if (!s.ok()) {
      broken_ = true;
      return s.error().context("write stream");
    }
    return okStatus();
  }

  void end() override {
    if (state_ != State::kStreaming) return;
    state_ = State::kEnded;
    if (!broken_ && !http10_ && !t_.writeAll({"0\r\n\r\n"}).ok()) broken_ = true;
  }

  Result<sys::Fd> hijack(std::string_view head, std::string* early_bytes) override {
    if (!t_.isUnix())
      return unsupported("hijack connection: only unix-socket connections can be taken over");
    if (state_ != State::kNone) return conflict("hijack connection: the handler already answered");
    // Whatever is left of the request body is not stream data.
    if (!req_.drain(kDrainLimit))
      return invalidArgument("hijack connection: request body too large or unreadable");
    state_ = State::kHijacked;
    Status s = t_.writeAll({head});
    if (!s.ok()) {
      broken_ = true;
      return s.error().context("hijack connection");
    }
    // A duplicate: the connection thread closes its own descriptor when the handler
    // returns, and keeps it until then so that stop() can shut the socket down.
    int fd = ::fcntl(t_.fd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return errnoError("hijack connection", errno);
    beast::flat_buffer& buffer = req_.buffer();
    if (early_bytes) *early_bytes = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    return sys::Fd(fd);
  }

  bool peerClosed() override {
    if (broken_) return true;
    // POLLRDHUP sees a shutdown even behind unread bytes (a TLS close_notify, say), which
    // a peek cannot; the peek covers kernels or sockets that do not report it.
    pollfd p{t_.fd(), POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return true;
    char c;
    ssize_t r = ::recv(t_.fd(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0) return true;
    return r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  }

  // Answers 500 for a handler that threw; a stream already begun is cut off instead.
  void fail(const std::string& cause) {
    log::error("handle " + describeRequest() + ": " + cause);
    if (state_ == State::kNone) {
      json(500, nlohmann::json{{"message", "internal error: " + cause}});
    } else {
      broken_ = true;
    }
  }

  // Completes what the handler left open; true when the connection can take another request.
  bool finish() {
    switch (state_) {
      case State::kHijacked:
        return false;
      case State::kNone:
        log::error("handle " + describeRequest() + ": the handler sent no response");
        json(500, nlohmann::json{{"message", "internal error: no response"}});
        break;
      case State::kStreaming:
        end();
        break;
      case State::kSent:
      case State::kEnded:
        break;
    }
    return !broken_ && keep_alive_ && req_.drain(kDrainLimit);
  }

 private:
  enum class State { kNone, kSent, kStreaming, kEnded, kHijacked };

  template <class Message>
  void prepareHead(Message& r, int status, std::string_view content_type) {
    r.version(11);
    r.result(static_cast<unsigned>(status >= 100 && status <= 999 ? status : 500));
    for (const auto& f : fields_) r.insert(f.name_string(), f.value());
    if (!content_type.empty()) r.set(http::field::content_type, content_type);
    keep_alive_ = keep_alive_ && req_.mayKeepAlive();
    r.keep_alive(keep_alive_);
  }

  std::string describeRequest() const { return quote(req_.method + " " + req_.path); }

  Transport& t_;
  ServerRequest& req_;
  http::fields fields_;
  State state_ = State::kNone;
  bool keep_alive_;
  bool head_;
  bool http10_;
  bool broken_ = false;
};

}  // namespace

// ---- Server ----

struct Server::Impl {
  struct Listener {
    int fd = -1;
    std::string unix_path;  // removed on close when it is still our socket
    ino_t unix_inode = 0;
    std::shared_ptr<detail::TlsContext> tls;  // TCP listeners only
  };
  struct Conn {
    std::thread thread;
    int fd = -1;  // guarded by mu; -1 once the connection closes its socket
    std::atomic<bool> done{false};
  };

  Router router;
  Prepare prepare;
  std::vector<Listener> listeners;  // listen… and serve() only
  int wake_fd = -1;                 // eventfd: stop() wakes serve()
  int reap_fd = -1;                 // eventfd: a finished connection asks serve() to join it
  std::mutex mu;
  bool stopping = false;                   // guarded by mu
  std::list<std::shared_ptr<Conn>> conns;  // guarded by mu

  void startConnection(int fd, std::shared_ptr<detail::TlsContext> tls);
  void runConnection(Conn& conn, int fd, const std::shared_ptr<detail::TlsContext>& tls);
  void serveConnection(Transport& t);
  void dispatch(ServerRequest& req, ServerResponse& res);
  void reapFinished();
  void shutdownAndJoin();
  void closeListeners();
};

void Server::Impl::startConnection(int fd, std::shared_ptr<detail::TlsContext> tls) {
  auto conn = std::make_shared<Conn>();
  conn->fd = fd;
  std::lock_guard<std::mutex> lock(mu);
  if (stopping) {
    ::close(fd);
    return;
  }
  try {
    conn->thread = std::thread([this, conn, fd, tls] { runConnection(*conn, fd, tls); });
  } catch (const std::system_error& e) {
    log::error(std::string("serve connection: start thread: ") + e.what());
    ::close(fd);
    return;
  }
  conns.push_back(std::move(conn));
}

void Server::Impl::runConnection(Conn& conn, int fd,
                                 const std::shared_ptr<detail::TlsContext>& tls) {
  std::unique_ptr<Transport> t;
  try {
    if (tls) {
      // The descriptor stays tracked through the handshake: stop() can cut a slow one.
      t = detail::tlsTransport(tls, fd);
      Status s = detail::tlsHandshake(*t, true);
      if (s.ok()) {
        serveConnection(*t);
      } else {
        log::debug("serve tls connection: " + s.error().message());
      }
    } else {
      t = std::make_unique<detail::UnixTransport>(sys::Fd(fd));
      serveConnection(*t);
    }
  } catch (const std::exception& e) {
    log::error(std::string("serve connection: ") + e.what());
  }
  {
    // Untracked before it closes: stop() must never shut down a reused descriptor.
    std::lock_guard<std::mutex> lock(mu);
    conn.fd = -1;
  }
  t.reset();
  conn.done = true;
  if (reap_fd >= 0) {
    std::uint64_t one = 1;
    (void)!::write(reap_fd, &one, sizeof one);
  }
}

void Server::Impl::serveConnection(Transport& t) {
  beast::flat_buffer buffer;
  // Beast reads as much as the buffer has room for: an empty flat_buffer means 512-byte
  // reads (an uploaded 100 MB archive took 190,000 recv calls).
  buffer.reserve(64 << 10);
  for (;;) {
    Parser parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(kNoLimit);  // handlers set their own limits
    error_code ec;
    http::read_header(t, buffer, parser, ec);
    if (ec) {
      bool malformed = ec.category() == make_error_code(http::error::bad_chunk).category() &&
                       ec != http::error::end_of_stream && ec != http::error::partial_message;
      if (malformed) {
        std::string body = nlohmann::json{{"message", "bad request: " + describe(ec)}}.dump();
        (void)t.writeAll(
            {"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
             "Connection: close\r\nContent-Length: ",
             std::to_string(body.size()), "\r\n\r\n", body});
      }
      return;
    }
    ServerRequest req(t, buffer, parser);
    ServerResponse res(t, req, parser.get().keep_alive());
    dispatch(req, res);
    if (!res.finish()) return;
  }
}

void Server::Impl::dispatch(ServerRequest& req, ServerResponse& res) {
  try {
    if (prepare && !prepare(req, res)) return;
    bool method_allowed = true;
    std::optional<Handler> handler = router.match(req.method, req.path, req.params, method_allowed);
    if (!handler) {
      if (method_allowed) {
        res.json(404, nlohmann::json{{"message", "page not found"}});
      } else {
        res.json(405, nlohmann::json{{"message", "method " + req.method + " not allowed"}});
      }
      return;
    }
    (*handler)(req, res);
  } catch (const std::exception& e) {
    res.fail(e.what());
  } catch (...) {
    res.fail("unknown exception");
  }
}

void Server::Impl::reapFinished() {
  std::list<std::shared_ptr<Conn>> finished;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = conns.begin(); it != conns.end();) {
      auto next = std::next(it);
      if ((*it)->done) finished.splice(finished.end(), conns, it);
      it = next;
    }
  }
  for (auto& c : finished) c->thread.join();
}

void Server::Impl::shutdownAndJoin() {
  std::list<std::shared_ptr<Conn>> all;
  {
    std::lock_guard<std::mutex> lock(mu);
    stopping = true;
    for (auto& c : conns) {
      if (c->fd >= 0) ::shutdown(c->fd, SHUT_RDWR);
    }
    all.swap(conns);
  }
  for (auto& c : all) c->thread.join();
}

void Server::Impl::closeListeners() {
  for (Listener& l : listeners) {
    ::close(l.fd);
    struct stat st {};
    if (!l.unix_path.empty() && ::lstat(l.unix_path.c_str(), &st) == 0 &&
        st.st_ino == l.unix_inode) {
      ::unlink(l.unix_path.c_str());
    }
  }
  listeners.clear();
}

Server::Server(Router router, Prepare prepare) : impl_(std::make_unique<Impl>()) {
  impl_->router = std::move(router);
  impl_->prepare = std::move(prepare);
  impl_->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  impl_->reap_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl_->wake_fd < 0 || impl_->reap_fd < 0)
    log::warn(std::string("create server: eventfd: ") + std::strerror(errno));
}

Server::~Server() {
  stop();
  impl_->closeListeners();
  impl_->shutdownAndJoin();
  if (impl_->wake_fd >= 0) ::close(impl_->wake_fd);
  if (impl_->reap_fd >= 0) ::close(impl_->reap_fd);
}

Status Server::listenUnix(const std::string& path, unsigned mode) {
  const std::string what = "listen on " + quote(path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return invalidArgument(what + ": a socket path must be 1 to 107 bytes long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0 && !sys::isDirectory(path.substr(0, slash))) {
    Status s = sys::mkdirAll(path.substr(0, slash), 0755);
    if (!s.ok()) return s.error().context(what);
  }
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return alreadyExists(what + ": a file that is not a socket is there");
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return errnoError(what, errno);
    int rc = ::connect(probe, sa, sizeof addr);
    int err = errno;
    ::close(probe);
    if (rc == 0) return alreadyExists(what + ": another daemon is answering there");
    if (err != ECONNREFUSED && err != ENOENT) return errnoError(what + ": probe old socket", err);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return errnoError(what + ": remove stale socket", errno);
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return errnoError(what, errno);
  if (::bind(fd, sa, sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    return errnoError(what, err);
  }
  if (::chmod(path.c_str(), mode) != 0 || ::listen(fd, SOMAXCONN) != 0 ||
      ::lstat(path.c_str(), &st) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return errnoError(what, err);
  }
  Impl::Listener l;
  l.fd = fd;
  l.unix_path = path;
  l.unix_inode = st.st_ino;
  impl_->listeners.push_back(std::move(l));
  return okStatus();
}

Result<int> Server::listenTcp(const std::string& host, int port, const TlsConfig& tls) {
  const std::string what = "listen on " + quote(host + ":" + std::to_string(port));
  if (tls.cert_file.empty() || tls.key_file.empty() || tls.ca_file.empty())
    return invalidArgument(
        "tcp listener needs --tlscacert, --tlscert and --tlskey: plain TCP is refused");
  auto ctx = detail::makeTlsContext(tls, true);
  if (!ctx.ok()) return ctx.error().context(what);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    std::string cause = ::gai_strerror(rc);
    cause[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(cause[0])));
    return invalidArgument(what + ": " + cause);
  }
  int fd = -1, err = EADDRNOTAVAIL;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) return errnoError(what, err);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  int bound_port = bound.ss_family == AF_INET6
                       ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  Impl::Listener l;
  l.fd = fd;
  l.tls = std::move(*ctx);
  impl_->listeners.push_back(std::move(l));
  return bound_port;
}

void Server::serve() {
  Impl& d = *impl_;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(d.mu);
      if (d.stopping) break;
    }
    constexpr size_t kFirstListener = 2;
    std::vector<pollfd> fds;
    fds.push_back({d.wake_fd, POLLIN, 0});
    fds.push_back({d.reap_fd, POLLIN, 0});
    for (const auto& l : d.listeners) fds.push_back({l.fd, POLLIN, 0});
    // Without eventfds, look at the stop flag and the finished connections now and then.
    int rc = ::poll(fds.data(), fds.size(), d.wake_fd < 0 || d.reap_fd < 0 ? 200 : -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      log::error(std::string("serve: poll: ") + std::strerror(errno));
      break;
    }
    if (fds[1].revents != 0) {
      std::uint64_t count;
      (void)!::read(d.reap_fd, &count, sizeof count);
    }
    for (size_t i = kFirstListener; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const Impl::Listener& l = d.listeners[i - kFirstListener];
      int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR || err == ECONNABORTED) continue;
        log::warn(std::string("serve: accept: ") + std::strerror(err));
        // Out of descriptors: back off instead of spinning on a listener that stays ready.
        pollfd wake{d.wake_fd, POLLIN, 0};
        ::poll(&wake, 1, 100);
        continue;
      }
      d.startConnection(fd, l.tls);
    }
    d.reapFinished();
  }
  d.closeListeners();
  d.shutdownAndJoin();
}

void Server::stop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->stopping = true;
  if (impl_->wake_fd >= 0) {
    std::uint64_t one = 1;
    (void)!::write(impl_->wake_fd, &one, sizeof one);
  }
  for (auto& c : impl_->conns) {
    if (c->fd >= 0) ::shutdown(c->fd, SHUT_RDWR);
  }
}

}  // namespace berth::api
