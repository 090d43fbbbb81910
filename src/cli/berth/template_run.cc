#include "cli/berth/template_run.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include "cli/berth/run_options.h"
#include "common/strings.h"
#include "sys/fd.h"
#include "sys/fs.h"
#include "sys/process.h"

extern char** environ;

namespace berth::cli::tmpl {

namespace {

using std::chrono::milliseconds;

Result<milliseconds> waitDuration(std::string_view text, std::string_view whole) {
  auto ns = parseDuration(text);
  if (!ns) return invalidArgument("invalid --wait " + quote(whole) + ": " + ns.error().message());
  return std::chrono::duration_cast<milliseconds>(std::chrono::nanoseconds(*ns));
}

std::string directoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The file `path` names, through a symbolic link; `path` itself when nothing is there yet.
std::string realTarget(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved)) return resolved;
  return path;
}

Status writeAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoError("write " + quote(what), errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return okStatus();
}

}  // namespace

Result<TemplateSpec> parseTemplateSpec(std::string_view arg) {
  size_t first = arg.find(':');
  auto bad = [&](const std::string& why) {
    return invalidArgument("invalid template " + quote(arg) + ": " + why +
                           " (expected SRC:DEST[:RELOAD_COMMAND], such as "
                           "web.tmpl:/etc/nginx/conf.d/web.conf:\"nginx -s reload\")");
  };
  if (first == std::string_view::npos) return bad("no ':' between the template and its output");
  TemplateSpec spec;
  spec.source = std::string(arg.substr(0, first));
  std::string_view rest = arg.substr(first + 1);
  size_t second = rest.find(':');
  spec.dest = std::string(rest.substr(0, second));
  if (second != std::string_view::npos) {
    spec.command = std::string(trim(rest.substr(second + 1)));
    if (spec.command.empty()) return bad("the reload command after the second ':' is empty");
  }
  if (spec.source.empty()) return bad("the template file is empty");
  if (spec.dest.empty()) return bad("the output file is empty");
  return spec;
}

Result<Quiescence> parseWait(std::string_view text) {
  size_t colon = text.find(':');
  Quiescence q;
  q.min = BERTH_TRY(waitDuration(text.substr(0, colon), text));
  if (colon == std::string_view::npos) {
    q.max = q.min * 4;
    return q;
  }
  q.max = BERTH_TRY(waitDuration(text.substr(colon + 1), text));
  if (q.max < q.min)
    return invalidArgument("invalid --wait " + quote(text) +
                           ": the maximum is shorter than the minimum (MIN[:MAX], such as 2s:10s)");
  return q;
}

std::chrono::steady_clock::time_point renderAt(const Quiescence& q,
                                               std::chrono::steady_clock::time_point first,
                                               std::chrono::steady_clock::time_point last) {
  return std::min(last + q.min, first + q.max);
}

Result<bool> writeIfChanged(const std::string& path, std::string_view content) {
  std::string target = realTarget(path);
  struct stat st {};
  bool exists = ::stat(target.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) return errnoError("write " + quote(path), errno);
  if (exists && !S_ISREG(st.st_mode))
    return invalidArgument("write " + quote(path) + ": it is not a regular file");
  if (exists && BERTH_TRY(sys::readFile(target)) == content) return false;

  std::string dir = directoryOf(target);
  std::string tmp = dir + "/." + target.substr(target.rfind('/') + 1) + ".berth-XXXXXX";
  sys::Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid())
    return errnoError("write " + quote(path) + ": create a file in " + quote(dir), errno);
  auto fail = [&](const Error& e) {
    ::unlink(tmp.c_str());
    return e;
  };
  if (auto s = writeAll(fd.get(), content, tmp); !s) return fail(s.error());
  mode_t mode = exists ? (st.st_mode & 07777) : 0644;
  if (::fchmod(fd.get(), mode) != 0)
    return fail(errnoError("set the mode of " + quote(tmp), errno));
  // Another owner is kept where berth may give it (root); otherwise the file becomes the
  // writer's, as with any replacement.
  if (exists && (st.st_uid != ::geteuid() || st.st_gid != ::getegid()) &&
      ::fchown(fd.get(), st.st_uid, st.st_gid) != 0 && errno != EPERM)
    return fail(errnoError("set the owner of " + quote(tmp), errno));
  if (::fsync(fd.get()) != 0) return fail(errnoError("sync " + quote(tmp), errno));
  fd.reset();
  if (::rename(tmp.c_str(), target.c_str()) != 0)
    return fail(errnoError("rename " + quote(tmp) + " to " + quote(target), errno));
  // The rename itself survives a crash once the directory is synced.
  sys::Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid() || ::fsync(dir_fd.get()) != 0)
    return errnoError("sync directory " + quote(dir), errno);
  return true;
}

