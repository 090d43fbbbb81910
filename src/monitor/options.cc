#include "monitor/options.h"

#include <cstring>

#include "monitor/protocol.h"
#include "monitor/text.h"

namespace berth::monitor {
namespace {

bool fail(char* err, size_t cap, const char* a, const char* b = "", const char* c = "") {
  Text t(err, cap);
  t.add(a).add(b).add(c);
  return false;
}

}  // namespace

bool parseOptions(int argc, char** argv, Options* out, char* err, size_t err_cap) {
  // Filled in place: on failure the caller still learns the sync descriptor, if it came.
  Options& o = *out;
  o = Options{};
  o.log_max_files = kDefaultLogFiles;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    const char* eq = std::strchr(arg, '=');
    size_t name_len = eq ? static_cast<size_t>(eq - arg) : std::strlen(arg);
    auto is = [&](const char* name) {
      return std::strlen(name) == name_len && std::strncmp(arg, name, name_len) == 0;
    };
    if (!eq && is("--tty")) {
      o.tty = true;
      continue;
    }
    if (!eq && is("--stdin")) {
      o.stdin_open = true;
      continue;
    }
    if (!eq && is("--pool")) {
      o.pool = true;
      continue;
    }
    const char** str = nullptr;
    if (is("--id"))
      str = &o.id;
    else if (is("--bundle"))
      str = &o.bundle;
    else if (is("--dir"))
      str = &o.dir;
    else if (is("--runtime"))
      str = &o.runtime;
    else if (is("--runtime-root"))
      str = &o.runtime_root;
    else if (!is("--log-max-size") && !is("--log-max-files") && !is("--sync-fd"))
      return fail(err, err_cap, "unknown option '", arg, "'");
    const char* value = eq ? eq + 1 : nullptr;
    if (!value) {
      if (i + 1 >= argc) return fail(err, err_cap, "option '", arg, "' needs a value");
      value = argv[++i];
    }
    if (str) {
      *str = value;
      continue;
    }
    uint64_t n;
    if (!parseUnsigned(value, &n)) return fail(err, err_cap, "bad number '", value, "'");
    if (is("--log-max-size")) {
      o.log_max_size = n;
    } else if (is("--log-max-files")) {
      if (n < 1 || n > 1000) return fail(err, err_cap, "--log-max-files must be 1 to 1000");
      o.log_max_files = static_cast<int>(n);
    } else {
      if (n > 1 << 20) return fail(err, err_cap, "bad --sync-fd '", value, "'");
      o.sync_fd = static_cast<int>(n);
    }
  }
  struct {
    const char* name;
    const char* value;
    bool path;
    bool assigned;  // a pooled monitor learns it with its container
  } required[] = {{"--id", o.id, false, false},
                  {"--bundle", o.bundle, true, true},
                  {"--dir", o.dir, true, true},
                  {"--runtime", o.runtime, true, false},
                  {"--runtime-root", o.runtime_root, true, false}};
  for (const auto& r : required) {
    if (o.pool && r.assigned && !r.value) continue;
    if (!r.value || !*r.value) return fail(err, err_cap, "missing ", r.name);
    if (r.path && r.value[0] != '/')
      return fail(err, err_cap, r.name, " must be an absolute path: ", r.value);
  }
  return true;
}

}  // namespace berth::monitor
