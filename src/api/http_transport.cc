#include "api/http_transport.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cctype>
#include <cerrno>

#include "common/strings.h"

namespace berth::api::detail {

namespace ssl = boost::asio::ssl;

class TlsContext {
 public:
  explicit TlsContext(bool server)
      : context(server ? ssl::context::tls_server : ssl::context::tls_client) {}
  net::io_context io;  // never run: the sockets' service lives here; sync calls only
  ssl::context context;
};

namespace {

// TLS over a connected TCP socket.
class TlsTransport : public Transport {
 public:
  TlsTransport(std::shared_ptr<TlsContext> ctx, int fd);
  Status handshake(bool server, const std::string& host);
  size_t readSome(void* data, size_t size, error_code& ec) override;
  size_t writeSome(const iovec* bufs, size_t count, error_code& ec) override;
  int fd() const override { return fd_; }
  bool isUnix() const override { return false; }

 private:
  std::shared_ptr<TlsContext> ctx_;  // outlives the stream
  ssl::stream<net::ip::tcp::socket> stream_;
  int fd_ = -1;
  std::string scratch_;  // gathers small buffers into one TLS record
};

}  // namespace

std::string describe(const error_code& ec) {
  std::string m = ec.message();
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

Status Transport::writeAll(std::initializer_list<std::string_view> pieces) {
  iovec iov[8];
  size_t n = 0;
  for (std::string_view p : pieces) {
    if (!p.empty() && n < std::size(iov)) iov[n++] = {const_cast<char*>(p.data()), p.size()};
  }
  size_t first = 0;
  while (first < n) {
    error_code ec;
    size_t written = writeSome(iov + first, n - first, ec);
    if (ec) return Error(ErrorCode::kUnavailable, "write: " + describe(ec));
    while (first < n && written >= iov[first].iov_len) written -= iov[first++].iov_len;
    if (first < n) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + written;
      iov[first].iov_len -= written;
    }
  }
  return okStatus();
}

size_t UnixTransport::readSome(void* data, size_t size, error_code& ec) {
  for (;;) {
    ssize_t r = ::recv(fd_.get(), data, size, 0);
    if (r > 0) {
      ec = {};
      return static_cast<size_t>(r);
    }
    if (r == 0) {
      ec = net::error::eof;
      return 0;
    }
    if (errno == EINTR) continue;
    ec = error_code(errno, boost::system::system_category());
    return 0;
  }
}

size_t UnixTransport::writeSome(const iovec* bufs, size_t count, error_code& ec) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(bufs);
  msg.msg_iovlen = count;
  for (;;) {
    // MSG_NOSIGNAL: a client that went away is an error value, never SIGPIPE.
    ssize_t r = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (r >= 0) {
      ec = {};
      return static_cast<size_t>(r);
    }
    if (errno == EINTR) continue;
    ec = error_code(errno, boost::system::system_category());
    return 0;
  }
}

TlsTransport::TlsTransport(std::shared_ptr<TlsContext> ctx, int fd)
    : ctx_(std::move(ctx)), stream_(ctx_->io, ctx_->context) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto protocol = addr.ss_family == AF_INET6 ? net::ip::tcp::v6() : net::ip::tcp::v4();
  error_code ec;
  stream_.next_layer().assign(protocol, fd, ec);
  if (ec) {
    // fd_ stays -1: every read and write fails.
    ::close(fd);
    return;
  }
  fd_ = fd;
  // Chunks of a stream go out as they are written.
  stream_.next_layer().set_option(net::ip::tcp::no_delay(true), ec);
}