Result<int> runShell(const std::string& command) {
  std::fflush(stdout);
  std::fflush(stderr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // berth ignores SIGPIPE and may catch SIGINT and SIGTERM: the command gets the defaults
  // and no blocked signal.
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::string sh = "sh", c = "-c";
  char* argv[] = {sh.data(), c.data(), const_cast<char*>(command.c_str()), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, "/bin/sh", &files, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&files);
  if (rc != 0) return errnoError("run " + quote(command) + ": start /bin/sh", rc);
  int status = BERTH_TRY(sys::waitChild(pid));
  return sys::exitCodeOf(status);
}

Result<TemplateSet> TemplateSet::load(const std::vector<TemplateSpec>& specs) {
  std::vector<Entry> entries;
  std::map<std::string, std::string> dests;  // real path → the template writing it
  for (const auto& spec : specs) {
    std::string text = BERTH_TRY(sys::readFile(spec.source));
    Template t = BERTH_TRY(Template::parse(spec.source, text));
    auto [it, fresh] = dests.emplace(realTarget(spec.dest), spec.source);
    if (!fresh)
      return invalidArgument("templates " + quote(it->second) + " and " + quote(spec.source) +
                             " both write " + quote(spec.dest) + ": give each its own output");
    entries.push_back({spec, std::move(t)});
  }
  return TemplateSet(std::move(entries));
}

TemplateSet::Round TemplateSet::render(DataSource& source, const CommandRunner& run,
                                       bool all_or_nothing) const {
  Round round;
  std::vector<std::optional<std::string>> outputs;
  for (const auto& e : entries_) {
    auto text = e.tmpl.render(source, round.deps);
    if (!text) round.errors.push_back(text.error());
    outputs.push_back(text ? std::optional<std::string>(std::move(*text)) : std::nullopt);
  }
  if (all_or_nothing && !round.errors.empty()) return round;

  std::vector<std::string> commands;  // of the written outputs, first use first
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!outputs[i]) continue;
    const TemplateSpec& spec = entries_[i].spec;
    auto written = writeIfChanged(spec.dest, *outputs[i]);
    if (!written) {
      round.errors.push_back(written.error().context("template " + spec.source));
      continue;
    }
    if (!*written) continue;
    round.written.push_back(spec.dest);
    if (!spec.command.empty() &&
        std::find(commands.begin(), commands.end(), spec.command) == commands.end())
      commands.push_back(spec.command);
  }
  for (const auto& command : commands) {
    auto code = run(command);
    if (!code)
      round.errors.push_back(code.error());
    else if (*code != 0)
      round.errors.push_back(
          Error(ErrorCode::kUnavailable,
                "reload command " + quote(command) + " exited with " + std::to_string(*code)));
  }
  return round;
}

std::optional<std::string> TemplateSet::kvPrefix() const {
  std::optional<std::string> prefix;
  for (const auto& e : entries_) {
    auto p = e.tmpl.kvPrefix();
    if (!p) continue;
    prefix = prefix ? std::string(sharedPrefix(*prefix, *p)) : *p;
  }
  return prefix;
}

}  // namespace berth::cli::tmpl
