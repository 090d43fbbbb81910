#pragma once
// Internal to http_server.cc and http_client.cc (never include it from a public header: it
// pulls in Asio). A Transport is one blocking, connected byte stream —
// a unix socket or TLS over TCP — shaped as Beast's SyncReadStream/SyncWriteStream so that
// http::read/http::write run over either without templating the server and the client.
//
// Thread-safety: one thread at a time per Transport, except fd(), which may be read from
// any thread (the server shuts connections down by their descriptor when stopping).
// Asio's sockets and OpenSSL stay in http_transport.cc: TLS is reached through the opaque
// TlsContext, which keeps the other files quick to compile.

#include <sys/uio.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

#include "api/http.h"
#include "common/result.h"
#include "sys/fd.h"

namespace berth::api::detail {

namespace net = boost::asio;
using boost::system::error_code;

// Limits for Beast's parsers, shared by the server and the client.
constexpr std::uint32_t kHeaderLimit = 64 << 10;
// Beast 1.74 compares a length with an empty optional limit as "over the limit", so
// "no limit" must be the largest number rather than boost::none.
constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

class Transport {
 public:
  virtual ~Transport() = default;

  // Reads at least one byte, blocking; at the end of the stream, 0 with net::error::eof.
  virtual size_t readSome(void* data, size_t size, error_code& ec) = 0;
  // Writes some of `count` buffers (gathered), blocking; returns the bytes written.
  virtual size_t writeSome(const iovec* bufs, size_t count, error_code& ec) = 0;
  virtual int fd() const = 0;
  virtual bool isUnix() const = 0;

  // Writes all of `pieces` (at most 8), in order.
  Status writeAll(std::initializer_list<std::string_view> pieces);

  // Beast's stream concepts. Only the error_code overloads are ever called.
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, error_code& ec) {
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
         ++it) {
      net::mutable_buffer b = *it;
      if (b.size() > 0) return readSome(b.data(), b.size(), ec);
    }
    ec = {};
    return 0;
  }
  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers) {
    error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers, error_code& ec) {
    iovec iov[kMaxIov];
    size_t n = 0;
    for (auto it = net::buffer_sequence_begin(buffers);
         it != net::buffer_sequence_end(buffers) && n < kMaxIov; ++it) {
      net::const_buffer b = *it;
      if (b.size() > 0) iov[n++] = {const_cast<void*>(b.data()), b.size()};
    }
    ec = {};
    return n == 0 ? 0 : writeSome(iov, n, ec);
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers) {
    error_code ec;
    size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  static constexpr size_t kMaxIov = 16;
};

class UnixTransport : public Transport {
 public:
  explicit UnixTransport(sys::Fd fd) : fd_(std::move(fd)) {}
  size_t readSome(void* data, size_t size, error_code& ec) override;
  size_t writeSome(const iovec* bufs, size_t count, error_code& ec) override;
  int fd() const override { return fd_.get(); }
  bool isUnix() const override { return true; }
  // Gives up the descriptor (hijacking on the client side).
  sys::Fd release() { return std::move(fd_); }

 private:
  sys::Fd fd_;
};

// Certificates, keys and the CA for one side of mutual TLS. Shared by the connections
// of a listener (or of a client); safe to use from several threads at once.
class TlsContext;

// An SSL context from PEM files. On the server, peers must present a certificate signed
// by tls.ca_file; on the client, the server's certificate is verified against it.
Result<std::shared_ptr<TlsContext>> makeTlsContext(const TlsConfig& tls, bool server);

// TLS over `fd`, a connected TCP socket whose ownership passes to the result.
std::unique_ptr<Transport> tlsTransport(const std::shared_ptr<TlsContext>& ctx, int fd);
// Runs the handshake on a transport from tlsTransport. A client verifies the server's
// certificate against `host` and sends it as SNI.
Status tlsHandshake(Transport& tls, bool server, const std::string& host = "");

// Connects a TCP socket to host:port (a name or an address; each address tried in turn)
// and returns it; the caller owns it. Failures are kUnavailable ("what: connection
// refused" + hint), or kPermissionDenied.
Result<int> dialTcp(const std::string& host, const std::string& port, const std::string& what,
                    const std::string& hint = "");

// Reads the response head from `t` (a request already sent) and returns the stream of its
// body. `what` starts the errors' messages.
Result<std::unique_ptr<ClientStream>> responseStream(std::unique_ptr<Transport> t,
                                                     const std::string& what);

// An error_code's message in our style (lowercase first letter).
std::string describe(const error_code& ec);

}  // namespace berth::api::detail