Status TlsTransport::handshake(bool server, const std::string& host) {
  if (fd_ < 0) return Error(ErrorCode::kInternal, "tls handshake: socket not usable");
  error_code ec;
  if (!server && !host.empty()) {
    if (!SSL_set_tlsext_host_name(stream_.native_handle(), host.c_str()))
      return Error(ErrorCode::kInternal, "tls handshake: set server name");
    stream_.set_verify_callback(ssl::host_name_verification(host), ec);
  }
  if (!ec) stream_.handshake(server ? ssl::stream_base::server : ssl::stream_base::client, ec);
  if (ec) {
    std::string cause = describe(ec);
    long verify = SSL_get_verify_result(stream_.native_handle());
    if (verify != X509_V_OK)
      cause += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    return Error(ErrorCode::kUnavailable, "tls handshake: " + cause);
  }
  return okStatus();
}

size_t TlsTransport::readSome(void* data, size_t size, error_code& ec) {
  if (fd_ < 0) {
    ec = net::error::bad_descriptor;
    return 0;
  }
  size_t n = stream_.read_some(net::buffer(data, size), ec);
  // A peer that closes without close_notify ends the stream like any other close: every
  // message we read is delimited by length or chunking, so truncation shows up there.
  if (ec == ssl::error::stream_truncated) ec = net::error::eof;
  return n;
}

size_t TlsTransport::writeSome(const iovec* bufs, size_t count, error_code& ec) {
  if (fd_ < 0) {
    ec = net::error::bad_descriptor;
    return 0;
  }
  if (count == 1) return stream_.write_some(net::buffer(bufs[0].iov_base, bufs[0].iov_len), ec);
  // Several small pieces (status line, headers, chunk framing) make one record.
  constexpr size_t kRecord = 16 << 10;
  scratch_.clear();
  for (size_t i = 0; i < count && scratch_.size() < kRecord; ++i) {
    size_t take = std::min(bufs[i].iov_len, kRecord - scratch_.size());
    scratch_.append(static_cast<const char*>(bufs[i].iov_base), take);
  }
  return stream_.write_some(net::buffer(scratch_), ec);
}

namespace {

Status readable(const std::string& what, const std::string& path) {
  if (::access(path.c_str(), R_OK) != 0) return errnoError(what + " " + quote(path), errno);
  return okStatus();
}

}  // namespace

std::unique_ptr<Transport> tlsTransport(const std::shared_ptr<TlsContext>& ctx, int fd) {
  return std::make_unique<TlsTransport>(ctx, fd);
}

Status tlsHandshake(Transport& tls, bool server, const std::string& host) {
  return static_cast<TlsTransport&>(tls).handshake(server, host);
}

Result<std::shared_ptr<TlsContext>> makeTlsContext(const TlsConfig& tls, bool server) {
  std::shared_ptr<TlsContext> holder;
  try {
    holder = std::make_shared<TlsContext>(server);
  } catch (const boost::system::system_error& e) {
    return Error(ErrorCode::kInternal, "create tls context: " + describe(e.code()));
  }
  ssl::context* ctx = &holder->context;
  error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  auto fail = [](const std::string& what, const std::string& path, const error_code& e) {
    return Error(ErrorCode::kInvalidArgument, what + " " + quote(path) + ": " + describe(e));
  };
  if (!tls.cert_file.empty()) {
    BERTH_RETURN_IF_ERROR(readable("load tls certificate", tls.cert_file));
    ctx->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) return fail("load tls certificate", tls.cert_file, ec);
  }
  if (!tls.key_file.empty()) {
    BERTH_RETURN_IF_ERROR(readable("load tls key", tls.key_file));
    ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
    if (ec) return fail("load tls key", tls.key_file, ec);
  }
  if (!tls.ca_file.empty()) {
    BERTH_RETURN_IF_ERROR(readable("load tls ca", tls.ca_file));
    ctx->load_verify_file(tls.ca_file, ec);
    if (ec) return fail("load tls ca", tls.ca_file, ec);
  } else if (!server) {
    ctx->set_default_verify_paths(ec);
  }
  auto mode = server ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert : ssl::verify_peer;
  ctx->set_verify_mode(mode, ec);
  if (ec) return Error(ErrorCode::kInternal, "set tls verify mode: " + describe(ec));
  return holder;
}

}  // namespace berth::api::detail
