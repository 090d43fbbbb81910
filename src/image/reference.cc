#include "image/reference.h"

#include "common/strings.h"

namespace berth::image {

Result<std::string> normalizeName(const std::string& ref) {
  std::string what = "image name " + quote(ref);
  if (ref.empty()) return invalidArgument("image name is empty");
  if (ref.find('@') != std::string::npos)
    return invalidArgument(what + ": references by digest are not names; use the id instead");
  std::string name = ref, tag = "latest";
  size_t slash = ref.rfind('/');
  size_t colon = ref.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    name = ref.substr(0, colon);
    tag = ref.substr(colon + 1);
  }
  if (tag.empty() || tag.size() > 128 ||
      tag.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
          std::string::npos ||
      tag[0] == '.' || tag[0] == '-')
    return invalidArgument(what + ": invalid tag " + quote(tag) +
                           " (letters, digits, '_', '.', '-'; at most 128)");
  for (const char* prefix : {"docker.io/library/", "index.docker.io/library/"}) {
    if (startsWith(name, prefix)) name = name.substr(std::string(prefix).size());
  }
  if (name.empty()) return invalidArgument(what + ": the name part is empty");
  auto parts = split(name, '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    // The first part may be a registry host with a port and capitals are not allowed
    // anywhere else, as in Docker.
    bool host =
        i == 0 && parts.size() > 1 &&
        (p.find('.') != std::string::npos || p.find(':') != std::string::npos || p == "localhost");
    const char* allowed = host ? "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:"
                               : "abcdefghijklmnopqrstuvwxyz0123456789._-";
    if (p.empty() || p.find_first_not_of(allowed) != std::string::npos)
      return invalidArgument(what + ": invalid name component " + quote(p) +
                             " (lowercase letters, digits, '.', '_', '-')");
  }
  return name + ":" + tag;
}

bool looksLikeId(const std::string& ref) {
  std::string hex = startsWith(ref, "sha256:") ? ref.substr(7) : ref;
  return hex.size() >= 4 && hex.size() <= 64 &&
         hex.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace berth::image
