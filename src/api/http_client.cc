#include "api/http.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>

#include "api/http_transport.h"
#include "common/strings.h"

namespace berth::api {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using detail::describe;
using detail::error_code;
using detail::kHeaderLimit;
using detail::kNoLimit;
using detail::Transport;

namespace {

constexpr size_t kPiece = 64 << 10;

std::string lowerFirst(std::string m) {
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}
// A failed connect: the daemon is not there (or not ours to reach).
Error connectError(const std::string& what, int err) {
  Error e = errnoError(what, err);
  if (err == EACCES || err == EPERM) return e;
  return Error(ErrorCode::kUnavailable, e.message() + "; is berthd running?");
}

// The inverse of httpStatus, for answers that end a call (hijack refused).
ErrorCode codeForStatus(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kConflict;
    case 501:
      return ErrorCode::kUnsupported;
    case 503:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

template <class Fields>
std::map<std::string, std::string> headersOf(const Fields& fields) {
  std::map<std::string, std::string> out;
  for (const auto& f : fields) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, inserted] = out.emplace(name, std::string(f.value()));
    if (!inserted) it->second += ", " + std::string(f.value());
  }
  return out;
}

template <class Body>
void prepareRequest(http::request<Body>& req, const std::string& method, const std::string& target,
                    std::string_view content_type, bool has_body,
                    const std::map<std::string, std::string>& headers) {
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(target);
  req.version(11);
  req.set(http::field::host, "berth");
  req.set(http::field::user_agent, "berth");
  if (has_body && !content_type.empty()) req.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) req.set(name, value);
}

Result<ClientResponse> readResponse(Transport& t, bool head, const std::string& what,
                                    const std::optional<Error>& send_error) {
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> p;
  p.header_limit(kHeaderLimit);
  p.body_limit(kNoLimit);
  if (head) p.skip(true);
  error_code ec;
  http::read(t, buffer, p, ec);
  if (ec) {
    // The server may have answered before refusing the rest of an upload; without an
    // answer, the failure to send is the better explanation.
    if (send_error) return send_error->context(what);
    return Error(ErrorCode::kUnavailable, what + ": read response: " + describe(ec));
  }
  ClientResponse r;
  r.status = static_cast<int>(p.get().result_int());
  r.headers = headersOf(p.get());
  r.body = std::move(p.get().body());
  return r;
}

class Stream : public ClientStream {
 public:
  Stream(std::unique_ptr<Transport> t, std::string what)
      : t_(std::move(t)), what_(std::move(what)) {
    parser_.header_limit(kHeaderLimit);
    parser_.body_limit(kNoLimit);
    // Beast reads as much as the buffer has room for: an empty flat_buffer means 512-byte
    // reads (a 100 MB archive took 190,000 recv calls).
    buffer_.reserve(kPiece);
  }

  Status readHead() {
    error_code ec;
    http::read_header(*t_, buffer_, parser_, ec);
    if (ec) return Error(ErrorCode::kUnavailable, what_ + ": read response: " + describe(ec));
    status = static_cast<int>(parser_.get().result_int());
    headers = headersOf(parser_.get());
    return okStatus();
  }

  Result<bool> next(std::string& out) override {
    out.resize(kPiece);
    auto& body = parser_.get().body();
    while (!parser_.is_done()) {
      body.data = out.data();
      body.size = out.size();
      error_code ec;
      http::read_some(*t_, buffer_, parser_, ec);
      size_t n = out.size() - body.size;
      body.data = nullptr;
      body.size = 0;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        out.clear();
        return Error(ErrorCode::kUnavailable, what_ + ": read response: " + describe(ec));
      }
      if (n > 0) {
        out.resize(n);
        return true;
      }
    }
    out.clear();
    return false;
  }

 private:
  std::unique_ptr<Transport> t_;
  std::string what_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
};

}  // namespace

namespace detail {

Result<int> dialTcp(const std::string& host, const std::string& port, const std::string& what,
                    const std::string& hint) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Error(ErrorCode::kUnavailable, what + ": " + lowerFirst(::gai_strerror(rc)));
  int fd = -1, err = ECONNREFUSED;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = errno;
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) {
    Error e = errnoError(what, err);
    if (err == EACCES || err == EPERM) return e;
    return Error(ErrorCode::kUnavailable, e.message() + hint);
  }
  return fd;
}

Result<std::unique_ptr<ClientStream>> responseStream(std::unique_ptr<Transport> t,
                                                     const std::string& what) {
  auto s = std::make_unique<Stream>(std::move(t), what);
  BERTH_RETURN_IF_ERROR(s->readHead());
  return std::unique_ptr<ClientStream>(std::move(s));
}

}  // namespace detail

