#pragma once
// HTTP/1.1 for berthd's API, over Boost.Beast: a server on a unix socket (and on TCP only
// with mutual TLS), and a client for the CLI and the tests. Everything Beast- or
// Asio-shaped stays in http_server.cc / http_client.cc; callers see these types only.
//
// Threading: the server runs one thread per connection (connections are few and many
// of them are long streams: logs -f, events, attach, wait). A handler may block as long
// as it likes; it runs on its connection's thread. Keep-alive is honoured between
// requests. Handlers never throw (errors are values); an exception escaping a handler is
// caught, logged and answered 500.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "sys/fd.h"

namespace berth::api {

// The one place where error codes become HTTP statuses (STYLE habit 3).
int httpStatus(ErrorCode code);

class Request {
 public:
  virtual ~Request() = default;

  std::string method;                             // "GET", "POST", "HEAD", "DELETE", "PUT"
  std::string target;                             // as sent: "/v1/containers/json?all=1"
  std::string path;                               // percent-decoded path without the query
  std::multimap<std::string, std::string> query;  // percent-decoded ('+' is a space)
  std::map<std::string, std::string> params;      // from the route pattern: {id} → "abc"
  std::map<std::string, std::string> headers;     // names lowercased

  // The first value of a query parameter, or `fallback`.
  std::string queryValue(const std::string& key, const std::string& fallback = "") const;
  bool hasQuery(const std::string& key) const { return query.count(key) > 0; }
  // moby's BoolValue: "", "0", "no", "false", "none" (any case) are false, absent → fallback.
  bool queryBool(const std::string& key, bool fallback = false) const;
  std::string header(const std::string& lowercase_name) const;

  // The whole body, at most `limit` bytes (kInvalidArgument "request body larger than …").
  // Call once.
  virtual Result<std::string> readBody(size_t limit = 16 << 20) = 0;
  // The body parsed as JSON (an empty body is an empty object); kInvalidArgument naming the
  // byte offset of a syntax error, or of an array or object nested more than 512 deep
  // (handlers may then walk the document recursively without exhausting the stack).
  Result<nlohmann::json> readJson(size_t limit = 16 << 20);
  // The body piece by piece, for uploads (tar archives): returns the number of bytes put in
  // `buf`, 0 at the end of the body. Chunked bodies are decoded.
  virtual Result<size_t> readSome(char* buf, size_t size) = 0;
};

// How a handler answers. Exactly one of send/json/error, or beginStream… end, or hijack.
class Response {
 public:
  virtual ~Response() = default;

  // Headers for the response; set before send/beginStream.
  virtual void setHeader(const std::string& name, const std::string& value) = 0;

  virtual void send(int status, std::string_view content_type, std::string_view body) = 0;
  void json(int status, const nlohmann::json& body);
  // {"message": e.message()} with httpStatus(e.code()) and Content-Type application/json.
  void error(const Error& e);

  // A chunked response whose status and headers are sent (and flushed) at once.
  virtual Status beginStream(int status, std::string_view content_type) = 0;
  // One chunk, flushed. An error means the client went away: stop producing.
  virtual Status write(std::string_view data) = 0;
  // The terminating chunk. Implicit when the handler returns without calling it.
  virtual void end() = 0;

  // Takes the connection over: writes `head` (a whole status line and headers, ending in
  // "\r\n\r\n") raw, and returns the socket's descriptor, blocking, now owned by the
  // caller. Bytes the client sent after the request that the server had already read are
  // returned in `early_bytes` (they belong to the stream: stdin). An unread request body
  // is read and dropped first. Only on unix-socket connections (kUnsupported on TLS).
  // Until the handler returns, Server::stop() still shuts the connection down.
  virtual Result<sys::Fd> hijack(std::string_view head, std::string* early_bytes) = 0;

