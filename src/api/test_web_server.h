#pragma once
// Test support: a web server on 127.0.0.1 (port 0) in a thread of its own, for the
// clients of http_fetch.h (its unit tests, and the builder's ADD URL end to end). Each
// connection gets one answer — the raw bytes `answer` makes of the request's head — and
// is closed. With a directory from makeTestCertificates it speaks TLS (server.pem).
// Never linked into berthd.

#include <openssl/types.h>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sys/fd.h"

namespace berth::api::test {

class TestWebServer {
 public:
  using Answer = std::function<std::string(const std::string& head)>;
  explicit TestWebServer(Answer answer, const std::string& cert_dir = "");
  ~TestWebServer();
  TestWebServer(const TestWebServer&) = delete;
  TestWebServer& operator=(const TestWebServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" (or "https://localhost:PORT" with TLS, the name the test
  // certificate carries).
  std::string base() const;
  // The heads of the requests served so far ("GET /x HTTP/1.1\r\nHost: …").
  std::vector<std::string> heads();

 private:
  void serve();
  Answer answer_;
  SSL_CTX* tls_ = nullptr;
  sys::Fd listener_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<std::string> heads_;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// A whole HTTP/1.1 answer: status line, `headers`, Content-Length, the body.
std::string httpAnswer(int status, const std::string& reason, const std::string& body,
                       const std::map<std::string, std::string>& headers = {});

// A loopback port that is bound but not listening: connecting to it is refused, and no
// other process can take it while this lives.
class RefusingPort {
 public:
  RefusingPort();
  int port() const { return port_; }

 private:
  sys::Fd fd_;
  int port_ = 0;
};

}  // namespace berth::api::test
