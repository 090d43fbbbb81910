#include "image/dockerfile_flags.h"

#include <map>
#include <set>
#include <vector>

#include "common/strings.h"

namespace berth::image {
namespace {

// The keys each mount type takes, aliases already folded (see canonicalKey).
const std::set<std::string>& keysOf(MountType type) {
  static const std::set<std::string> bind = {"type", "target", "source", "from", "rw"};
  static const std::set<std::string> cache = {"type", "target", "id",  "sharing", "ro",
                                              "mode", "uid",    "gid", "from",    "source"};
  static const std::set<std::string> tmpfs = {"type", "target", "size"};
  static const std::set<std::string> secret = {"type",     "target", "id",  "env",
                                               "required", "mode",   "uid", "gid"};
  switch (type) {
    case MountType::kBind:
      return bind;
    case MountType::kCache:
      return cache;
    case MountType::kTmpfs:
      return tmpfs;
    case MountType::kSecret:
      break;
  }
  return secret;
}

std::string canonicalKey(const std::string& key) {
  static const std::map<std::string, std::string> aliases = {
      {"dst", "target"},  {"destination", "target"}, {"src", "source"},
      {"readonly", "ro"}, {"readwrite", "rw"},
  };
  auto it = aliases.find(key);
  return it == aliases.end() ? key : it->second;
}

bool isBooleanKey(const std::string& key) {
  return key == "ro" || key == "rw" || key == "required";
}

Result<uint32_t> parseId(const std::string& key, const std::string& value) {
  auto n = parseInt(value);
  if (!n || *n < 0 || *n > 0xffffffffLL) return invalidArgument(key + " must be a number");
  return static_cast<uint32_t>(*n);
}

Result<bool> parseBool(const std::string& key, const std::string& value) {
  if (value.empty() || value == "true") return true;
  if (value == "false") return false;
  return invalidArgument(key + " takes true or false, not " + quote(value));
}

Status apply(RunMount& m, const std::string& key, const std::string& value) {
  if (key == "target") {
    m.target = value;
  } else if (key == "source") {
    m.source = value;
  } else if (key == "from") {
    m.from = value;
  } else if (key == "id") {
    m.id = value;
  } else if (key == "env") {
    m.env = value;
  } else if (key == "rw") {
    m.read_write = BERTH_TRY(parseBool(key, value));
  } else if (key == "ro") {
    m.read_write = !BERTH_TRY(parseBool(key, value));
  } else if (key == "required") {
    m.required = BERTH_TRY(parseBool(key, value));
  } else if (key == "mode") {
    m.mode = BERTH_TRY(parseChmod(value));
  } else if (key == "uid") {
    m.uid = BERTH_TRY(parseId(key, value));
  } else if (key == "gid") {
    m.gid = BERTH_TRY(parseId(key, value));
  } else if (key == "size") {
    auto bytes = parseSize(value);
    if (!bytes) return bytes.error().context("size");
    m.size = static_cast<uint64_t>(*bytes);
  } else if (key == "sharing") {
    if (value == "shared") {
      m.sharing = CacheSharing::kShared;
    } else if (value == "private") {
      m.sharing = CacheSharing::kPrivate;
    } else if (value == "locked") {
      m.sharing = CacheSharing::kLocked;
    } else {
      return invalidArgument("sharing must be shared, private or locked");
    }
  }
  return okStatus();
}

Result<MountType> parseType(const std::string& value) {
  if (value == "bind") return MountType::kBind;
  if (value == "cache") return MountType::kCache;
  if (value == "tmpfs") return MountType::kTmpfs;
  if (value == "secret") return MountType::kSecret;
  if (value == "ssh")
    return unsupported("type=ssh is not supported by berth build (use type=secret for keys)");
  return invalidArgument("unknown mount type " + quote(value) +
                         " (use bind, cache, tmpfs or secret)");
}

Result<RunMount> parse(const std::string& spec) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& field : split(spec, ',')) {
    std::string_view f = trim(field);
    if (f.empty()) continue;
    size_t eq = f.find('=');
    std::string key = canonicalKey(toLower(f.substr(0, eq)));
    std::string value = eq == std::string_view::npos ? "" : std::string(f.substr(eq + 1));
    if (eq == std::string_view::npos && !isBooleanKey(key))
      return invalidArgument(quote(key) + " needs a value (" + key + "=VALUE)");
    fields.emplace_back(key, value);
  }
  RunMount m;
  for (const auto& [key, value] : fields) {
    if (key == "type") m.type = BERTH_TRY(parseType(value));
  }
  const auto& allowed = keysOf(m.type);
  std::set<std::string> seen;
  for (const auto& [key, value] : fields) {
    if (!allowed.count(key))
      return invalidArgument("unknown option " + quote(key) + " for this mount type");
    if (!seen.insert(key).second) return invalidArgument(quote(key) + " given twice");
    if (key != "type") BERTH_RETURN_IF_ERROR(apply(m, key, value));
  }
  switch (m.type) {
    case MountType::kBind:
      break;
    case MountType::kCache:
      if (!m.from.empty() || !m.source.empty())
        return unsupported("from and source (seeding a cache from a stage) are not supported");
      if (!seen.count("ro")) m.read_write = true;
      if (!seen.count("mode")) m.mode = 0755;
      if (m.id.empty()) m.id = m.target;
      break;
    case MountType::kTmpfs:
      break;
    case MountType::kSecret:
      if (m.id.empty() && m.target.empty())
        return invalidArgument("a secret mount needs id=ID (or a target to take it from)");
      if (m.id.empty()) m.id = m.target.substr(m.target.rfind('/') + 1);
      if (m.target.empty() && m.env.empty()) m.target = "/run/secrets/" + m.id;
      if (!seen.count("mode")) m.mode = 0400;
      return m;
  }
  if (m.target.empty()) return invalidArgument("the mount needs target=PATH");
  return m;
}

}  // namespace

Result<RunMount> parseRunMount(const std::string& spec) {
  auto m = parse(spec);
  if (!m) return m.error().context("--mount " + quote(spec));
  return m;
}

Result<uint32_t> parseChmod(const std::string& value) {
  bool octal = !value.empty() && value.size() <= 5 &&
               value.find_first_not_of("01234567") == std::string::npos;
  if (!octal)
    return invalidArgument("mode " + quote(value) + ": use an octal mode such as 755 or 0644");
  uint32_t mode = static_cast<uint32_t>(std::stoul(value, nullptr, 8));
  if (mode > 07777) return invalidArgument("mode " + quote(value) + " is larger than 7777");
  return mode;
}

}  // namespace berth::image
