#pragma once
// Downloading a resource by URL (the builder's `ADD https://…`): a GET over http:// or
// https://, the body streamed to a sink. Unlike api::Client, which speaks only to berthd
// (a unix socket, or TCP with mutual TLS), this talks to any web server: plain HTTP is
// allowed, and https checks the server against the system's CA certificates (or
// `ca_file`) and its host name. Redirects (301, 302, 303, 307, 308) are followed.
// Blocking; thread-compatible (no shared state).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::api {

struct FetchOptions {
  std::string ca_file;  // PEM; empty: the system's CA certificates
  int max_redirects = 10;
};

struct Fetched {
  std::string url;                             // where the body came from, after redirects
  std::map<std::string, std::string> headers;  // of the final answer, names lowercased
  uint64_t size = 0;                           // bytes given to the sink
};

// Receives the body piece by piece; an error stops the download and is returned.
using FetchSink = std::function<Status(std::string_view piece)>;

// GETs `url` ("http[s]://host[:port][/path][?query]"; userinfo and fragments are refused)
// and gives its body to `sink`. Errors name the URL:
//   kInvalidArgument  not an http(s) URL, or too many redirects;
//   kUnavailable      the host cannot be reached ("fetch 'http://h:1/x': connect to
//                     'h:1': connection refused"), TLS fails, or the body ends early;
//   kNotFound         the server answered 404 or 410;
//   kPermissionDenied 401 or 403;   kUnavailable for other statuses from 400 on.
Result<Fetched> fetchUrl(const std::string& url, const FetchSink& sink,
                         const FetchOptions& options = {});

}  // namespace berth::api
