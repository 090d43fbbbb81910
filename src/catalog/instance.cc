// An instance as JSON and its checks: what the API accepts, what the Store holds under
// /berth/v1/catalog/<service>/<id> (the same JSON, see catalog.h), and what the mirror
// reads back. The "v1" in the key prefix versions this format: a change that older daemons
// cannot read goes under a new prefix.

#include <arpa/inet.h>

#include <algorithm>
#include <climits>

#include "catalog/catalog.h"
#include "common/strings.h"

namespace berth::catalog {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

Error fieldError(std::string_view field, const std::string& what) {
  return invalidArgument("field " + quote(field) + ": " + what);
}

Error wrongType(std::string_view field, const char* expected, const json& j) {
  return fieldError(field, std::string("expected ") + expected + ", not " + j.type_name());
}

Result<std::string> readString(const json& j, std::string_view field) {
  if (!j.is_string()) return wrongType(field, "a string", j);
  return j.get<std::string>();
}

Result<int64_t> readInt(const json& j, std::string_view field, int64_t lo, int64_t hi) {
  if (!j.is_number_integer()) return wrongType(field, "an integer", j);
  bool in_range = j.is_number_unsigned() ? j.get<uint64_t>() <= static_cast<uint64_t>(hi)
                                         : j.get<int64_t>() >= lo && j.get<int64_t>() <= hi;
  if (!in_range)
    return fieldError(field, "expected " + std::to_string(lo) + " to " + std::to_string(hi) +
                                 ", not " + j.dump());
  return j.get<int64_t>();
}

Result<std::vector<std::string>> readStrings(const json& j, std::string_view field) {
  if (!j.is_array()) return wrongType(field, "an array of strings", j);
  std::vector<std::string> out;
  for (const json& e : j) {
    if (!e.is_string()) return wrongType(field, "an array of strings", e);
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<milliseconds> readDuration(const json& j, std::string_view field) {
  std::string text = BERTH_TRY(readString(j, field));
  auto ns = parseDuration(text);
  if (!ns) return fieldError(field, quote(text) + ": " + ns.error().message());
  if (*ns % 1000000 != 0) return fieldError(field, quote(text) + ": use whole milliseconds");
  return milliseconds(*ns / 1000000);
}

Error unknownField(std::string_view field) {
  return invalidArgument("unknown field " + quote(field));
}

const char* kindName(Check::Kind k) {
  switch (k) {
    case Check::Kind::kTcp:
      return "tcp";
    case Check::Kind::kHttp:
      return "http";
    case Check::Kind::kCommand:
      return "command";
    case Check::Kind::kNone:
      break;
  }
  return "none";
}

Result<Check> checkFromJson(const json& j) {
  Check c;
  if (j.is_null()) return c;
  if (!j.is_object()) return wrongType("check", "an object", j);
  if (!j.contains("type")) return fieldError("check.type", "missing (tcp, http or command)");
  for (const auto& [k, v] : j.items()) {
    std::string field = "check." + k;
    if (k == "type") {
      std::string t = BERTH_TRY(readString(v, field));
      if (t == "tcp") {
        c.kind = Check::Kind::kTcp;
      } else if (t == "http") {
        c.kind = Check::Kind::kHttp;
      } else if (t == "command") {
        c.kind = Check::Kind::kCommand;
      } else {
        return fieldError(field, "expected tcp, http or command, not " + quote(t));
      }
    } else if (k == "path") {
      c.path = BERTH_TRY(readString(v, field));
    } else if (k == "command") {
      c.command = BERTH_TRY(readStrings(v, field));
    } else if (k == "interval") {
      c.interval = BERTH_TRY(readDuration(v, field));
    } else if (k == "timeout") {
      c.timeout = BERTH_TRY(readDuration(v, field));
    } else if (k == "failures") {
      c.failures = static_cast<int>(BERTH_TRY(readInt(v, field, 0, INT_MAX)));
    } else if (k == "successes") {
      c.successes = static_cast<int>(BERTH_TRY(readInt(v, field, 0, INT_MAX)));
    } else {
      return unknownField(field);
    }
  }
  return c;
}

// A DNS label as berth names services and tags: [a-z0-9-], 1-63 characters, no '-' at
// either end.
bool isLabel(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool isId(const std::string& s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

constexpr const char* kLabelRule =
    "use 1-63 lowercase letters, digits and '-', not starting or ending with '-'";

Status validateCheck(const Instance& in) {
  const Check& c = in.check;
  if (c.kind == Check::Kind::kNone) return okStatus();
  if (c.interval < milliseconds(100))
    return invalidArgument("check interval " + formatDuration(c.interval) +
                           ": must be at least 100ms");
  if (c.timeout <= milliseconds(0) || c.timeout > c.interval)
    return invalidArgument("check timeout " + formatDuration(c.timeout) +
                           ": must be above 0 and at most the interval (" +
                           formatDuration(c.interval) + ")");
  if (c.failures < 1)
    return invalidArgument("check failures " + std::to_string(c.failures) + ": must be at least 1");
  if (c.successes < 1)
    return invalidArgument("check successes " + std::to_string(c.successes) +
                           ": must be at least 1");
  switch (c.kind) {
    case Check::Kind::kHttp:
      if (!c.path.empty() &&
          (c.path[0] != '/' || std::any_of(c.path.begin(), c.path.end(), [](char ch) {
             return static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f;
           })))
        return invalidArgument("check path " + quote(c.path) +
                               ": must start with '/' and hold no spaces or control characters");
      [[fallthrough]];
    case Check::Kind::kTcp:
      if (in.port == 0)
        return invalidArgument(std::string("a ") + kindName(c.kind) +
                               " check needs the instance's port");
      break;
    case Check::Kind::kCommand:
      if (in.container.empty()) return invalidArgument("a command check needs a container");
      if (c.command.empty()) return invalidArgument("a command check needs a command");
      break;
    case Check::Kind::kNone:
      break;
  }
  return okStatus();
}

}  // namespace

std::string formatDuration(milliseconds d) {
  int64_t ms = d.count();
  if (ms != 0 && ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms != 0 && ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string instanceKey(const std::string& service, const std::string& id) {
  return std::string(kCatalogRoot) + service + "/" + id;
}

json toJson(const Instance& in) {
  json j = {{"service", in.service},
            {"id", in.id},
            {"address", in.address},
            {"port", in.port},
            {"node", in.node},
            {"tags", in.tags},
            {"meta", in.meta},
            {"container", in.container},
            {"health", in.health == Health::kPassing ? "passing" : "critical"},
            {"output", in.output}};
  const Check& c = in.check;
  if (c.kind != Check::Kind::kNone) {
    json check = {{"type", kindName(c.kind)},
                  {"interval", formatDuration(c.interval)},
                  {"timeout", formatDuration(c.timeout)},
                  {"failures", c.failures},
                  {"successes", c.successes}};
    if (c.kind == Check::Kind::kHttp) check["path"] = c.path;
    if (c.kind == Check::Kind::kCommand) check["command"] = c.command;
    j["check"] = std::move(check);
  }
  return j;
}

Result<Instance> instanceFromJson(const json& j) {
  if (!j.is_object())
    return invalidArgument(std::string("expected an instance object, not ") + j.type_name());
  Instance in;
  for (const auto& [k, v] : j.items()) {
    if (k == "service") {
      in.service = BERTH_TRY(readString(v, k));
    } else if (k == "id") {
      in.id = BERTH_TRY(readString(v, k));
    } else if (k == "address") {
      in.address = BERTH_TRY(readString(v, k));
    } else if (k == "port") {
      in.port = static_cast<uint16_t>(BERTH_TRY(readInt(v, k, 0, 65535)));
    } else if (k == "node") {
      in.node = BERTH_TRY(readString(v, k));
    } else if (k == "tags") {
      in.tags = BERTH_TRY(readStrings(v, k));
    } else if (k == "meta") {
      if (!v.is_object()) return wrongType(k, "an object of strings", v);
      for (const auto& [mk, mv] : v.items()) in.meta[mk] = BERTH_TRY(readString(mv, "meta." + mk));
    } else if (k == "container") {
      in.container = BERTH_TRY(readString(v, k));
    } else if (k == "check") {
      in.check = BERTH_TRY(checkFromJson(v));
    } else if (k == "health") {
      std::string h = BERTH_TRY(readString(v, k));
      if (h != "passing" && h != "critical")
        return fieldError(k, "expected passing or critical, not " + quote(h));
      in.health = h == "passing" ? Health::kPassing : Health::kCritical;
    } else if (k == "output") {
      in.output = BERTH_TRY(readString(v, k));
    } else {
      return unknownField(k);
    }
  }
  return in;
}

Status validate(const Instance& in) {
  if (!isLabel(in.service))
    return invalidArgument("service name " + quote(in.service) + ": " + kLabelRule);
  if (!isId(in.id))
    return invalidArgument("instance id " + quote(in.id) +
                           ": use 1-128 letters, digits, '_', '.' and '-' (not '.' or '..')");
  in_addr addr{};
  if (::inet_pton(AF_INET, in.address.c_str(), &addr) != 1)
    return invalidArgument("address " + quote(in.address) +
                           ": expected an IPv4 address such as 10.89.0.2");
  for (const std::string& tag : in.tags)
    if (!isLabel(tag)) return invalidArgument("tag " + quote(tag) + ": " + kLabelRule);
  for (const auto& [key, value] : in.meta)
    if (key.empty()) return invalidArgument("meta: a key is empty");
  return validateCheck(in);
}

}  // namespace berth::catalog