  // True once the peer has closed its side (checked without blocking): long polls use it
  // to stop early.
  virtual bool peerClosed() = 0;
};

using Handler = std::function<void(Request&, Response&)>;

// Routes by method and path pattern. Patterns are literal segments and {name} segments
// ("/containers/{id}/start"); a {name*} segment takes one or more segments, slashes
// included: as the last segment, the rest of the path ("/files/{path*}"); before literal
// segments, everything up to the ones they match at the end of the path
// ("/images/{name*}/json" for "library/nginx"). At most one per pattern. Empty segments
// ("//", a trailing "/") are ignored. The first route added that matches wins.
class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);
  // The handler for a request, with its params filled in; nullopt when no pattern matches.
  // `method_allowed` is set false when a pattern matches but not for this method (→ 405).
  std::optional<Handler> match(const std::string& method, const std::string& path,
                               std::map<std::string, std::string>& params,
                               bool& method_allowed) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct TlsConfig {
  std::string cert_file;  // server (or client) certificate, PEM
  std::string key_file;   // its private key, PEM
  std::string ca_file;    // CA that signs the peer's certificates; required: mutual TLS only
};

// Server. Lifecycle: construct, listen…, serve() (returns when stop() is called), destroy.
// stop() is safe from any thread and from a signal-handling thread; it closes the
// listeners and shuts down open connections.
class Server {
 public:
  // `prepare` runs before routing on every request (e.g. strips a /v1.41 version prefix
  // from req.path, or sets headers every response carries); it may answer the request
  // itself and return false.
  using Prepare = std::function<bool(Request&, Response&)>;

  explicit Server(Router router, Prepare prepare = nullptr);
  ~Server();

  // Binds a unix socket at `path` (a stale socket file is replaced; a live one — another
  // daemon answering on it — is kAlreadyExists), chmod `mode`.
  Status listenUnix(const std::string& path, unsigned mode);
  // Binds host:port with TLS that demands and verifies a client certificate signed by
  // tls.ca_file. Without a CA the call fails: plain TCP is refused on purpose.
  // Returns the bound port (port 0 picks one).
  Result<int> listenTcp(const std::string& host, int port, const TlsConfig& tls);

  void serve();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Client, for one server address. Thread-compatible: one request at a time per Client;
// each request opens its own connection (cheap on a unix socket).
struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  // The message of an error body {"message": …}, else the body, else the status line.
  std::string errorMessage() const;
  Result<nlohmann::json> json() const;
};

class ClientStream {
 public:
  virtual ~ClientStream() = default;
  int status = 0;
  std::map<std::string, std::string> headers;
  // The next piece of the body into `out` (replacing it); false at the end of the body.
  virtual Result<bool> next(std::string& out) = 0;
};

struct Hijacked {
  int status = 0;  // 101 or 200
  std::map<std::string, std::string> headers;
  std::string early_bytes;  // stream bytes read together with the response head
  sys::Fd fd;               // the raw connection
};

class Client {
 public:
  // "unix:///run/berth/berth.sock", "/run/berth/berth.sock", or "tcp://host:port" with tls.
  explicit Client(std::string address, std::optional<TlsConfig> tls = std::nullopt);
  ~Client();

  // Sends the request and reads the whole response. Connection errors are kUnavailable
  // ("connect to '/run/berth/berth.sock': no such file or directory; is berthd running?").
  Result<ClientResponse> request(const std::string& method, const std::string& target,
                                 std::string_view body = {},
                                 std::string_view content_type = "application/json",
                                 const std::map<std::string, std::string>& headers = {});
  // As request, with the body read from `body_fd` to its end and sent chunked (uploads).
  Result<ClientResponse> upload(const std::string& method, const std::string& target, int body_fd,
                                std::string_view content_type,
                                const std::map<std::string, std::string>& headers = {});
  // As upload, returning once the answer's status and headers have arrived (a build's
  // progress lines stream back after its context is sent).
  Result<std::unique_ptr<ClientStream>> uploadStream(
      const std::string& method, const std::string& target, int body_fd,
      std::string_view content_type, const std::map<std::string, std::string>& headers = {});
  // Sends the request; returns once the status and headers have arrived.
  Result<std::unique_ptr<ClientStream>> stream(const std::string& method, const std::string& target,
                                               std::string_view body = {},
                                               std::string_view content_type = "application/json");
  // Sends the request with "Connection: Upgrade" and "Upgrade: tcp" and returns the raw
  // connection after the response head. Unix sockets only.
  Result<Hijacked> hijack(const std::string& method, const std::string& target,
                          std::string_view body = {},
                          std::string_view content_type = "application/json");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::api
