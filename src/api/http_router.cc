#include "api/http.h"

#include <string_view>
#include <vector>

namespace berth::api {
namespace {

// The non-empty segments of a path, as views into it.
std::vector<std::string_view> pathSegments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > i) out.push_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return out;
}

bool isParam(const std::string& seg) {
  return seg.size() >= 3 && seg.front() == '{' && seg.back() == '}';
}
bool isRest(const std::string& seg) { return isParam(seg) && seg[seg.size() - 2] == '*'; }

bool matchSegments(const std::vector<std::string>& pattern,
                   const std::vector<std::string_view>& path,
                   std::map<std::string, std::string>& params) {
  size_t star = pattern.size();
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (isRest(pattern[i])) star = i;
  }
  auto one = [&](const std::string& pat, std::string_view seg) {
    if (!isParam(pat)) return pat == seg;
    params[pat.substr(1, pat.size() - 2)] = std::string(seg);
    return true;
  };
  if (star == pattern.size()) {
    if (pattern.size() != path.size()) return false;
    for (size_t i = 0; i < path.size(); ++i) {
      if (!one(pattern[i], path[i])) return false;
    }
    return true;
  }
  // {name*} takes one or more segments; the pattern's segments after it match the tail.
  size_t after = pattern.size() - star - 1;
  if (path.size() < star + 1 + after) return false;
  for (size_t i = 0; i < star; ++i) {
    if (!one(pattern[i], path[i])) return false;
  }
  size_t tail = path.size() - after;
  for (size_t i = 0; i < after; ++i) {
    if (!one(pattern[star + 1 + i], path[tail + i])) return false;
  }
  std::string_view first = path[star], last = path[tail - 1];
  const std::string& name = pattern[star];
  params[name.substr(1, name.size() - 3)] =
      std::string(first.data(), last.data() + last.size() - first.data());
  return true;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler) {
  Route r{std::move(method), {}, std::move(handler)};
  for (std::string_view seg : pathSegments(pattern)) r.segments.emplace_back(seg);
  routes_.push_back(std::move(r));
}

std::optional<Handler> Router::match(const std::string& method, const std::string& path,
                                     std::map<std::string, std::string>& params,
                                     bool& method_allowed) const {
  std::vector<std::string_view> segs = pathSegments(path);
  method_allowed = true;
  bool path_matched = false;
  for (const Route& r : routes_) {
    std::map<std::string, std::string> found;
    if (!matchSegments(r.segments, segs, found)) continue;
    if (r.method != method) {
      path_matched = true;
      continue;
    }
    for (auto& [k, v] : found) params[k] = std::move(v);
    return r.handler;
  }
  if (path_matched) method_allowed = false;
  return std::nullopt;
}

}  // namespace berth::api