std::string ClientResponse::errorMessage() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string())
    return j["message"].get<std::string>();
  std::string_view trimmed = trim(body);
  if (!trimmed.empty()) return std::string(trimmed);
  return std::to_string(status) + " " +
         std::string(http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status))));
}

Result<nlohmann::json> ClientResponse::json() const {
  if (trim(body).empty()) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    return invalidArgument(std::string("parse response body: ") + e.what());
  }
}

struct Client::Impl {
  enum class Kind { kUnix, kTcp, kBad };

  std::string address;
  std::optional<TlsConfig> tls;
  Kind kind = Kind::kBad;
  std::string path;  // kUnix
  std::string host;  // kTcp
  std::string port;  // kTcp
  std::shared_ptr<detail::TlsContext> ssl_ctx;

  Result<std::unique_ptr<Transport>> connect();
  Result<std::unique_ptr<Transport>> connectUnix();
  Result<std::unique_ptr<Transport>> connectTcp();
};

Result<std::unique_ptr<Transport>> Client::Impl::connect() {
  switch (kind) {
    case Kind::kUnix:
      return connectUnix();
    case Kind::kTcp:
      return connectTcp();
    case Kind::kBad:
      break;
  }
  return invalidArgument("connect to " + quote(address) +
                         ": unsupported address (want unix:///path or tcp://host:port)");
}

Result<std::unique_ptr<Transport>> Client::Impl::connectUnix() {
  const std::string what = "connect to " + quote(path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return invalidArgument(what + ": a socket path must be 1 to 107 bytes long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  sys::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return errnoError(what, errno);
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    return connectError(what, errno);
  }
  return std::unique_ptr<Transport>(std::make_unique<detail::UnixTransport>(std::move(fd)));
}

Result<std::unique_ptr<Transport>> Client::Impl::connectTcp() {
  const std::string what = "connect to " + quote(address);
  if (!tls)
    return invalidArgument(what + ": a tcp address needs tls settings: plain TCP is refused");
  if (!ssl_ctx) {
    auto ctx = detail::makeTlsContext(*tls, false);
    if (!ctx.ok()) return ctx.error().context(what);
    ssl_ctx = std::move(*ctx);
  }
  int fd = BERTH_TRY(detail::dialTcp(host, port, what, "; is berthd running?"));
  std::unique_ptr<Transport> t = detail::tlsTransport(ssl_ctx, fd);
  Status s = detail::tlsHandshake(*t, false, host);
  if (!s.ok()) return s.error().context(what);
  return t;
}

Client::Client(std::string address, std::optional<TlsConfig> tls)
    : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.address = std::move(address);
  d.tls = std::move(tls);
  if (startsWith(d.address, "unix://")) {
    d.kind = Impl::Kind::kUnix;
    d.path = d.address.substr(7);
  } else if (startsWith(d.address, "/")) {
    d.kind = Impl::Kind::kUnix;
    d.path = d.address;
  } else if (startsWith(d.address, "tcp://")) {
    std::string hostport = d.address.substr(6);
    while (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
    size_t colon = hostport.rfind(':');
    size_t bracket = hostport.rfind(']');
    if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
      d.host = hostport.substr(0, colon);
      d.port = hostport.substr(colon + 1);
      if (d.host.size() >= 2 && d.host.front() == '[' && d.host.back() == ']')
        d.host = d.host.substr(1, d.host.size() - 2);
      if (!d.host.empty() && !d.port.empty()) d.kind = Impl::Kind::kTcp;
    }
  }
}

Client::~Client() = default;

Result<ClientResponse> Client::request(const std::string& method, const std::string& target,
                                       std::string_view body, std::string_view content_type,
                                       const std::map<std::string, std::string>& headers) {
  const std::string what = "request " + quote(method + " " + target);
  auto t = BERTH_TRY(impl_->connect());
  http::request<http::string_body> req;
  prepareRequest(req, method, target, content_type, !body.empty(), headers);
  req.body() = body;
  req.keep_alive(false);
  req.prepare_payload();
  error_code ec;
  http::write(*t, req, ec);
  std::optional<Error> send_error;
  if (ec) send_error = Error(ErrorCode::kUnavailable, "send request: " + describe(ec));
  return readResponse(*t, method == "HEAD", what, send_error);
}

