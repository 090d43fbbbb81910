#pragma once
// The CLI's connection to berthd: where the daemon is (-H/--host, else $BERTH_HOST, else
// unix:///run/berth/berth.sock) and requests whose error answers come back as Errors
// carrying the daemon's message, so that verbs read like local calls.
//
// Api is thread-compatible, one request at a time, like api::Client. A verb that keeps a
// stream or a hijacked connection open while sending other requests (run: attach, wait,
// start, kill) uses one Api per concurrent connection; they are cheap.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/http.h"
#include "common/result.h"

namespace berth::cli {

inline constexpr const char* kDefaultHost = "unix:///run/berth/berth.sock";

// The daemon's address: `flag` if given, else $BERTH_HOST, else kDefaultHost.
std::string resolveHost(const std::string& flag);

// An error answer as an Error: 400 → invalid argument, 404 → not found, 409 → conflict,
// 503 → unavailable, anything else → internal; the message is the daemon's.
Error httpError(int status, const std::string& message);

// Percent-encodes a path segment or a query value.
std::string urlEncode(std::string_view s);
// "/v1/containers/<ref>", the API path of a container.
std::string containerPath(const std::string& ref);

class Api {
 public:
  explicit Api(std::string address);
  const std::string& address() const { return address_; }

  // Sends a request (with `body` as JSON unless it is null) and returns the answer when
  // its status is 1xx–3xx; a 4xx/5xx answer becomes httpError. Connection failures are
  // kUnavailable and say that berthd may not be running.
  Result<api::ClientResponse> call(const std::string& method, const std::string& target,
                                   const nlohmann::json& body = nullptr);
  // As call, and parses the answer as JSON (an empty body is null).
  Result<nlohmann::json> json(const std::string& method, const std::string& target,
                              const nlohmann::json& body = nullptr);
  // A streamed answer (logs, events, stats, wait, archives). An error status reads the
  // body for the message.
  Result<std::unique_ptr<api::ClientStream>> stream(const std::string& method,
                                                    const std::string& target,
                                                    const nlohmann::json& body = nullptr);
  // A hijacked connection (attach, exec start). An error status becomes httpError.
  Result<api::Hijacked> hijack(const std::string& method, const std::string& target,
                               const nlohmann::json& body = nullptr);
  // An upload of `fd`'s contents to its end, as `content_type`.
  Result<api::ClientResponse> upload(const std::string& method, const std::string& target, int fd,
                                     std::string_view content_type);
  // An upload whose answer streams back (load, import, build). An error status reads the
  // body for the message.
  Result<std::unique_ptr<api::ClientStream>> uploadStream(
      const std::string& method, const std::string& target, int fd, std::string_view content_type,
      const std::map<std::string, std::string>& headers = {});

 private:
  std::string address_;
  api::Client client_;
};

// Reads a stream's remaining body whole.
Result<std::string> readAll(api::ClientStream& stream);

// Reads a stream of JSON lines (watches, events) to its end, calling `on_object` with each
// line that is a JSON object (others are skipped). Stops at the first error of `on_object`
// or of the stream and returns it; ok when the body ends.
Status forEachJsonLine(api::ClientStream& stream,
                       const std::function<Status(const nlohmann::json&)>& on_object);

}  // namespace berth::cli
