#include "store/etcd_http.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>
#include <thread>

#include "common/strings.h"

namespace berth::store::etcd {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kFirstBackoff = std::chrono::milliseconds(20);
constexpr auto kLastBackoff = std::chrono::milliseconds(1000);
constexpr size_t kIdleConnections = 256;  // one per concurrent caller, up to this
// gRPC status codes that etcd's gateway puts in its error bodies.
constexpr int kGrpcInvalidArgument = 3;
constexpr int kGrpcNotFound = 5;
constexpr int kGrpcAlreadyExists = 6;
constexpr int kGrpcPermissionDenied = 7;
constexpr int kGrpcResourceExhausted = 8;
constexpr int kGrpcFailedPrecondition = 9;
constexpr int kGrpcOutOfRange = 11;
constexpr int kGrpcUnavailable = 14;

std::string lowerFirst(std::string m) {
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

std::string describe(const error_code& ec) { return lowerFirst(ec.message()); }

struct Connection {
  // Beast reads at most the buffer's free capacity per call; without room reserved, a
  // range answer of a few KiB takes a dozen 512-byte reads.
  explicit Connection(net::io_context& io) : socket(io) { buffer.reserve(64 << 10); }
  tcp::socket socket;
  boost::beast::flat_buffer buffer;  // bytes read past the last response
};

http::request<http::string_body> makeRequest(const std::string& host, const std::string& path,
                                             const std::string& body) {
  http::request<http::string_body> req{http::verb::post, path, 11};
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/json");
  req.keep_alive(true);
  req.body() = body;
  req.prepare_payload();
  return req;
}

class GatewayStream : public Stream {
 public:
  GatewayStream(std::unique_ptr<Connection> conn, std::string what)
      : conn_(std::move(conn)), what_(std::move(what)) {
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  Status readHead() {
    error_code ec;
    http::read_header(conn_->socket, conn_->buffer, parser_, ec);
    if (ec) return unavailable(what_ + ": read response: " + describe(ec));
    status_ = static_cast<int>(parser_.get().result_int());
    return okStatus();
  }
  int status() const { return status_; }

  Result<nlohmann::json> next() override {
    while (true) {
      if (size_t nl = pending_.find('\n'); nl != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        if (trim(line).empty()) continue;
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded())
          return internalError(what_ + ": not JSON: " + quote(line.substr(0, 200)));
        return j;
      }
      if (parser_.is_done()) {
        if (!trim(pending_).empty()) {  // a last message without its newline
          pending_ += '\n';
          continue;
        }
        return unavailable(what_ + ": etcd ended the stream");
      }
      char piece[16 << 10];
      auto& body = parser_.get().body();
      body.data = piece;
      body.size = sizeof piece;
      error_code ec;
      http::read_some(conn_->socket, conn_->buffer, parser_, ec);
      size_t n = sizeof piece - body.size;
      body.data = nullptr;
      body.size = 0;
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return unavailable(what_ + ": read: " + describe(ec));
      pending_.append(piece, n);
    }
  }

  void shutdown() override {
    // Only the descriptor is touched: the reading thread owns the socket object.
    ::shutdown(conn_->socket.native_handle(), SHUT_RDWR);
  }

 private:
  std::unique_ptr<Connection> conn_;
  std::string what_;
  http::response_parser<http::buffer_body> parser_;
  int status_ = 0;
  std::string pending_;
};

}  // namespace

struct HttpPool::Impl {
  std::string host;  // for the Host header
  tcp::endpoint address;
  std::chrono::milliseconds retry_for;
  net::io_context io;
  std::mutex mu;
  std::vector<std::unique_ptr<Connection>> idle;  // GUARDED_BY(mu)

  Result<std::unique_ptr<Connection>> connect(const std::string& what) {
    auto conn = std::make_unique<Connection>(io);
    error_code ec;
    conn->socket.connect(address, ec);
    if (ec) return unavailable(what + ": connect: " + describe(ec));
    conn->socket.set_option(tcp::no_delay(true), ec);
    return conn;
  }

  std::unique_ptr<Connection> takeIdle() {
    std::lock_guard lock(mu);
    if (idle.empty()) return nullptr;
    auto conn = std::move(idle.back());
    idle.pop_back();
    return conn;
  }

  void giveBack(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mu);
    if (idle.size() < kIdleConnections) idle.push_back(std::move(conn));
  }
};

HttpPool::HttpPool(std::string endpoint, std::unique_ptr<Impl> impl)
    : endpoint_(std::move(endpoint)), impl_(std::move(impl)) {}
HttpPool::~HttpPool() = default;

