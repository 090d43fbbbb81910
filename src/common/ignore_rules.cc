#include "common/ignore_rules.h"

#include <fnmatch.h>

#include "common/strings.h"

namespace berth {
namespace {

// fnmatch with "**" standing for any number of path components.
bool matches(const std::string& pattern, const std::string& path) {
  size_t star = pattern.find("**");
  if (star == std::string::npos) return ::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0;
  std::string head = pattern.substr(0, star);
  std::string tail = pattern.substr(star + 2);
  if (startsWith(tail, "/")) tail = tail.substr(1);
  auto parts = split(path, '/');
  // Try every split point: head matches a prefix, tail the rest.
  for (size_t i = 0; i <= parts.size(); ++i) {
    std::string prefix = join(std::vector<std::string>(parts.begin(), parts.begin() + i), "/");
    if (!prefix.empty()) prefix += "/";
    if (!head.empty() && ::fnmatch(head.c_str(), prefix.c_str(), FNM_PATHNAME) != 0) continue;
    for (size_t j = i; j <= parts.size(); ++j) {
      std::string rest = join(std::vector<std::string>(parts.begin() + j, parts.end()), "/");
      if (tail.empty() || matches(tail, rest)) return true;
    }
  }
  return false;
}

}  // namespace

std::string cleanContextPath(std::string p) {
  p = std::string(trim(p));
  while (startsWith(p, "./")) p = p.substr(2);
  while (startsWith(p, "/")) p = p.substr(1);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

IgnoreRules IgnoreRules::parse(const std::string& text) {
  IgnoreRules r;
  for (const auto& raw : split(text, '\n')) {
    std::string line(trim(raw));
    if (line.empty() || line[0] == '#') continue;
    Rule rule;
    if (line[0] == '!') {
      rule.exclude = false;
      line = line.substr(1);
    }
    rule.pattern = cleanContextPath(line);
    if (!rule.pattern.empty()) r.rules_.push_back(rule);
  }
  return r;
}

bool IgnoreRules::ignored(const std::string& rel_path) const {
  bool out = false;
  std::string path = cleanContextPath(rel_path);
  for (const auto& rule : rules_) {
    // A pattern that matches a parent directory covers the path too.
    bool hit = matches(rule.pattern, path);
    for (size_t pos = path.find('/'); !hit && pos != std::string::npos;
         pos = path.find('/', pos + 1)) {
      hit = matches(rule.pattern, path.substr(0, pos));
    }
    if (hit) out = rule.exclude;
  }
  return out;
}

}  // namespace berth
