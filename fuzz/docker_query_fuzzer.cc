// Query values and paths → the Docker API's request helpers: docker::dockerFilters (the
// `filters` parameter in the CLI's map form and docker-py's list form, with onlyFilters
// after it, as the list endpoints call them) and dockerPrepare (the /v1.NN/ version prefix).
// The input's first line is the request path, the rest the decoded `filters` value.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/docker_routes.h"
#include "api/docker_util.h"

namespace {

using berth::Result;

class FakeRequest : public berth::api::Request {
 public:
  Result<std::string> readBody(size_t) override { return std::string(); }
  Result<size_t> readSome(char*, size_t) override { return size_t{0}; }
};

class FakeResponse : public berth::api::Response {
 public:
  int status = 0;
  void setHeader(const std::string&, const std::string&) override {}
  void send(int s, std::string_view, std::string_view) override { status = s; }
  berth::Status beginStream(int s, std::string_view) override {
    status = s;
    return berth::okStatus();
  }
  berth::Status write(std::string_view) override { return berth::okStatus(); }
  void end() override {}
  Result<berth::sys::Fd> hijack(std::string_view, std::string*) override {
    return berth::unsupported("hijack: not in the fuzzer");
  }
  bool peerClosed() override { return false; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string path(in.substr(0, nl));
  std::string filters(nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1));

  FakeRequest req;
  req.path = path;
  req.query.emplace("filters", filters);
  FakeResponse res;
  bool routed = berth::api::dockerPrepare(req, res);
  // Either it goes on to routing, its path unchanged or with the prefix stripped, or it has
  // been answered.
  bool ok = routed ? res.status == 0 && (req.path == path || req.path.starts_with("/"))
                   : res.status >= 400;
  if (!ok) {
    std::fprintf(stderr, "dockerPrepare(%s): routed=%d status=%d path=%s\n", path.c_str(), routed,
                 res.status, req.path.c_str());
    std::abort();
  }

  auto f = berth::api::docker::dockerFilters(req);
  if (f.ok()) (void)berth::api::docker::onlyFilters(*f, {"label", "name", "status", "id"});
  return 0;
}
