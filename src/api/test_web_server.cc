#include "api/test_web_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace berth::api::test {
namespace {

// A socket bound to 127.0.0.1 on a port the kernel picks; the port.
int bindLoopback(sys::Fd& fd) {
  fd = sys::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return 0;
  return ntohs(addr.sin_port);
}

}  // namespace

TestWebServer::TestWebServer(Answer answer, const std::string& cert_dir)
    : answer_(std::move(answer)) {
  if (!cert_dir.empty()) {
    tls_ = SSL_CTX_new(TLS_server_method());
    if (SSL_CTX_use_certificate_chain_file(tls_, (cert_dir + "/server.pem").c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls_, (cert_dir + "/server-key.pem").c_str(),
                                    SSL_FILETYPE_PEM) != 1) {
      SSL_CTX_free(tls_);
      tls_ = nullptr;
      return;  // port() stays 0: the test's requests fail
    }
  }
  port_ = bindLoopback(listener_);
  if (port_ == 0 || ::listen(listener_.get(), 16) != 0) {
    port_ = 0;
    return;
  }
  thread_ = std::thread([this] { serve(); });
}

TestWebServer::~TestWebServer() {
  ::shutdown(listener_.get(), SHUT_RDWR);  // wakes accept()
  if (thread_.joinable()) thread_.join();
  if (tls_) SSL_CTX_free(tls_);
}

std::string TestWebServer::base() const {
  return (tls_ ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_);
}

std::vector<std::string> TestWebServer::heads() {
  std::lock_guard<std::mutex> lock(mu_);
  return heads_;
}

void TestWebServer::serve() {
  while (true) {
    sys::Fd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) return;
    SSL* ssl = nullptr;
    if (tls_) {
      ssl = SSL_new(tls_);
      SSL_set_fd(ssl, conn.get());
      if (SSL_accept(ssl) != 1) {  // a client that does not trust us hangs up
        SSL_free(ssl);
        continue;
      }
    }
    auto read = [&](char* buf, size_t n) -> ssize_t {
      return ssl ? SSL_read(ssl, buf, static_cast<int>(n)) : ::read(conn.get(), buf, n);
    };
    auto write = [&](const char* buf, size_t n) -> ssize_t {
      return ssl ? SSL_write(ssl, buf, static_cast<int>(n))
                 : ::send(conn.get(), buf, n, MSG_NOSIGNAL);
    };
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = read(buf, sizeof buf);
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      heads_.push_back(head);
    }
    std::string out = answer_(head);
    for (size_t off = 0; off < out.size();) {
      ssize_t n = write(out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }
}

std::string httpAnswer(int status, const std::string& reason, const std::string& body,
                       const std::map<std::string, std::string>& headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  return out + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

RefusingPort::RefusingPort() { port_ = bindLoopback(fd_); }

}  // namespace berth::api::test
