#include "cli/berth/client.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>

namespace berth::cli {

namespace {

std::string bodyText(const nlohmann::json& body) { return body.is_null() ? "" : body.dump(); }

std::string messageOf(int status, const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string())
    return j["message"].get<std::string>();
  // A hijack's error answer comes raw, perhaps chunked: look for the JSON inside.
  size_t open = body.find('{'), close = body.rfind('}');
  if (open != std::string::npos && close != std::string::npos && open < close) {
    j = nlohmann::json::parse(body.substr(open, close - open + 1), nullptr, false);
    if (j.is_object() && j.contains("message") && j["message"].is_string())
      return j["message"].get<std::string>();
  }
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (!text.empty()) return text;
  return "the daemon answered " + std::to_string(status);
}

}  // namespace

std::string resolveHost(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("BERTH_HOST"); env && *env) return env;
  return kDefaultHost;
}

Error httpError(int status, const std::string& message) {
  switch (status) {
    case 400:
      return invalidArgument(message);
    case 403:
      return {ErrorCode::kPermissionDenied, message};
    case 404:
      return notFound(message);
    case 409:
      return conflict(message);
    case 501:
      return unsupported(message);
    case 503:
      return {ErrorCode::kUnavailable, message};
    default:
      return internalError(message);
  }
}

std::string urlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string containerPath(const std::string& ref) { return "/v1/containers/" + urlEncode(ref); }

Api::Api(std::string address) : address_(std::move(address)), client_(address_) {}

Result<api::ClientResponse> Api::call(const std::string& method, const std::string& target,
                                      const nlohmann::json& body) {
  auto r = BERTH_TRY(client_.request(method, target, bodyText(body)));
  if (r.status >= 400) return httpError(r.status, messageOf(r.status, r.body));
  return r;
}

Result<nlohmann::json> Api::json(const std::string& method, const std::string& target,
                                 const nlohmann::json& body) {
  auto r = BERTH_TRY(call(method, target, body));
  if (r.body.empty()) return nlohmann::json();
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded())
    return internalError(method + " " + target + ": the daemon's answer is not JSON");
  return j;
}

Result<std::unique_ptr<api::ClientStream>> Api::stream(const std::string& method,
                                                       const std::string& target,
                                                       const nlohmann::json& body) {
  auto s = BERTH_TRY(client_.stream(method, target, bodyText(body)));
  if (s->status >= 400) {
    auto text = readAll(*s);
    return httpError(s->status, messageOf(s->status, text ? *text : ""));
  }
  return s;
}

Result<api::Hijacked> Api::hijack(const std::string& method, const std::string& target,
                                  const nlohmann::json& body) {
  auto h = BERTH_TRY(client_.hijack(method, target, bodyText(body)));
  if (h.status >= 400) {
    std::string text = h.early_bytes;
    char buf[4096];
    for (ssize_t n; text.size() < 65536 && (n = ::read(h.fd.get(), buf, sizeof(buf))) > 0;)
      text.append(buf, static_cast<size_t>(n));
    return httpError(h.status, messageOf(h.status, text));
  }
  return h;
}

Result<api::ClientResponse> Api::upload(const std::string& method, const std::string& target,
                                        int fd, std::string_view content_type) {
  auto r = BERTH_TRY(client_.upload(method, target, fd, content_type));
  if (r.status >= 400) return httpError(r.status, messageOf(r.status, r.body));
  return r;
}

Result<std::unique_ptr<api::ClientStream>> Api::uploadStream(
    const std::string& method, const std::string& target, int fd, std::string_view content_type,
    const std::map<std::string, std::string>& headers) {
  auto s = BERTH_TRY(client_.uploadStream(method, target, fd, content_type, headers));
  if (s->status >= 400) {
    auto text = readAll(*s);
    return httpError(s->status, messageOf(s->status, text ? *text : ""));
  }
  return s;
}

Result<std::string> readAll(api::ClientStream& stream) {
  std::string all, piece;
  while (BERTH_TRY(stream.next(piece))) all += piece;
  return all;
}

Status forEachJsonLine(api::ClientStream& stream,
                       const std::function<Status(const nlohmann::json&)>& on_object) {
  std::string buffer, piece;
  while (BERTH_TRY(stream.next(piece))) {
    buffer += piece;
    for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
      auto j = nlohmann::json::parse(buffer.substr(0, nl), nullptr, false);
      buffer.erase(0, nl + 1);
      if (j.is_object()) BERTH_RETURN_IF_ERROR(on_object(j));
    }
  }
  return okStatus();
}

}  // namespace berth::cli