namespace {

// Sends the request head and `body_fd`'s contents, chunked. A failure to send is returned
// in `send_error` (the server may have answered already: its answer explains better);
// a failure to read `body_fd` is the result.
Status sendUpload(Transport& t, const std::string& method, const std::string& target, int body_fd,
                  std::string_view content_type, const std::map<std::string, std::string>& headers,
                  const std::string& what, std::optional<Error>& send_error) {
  http::request<http::empty_body> req;
  prepareRequest(req, method, target, content_type, true, headers);
  req.keep_alive(false);
  req.chunked(true);
  http::request_serializer<http::empty_body> sr{req};
  error_code ec;
  http::write_header(t, sr, ec);
  if (ec) send_error = Error(ErrorCode::kUnavailable, "send request: " + describe(ec));
  std::string buf(kPiece, '\0');
  while (!send_error) {
    ssize_t n = ::read(body_fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoError(what + ": read body", errno);
    Status s;
    if (n == 0) {
      s = t.writeAll({"0\r\n\r\n"});
    } else {
      char size[24];
      std::snprintf(size, sizeof size, "%zx\r\n", static_cast<size_t>(n));
      s = t.writeAll({size, std::string_view(buf.data(), static_cast<size_t>(n)), "\r\n"});
    }
    if (!s.ok()) send_error = s.error().context("send body");
    if (n == 0) break;
  }
  return okStatus();
}

}  // namespace

Result<ClientResponse> Client::upload(const std::string& method, const std::string& target,
                                      int body_fd, std::string_view content_type,
                                      const std::map<std::string, std::string>& headers) {
  const std::string what = "upload " + quote(method + " " + target);
  auto t = BERTH_TRY(impl_->connect());
  std::optional<Error> send_error;
  BERTH_RETURN_IF_ERROR(
      sendUpload(*t, method, target, body_fd, content_type, headers, what, send_error));
  return readResponse(*t, method == "HEAD", what, send_error);
}

Result<std::unique_ptr<ClientStream>> Client::uploadStream(
    const std::string& method, const std::string& target, int body_fd,
    std::string_view content_type, const std::map<std::string, std::string>& headers) {
  const std::string what = "upload " + quote(method + " " + target);
  auto t = BERTH_TRY(impl_->connect());
  std::optional<Error> send_error;
  BERTH_RETURN_IF_ERROR(
      sendUpload(*t, method, target, body_fd, content_type, headers, what, send_error));
  auto s = std::make_unique<Stream>(std::move(t), what);
  if (auto head = s->readHead(); !head) {
    if (send_error) return send_error->context(what);
    return head.error();
  }
  return std::unique_ptr<ClientStream>(std::move(s));
}

Result<std::unique_ptr<ClientStream>> Client::stream(const std::string& method,
                                                     const std::string& target,
                                                     std::string_view body,
                                                     std::string_view content_type) {
  const std::string what = "request " + quote(method + " " + target);
  auto t = BERTH_TRY(impl_->connect());
  http::request<http::string_body> req;
  prepareRequest(req, method, target, content_type, !body.empty(), {});
  req.body() = body;
  req.keep_alive(false);
  req.prepare_payload();
  error_code ec;
  http::write(*t, req, ec);
  if (ec) return Error(ErrorCode::kUnavailable, what + ": send request: " + describe(ec));
  auto s = std::make_unique<Stream>(std::move(t), what);
  BERTH_RETURN_IF_ERROR(s->readHead());
  return std::unique_ptr<ClientStream>(std::move(s));
}

Result<Hijacked> Client::hijack(const std::string& method, const std::string& target,
                                std::string_view body, std::string_view content_type) {
  const std::string what = "request " + quote(method + " " + target);
  if (impl_->kind == Impl::Kind::kTcp)
    return unsupported(what + ": taking a connection over needs a unix socket");
  auto t = BERTH_TRY(impl_->connect());
  http::request<http::string_body> req;
  prepareRequest(req, method, target, content_type, !body.empty(), {});
  req.body() = body;
  req.prepare_payload();
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, "tcp");
  error_code ec;
  http::write(*t, req, ec);
  if (ec) return Error(ErrorCode::kUnavailable, what + ": send request: " + describe(ec));

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> p;
  p.header_limit(kHeaderLimit);
  http::read_header(*t, buffer, p, ec);
  if (ec) return Error(ErrorCode::kUnavailable, what + ": read response: " + describe(ec));
  Hijacked h;
  h.status = static_cast<int>(p.get().result_int());
  if (h.status != 101 && (h.status < 200 || h.status >= 300)) {
    // A refusal carries an error body; the connection is not taken over.
    http::read(*t, buffer, p, ec);
    ClientResponse r;
    r.status = h.status;
    r.body = std::move(p.get().body());
    return Error(codeForStatus(h.status), r.errorMessage());
  }
  h.headers = headersOf(p.get());
  h.early_bytes = beast::buffers_to_string(buffer.data());
  h.fd = static_cast<detail::UnixTransport&>(*t).release();
  return h;
}

}  // namespace berth::api