Result<std::unique_ptr<HttpPool>> HttpPool::make(const std::string& endpoint,
                                                 std::chrono::milliseconds retry_for) {
  std::string hostport = startsWith(endpoint, "http://") ? endpoint.substr(7) : endpoint;
  if (!hostport.empty() && hostport.back() == '/') hostport.pop_back();
  size_t colon = hostport.rfind(':');
  auto port = colon == std::string::npos ? std::nullopt : parseInt(hostport.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535 || colon == 0)
    return invalidArgument("etcd endpoint " + quote(endpoint) +
                           ": want HOST:PORT, e.g. 127.0.0.1:2379");
  std::string host = hostport.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto impl = std::make_unique<Impl>();
  impl->host = hostport;
  impl->retry_for = retry_for;
  error_code ec;
  tcp::resolver resolver(impl->io);
  auto found = resolver.resolve(host, std::to_string(*port), ec);
  if (ec || found.empty())
    return unavailable("etcd endpoint " + quote(endpoint) + ": resolve " + quote(host) + ": " +
                       describe(ec));
  impl->address = found.begin()->endpoint();
  return std::unique_ptr<HttpPool>(new HttpPool(hostport, std::move(impl)));
}

Result<nlohmann::json> HttpPool::post(const std::string& path, const std::string& body) {
  const std::string what = "etcd at " + endpoint_ + " " + path;
  auto deadline = std::chrono::steady_clock::now() + impl_->retry_for;
  auto backoff = kFirstBackoff;
  auto req = makeRequest(impl_->host, path, body);
  Error last = unavailable(what + ": not tried");
  while (true) {
    auto conn = impl_->takeIdle();
    bool reused = conn != nullptr;
    if (!conn) {
      auto fresh = impl_->connect(what);
      if (fresh)
        conn = std::move(*fresh);
      else
        last = fresh.error();
    }
    if (conn) {
      error_code ec;
      http::write(conn->socket, req, ec);
      http::response_parser<http::string_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      if (!ec) http::read(conn->socket, conn->buffer, parser, ec);
      if (ec) {
        last = unavailable(what + ": " + describe(ec));
        // A pooled connection that etcd closed meanwhile: try a fresh one at once.
        if (reused) continue;
      } else {
        auto& res = parser.get();
        int status = static_cast<int>(res.result_int());
        auto j = nlohmann::json::parse(res.body(), nullptr, false);
        if (res.keep_alive()) impl_->giveBack(std::move(conn));
        if (j.is_discarded())
          return internalError(what + ": answer " + std::to_string(status) +
                               " is not JSON: " + quote(res.body().substr(0, 200)));
        if (status == 200 && !j.contains("error")) return j;
        Error e = etcdError(j, status).context(what);
        if (e.code() != ErrorCode::kUnavailable) return e;
        last = e;
      }
    }
    if (std::chrono::steady_clock::now() + backoff > deadline)
      return unavailable(last.message() + " (gave up after " +
                         std::to_string(impl_->retry_for.count()) +
                         " ms of retries; is etcd running?)");
    std::this_thread::sleep_for(backoff);
    backoff =
        std::min(backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kLastBackoff));
  }
}

Result<std::unique_ptr<Stream>> HttpPool::stream(const std::string& path, const std::string& body) {
  const std::string what = "etcd at " + endpoint_ + " " + path;
  auto conn = BERTH_TRY(impl_->connect(what));
  error_code ec;
  auto req = makeRequest(impl_->host, path, body);
  http::write(conn->socket, req, ec);
  if (ec) return unavailable(what + ": write: " + describe(ec));
  auto s = std::make_unique<GatewayStream>(std::move(conn), what);
  BERTH_RETURN_IF_ERROR(s->readHead());
  if (s->status() != 200) {
    auto j = s->next();
    return etcdError(j ? *j : nlohmann::json::object(), s->status()).context(what);
  }
  return std::unique_ptr<Stream>(std::move(s));
}

Error etcdError(const nlohmann::json& body, int http_status) {
  int code = body.is_object() && body.contains("code") && body["code"].is_number_integer()
                 ? body["code"].get<int>()
                 : 0;
  std::string message = body.is_object() && body.contains("message") && body["message"].is_string()
                            ? body["message"].get<std::string>()
                            : "HTTP status " + std::to_string(http_status);
  // "etcdserver: requested lease not found" reads better without the server's prefix.
  for (std::string_view p : {"etcdserver: ", "mvcc: "})
    if (startsWith(message, p)) message.erase(0, p.size());
  switch (code) {
    case kGrpcInvalidArgument:
      return invalidArgument(message);
    case kGrpcNotFound:
      return notFound(message);
    case kGrpcAlreadyExists:
      return alreadyExists(message);
    case kGrpcPermissionDenied:
      return Error(ErrorCode::kPermissionDenied, message);
    case kGrpcFailedPrecondition:
      return conflict(message);
    case kGrpcOutOfRange:
      // "required revision has been compacted" (isCompacted finds it) or "… is a future
      // revision".
      if (message.find("compacted") != std::string::npos) return notFound(message);
      return invalidArgument(message);
    case kGrpcResourceExhausted:
    case kGrpcUnavailable:
      return unavailable(message);
    default:
      if (http_status == 503) return unavailable(message);
      return internalError(message);
  }
}

}  // namespace berth::store::etcd
