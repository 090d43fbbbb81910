#include "api/http_fetch.h"

#include <boost/beast/http.hpp>

#include "api/http_transport.h"
#include "common/strings.h"

namespace berth::api {

namespace http = boost::beast::http;
using detail::error_code;

namespace {

struct Url {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string host_header;  // as the URL spells it ("[::1]:8080")
  std::string target;       // "/path?query"
};

Result<Url> parseUrl(const std::string& text) {
  Url u;
  std::string_view rest = text;
  if (startsWith(rest, "http://")) {
    rest.remove_prefix(7);
  } else if (startsWith(rest, "https://")) {
    u.tls = true;
    rest.remove_prefix(8);
  } else {
    return invalidArgument("only http:// and https:// URLs can be fetched");
  }
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (path.find('#') != std::string_view::npos) path = path.substr(0, path.find('#'));
  if (authority.find('@') != std::string_view::npos)
    return invalidArgument("credentials in a URL are not supported");
  if (authority.empty()) return invalidArgument("the URL has no host");
  u.host_header = std::string(authority);
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    u.port = std::string(authority.substr(colon + 1));
    authority = authority.substr(0, colon);
    auto n = parseInt(u.port);
    if (!n || *n < 1 || *n > 65535) return invalidArgument("bad port " + quote(u.port));
  } else {
    u.port = u.tls ? "443" : "80";
  }
  if (authority.size() >= 2 && authority.front() == '[' && authority.back() == ']')
    authority = authority.substr(1, authority.size() - 2);
  if (authority.empty()) return invalidArgument("the URL has no host");
  u.host = std::string(authority);
  u.target = path.empty() ? "/" : (path[0] == '?' ? "/" + std::string(path) : std::string(path));
  return u;
}

// Where a redirect's Location points, resolved against the URL that answered.
std::string resolveLocation(const Url& from, const std::string& location) {
  if (startsWith(location, "http://") || startsWith(location, "https://")) return location;
  std::string origin = std::string(from.tls ? "https://" : "http://") + from.host_header;
  if (startsWith(location, "//")) return std::string(from.tls ? "https:" : "http:") + location;
  if (startsWith(location, "/")) return origin + location;
  std::string dir = from.target.substr(0, from.target.find('?'));
  return origin + dir.substr(0, dir.rfind('/') + 1) + location;
}

Error statusError(int status, const std::string& reason) {
  std::string m = "the server answered " + std::to_string(status) + " " + reason;
  if (status == 404 || status == 410) return notFound(m);
  if (status == 401 || status == 403) return Error(ErrorCode::kPermissionDenied, m);
  return unavailable(m);
}

Result<std::unique_ptr<detail::Transport>> connect(const Url& u, const FetchOptions& options) {
  std::string what = "connect to " + quote(u.host_header);
  int fd = BERTH_TRY(detail::dialTcp(u.host, u.port, what));
  if (!u.tls)
    return std::unique_ptr<detail::Transport>(
        std::make_unique<detail::UnixTransport>(sys::Fd(fd)));  // any stream socket will do
  TlsConfig tls;
  tls.ca_file = options.ca_file;
  auto ctx = detail::makeTlsContext(tls, /*server=*/false);
  if (!ctx) {
    ::close(fd);
    return ctx.error().context(what);
  }
  std::unique_ptr<detail::Transport> t = detail::tlsTransport(*ctx, fd);
  auto shaken = detail::tlsHandshake(*t, false, u.host);
  if (!shaken) return shaken.error().context(what);
  return t;
}

// One GET; the answer's head is in the returned stream.
Result<std::unique_ptr<ClientStream>> get(const Url& u, const FetchOptions& options) {
  auto t = BERTH_TRY(connect(u, options));
  http::request<http::empty_body> req{http::verb::get, u.target, 11};
  req.set(http::field::host, u.host_header);
  req.set(http::field::user_agent, "berth");
  req.set(http::field::accept_encoding, "identity");
  req.keep_alive(false);
  error_code ec;
  http::write(*t, req, ec);
  if (ec) return unavailable("send request: " + detail::describe(ec));
  return detail::responseStream(std::move(t), "read answer");
}

Result<Fetched> fetch(const std::string& url, const FetchSink& sink, const FetchOptions& options) {
  Fetched out;
  out.url = url;
  for (int hops = 0;; ++hops) {
    Url u = BERTH_TRY(parseUrl(out.url));
    auto stream = BERTH_TRY(get(u, options));
    int status = stream->status;
    bool redirect =
        status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    if (redirect && stream->headers.count("location")) {
      if (hops >= options.max_redirects)
        return invalidArgument("more than " + std::to_string(options.max_redirects) + " redirects");
      out.url = resolveLocation(u, stream->headers["location"]);
      continue;
    }
    if (status < 200 || status >= 300)
      return statusError(status,
                         std::string(http::obsolete_reason(http::int_to_status(unsigned(status)))));
    out.headers = stream->headers;
    std::string piece;
    while (BERTH_TRY(stream->next(piece))) {
      out.size += piece.size();
      BERTH_RETURN_IF_ERROR(sink(piece));
    }
    return out;
  }
}

}  // namespace

Result<Fetched> fetchUrl(const std::string& url, const FetchSink& sink,
                         const FetchOptions& options) {
  auto r = fetch(url, sink, options);
  if (!r) return r.error().context("fetch " + quote(url));
  return r;
}

}  // namespace berth::api
