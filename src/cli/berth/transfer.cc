// load, save, import: images in and out of berthd as archives.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "cli/berth/verbs.h"
#include "common/progress.h"
#include "sys/fd.h"

namespace berth::cli {

using nlohmann::json;

Result<json> postArchive(Context& ctx, const std::string& target, int fd, const std::string& label,
                         uint64_t total, const std::function<void(const std::string&)>& on_progress,
                         const std::map<std::string, std::string>& headers) {
  // With a label, a pump between `fd` and the upload counts the bytes for the bar.
  sys::Fd read_end, write_end;
  std::thread pump;
  if (!label.empty()) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return errnoError("pipe", errno);
    read_end = sys::Fd(fds[0]);
    write_end = sys::Fd(fds[1]);
    pump = std::thread([&] {
      progress::Task task(label, total);
      std::string buf(1 << 20, '\0');
      for (ssize_t n; (n = ::read(fd, buf.data(), buf.size())) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;  // the upload sees a short body and the daemon says so
        for (ssize_t off = 0; off < n;) {
          ssize_t w = ::write(write_end.get(), buf.data() + off, static_cast<size_t>(n - off));
          if (w < 0 && errno == EINTR) continue;
          if (w < 0) return;  // the upload stopped (EPIPE)
          off += w;
        }
        task.advance(static_cast<uint64_t>(n));
      }
      write_end.reset();
    });
  }
  auto stream = ctx.api().uploadStream("POST", target, label.empty() ? fd : read_end.get(),
                                       "application/x-tar", headers);
  read_end.reset();  // a failed upload stops the pump
  if (pump.joinable()) pump.join();
  if (!stream) return stream.error();

  std::string pending, piece;
  std::optional<json> last;
  auto take = [&](const std::string& line) -> Status {
    if (line.empty()) return okStatus();
    auto j = json::parse(line, nullptr, false);
    if (!j.is_object()) return internalError("the daemon's answer is not JSON: " + line);
    if (j.contains("progress")) {
      if (on_progress) on_progress(j["progress"].get<std::string>());
      return okStatus();
    }
    if (j.contains("error")) {
      const json& e = j["error"];
      return httpError(e.value("status", 500), e.value("message", "failed"));
    }
    last = std::move(j);
    return okStatus();
  };
  while (BERTH_TRY((*stream)->next(piece))) {
    pending += piece;
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      BERTH_RETURN_IF_ERROR(take(pending.substr(0, nl)));
      pending.erase(0, nl + 1);
    }
  }
  BERTH_RETURN_IF_ERROR(take(pending));
  if (!last) return internalError("the daemon's answer ended early");
  return *last;
}

namespace {

// The file to upload: `path`, or stdin for "-" (refused on a terminal).
Result<sys::Fd> openInput(const std::string& path, const std::string& verb, uint64_t* size) {
  if (path == "-") {
    if (::isatty(0))
      return invalidArgument(verb + ": give an archive as a file or on stdin, not a terminal");
    return sys::Fd(::dup(0));
  }
  sys::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoError(verb + " " + quote(path), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode)) *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

std::string labelFor(const std::string& verb, const std::string& path) {
  return verb + " " + (path == "-" ? std::string("stdin") : path);
}

Status load(Context& ctx, const std::string& input, bool quiet) {
  uint64_t size = 0;
  sys::Fd fd = BERTH_TRY(openInput(input, "load", &size));
  std::string label = quiet ? "" : labelFor("Loading", input);
  json r = BERTH_TRY(postArchive(ctx, "/v1/images/load", fd.get(), label, size, nullptr));
  if (quiet) return okStatus();
  for (const auto& line : r.value("loaded", std::vector<std::string>{}))
    std::printf("%s\n", line.c_str());
  return okStatus();
}

Status save(Context& ctx, const std::vector<std::string>& refs, const std::string& output,
            const std::string& format) {
  if (output == "-" && ::isatty(1))
    return invalidArgument("save: refusing to write an archive to a terminal; use -o FILE");
  std::string target =
      "/v1/images/get?format=" + std::string(format == "docker-archive" ? "docker" : "oci");
  for (const auto& r : refs) target += "&name=" + urlEncode(r);
  auto stream = BERTH_TRY(ctx.api().stream("GET", target));
  // A file is written under a temp name and renamed when whole; stdout, a pipe or a
  // device (/dev/null) is written to directly.
  struct stat st {};
  bool direct = output == "-" || (::stat(output.c_str(), &st) == 0 && !S_ISREG(st.st_mode));
  std::string tmp = direct ? output : output + ".berth-tmp";
  sys::Fd fd(output == "-" ? ::dup(1)
                           : ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errnoError("save " + quote(output), errno);
  auto fail = [&](const Error& e) -> Status {
    if (!direct) ::unlink(tmp.c_str());
    return e;
  };
  progress::Task task("Saving " + join(refs, ", "), 0);
  std::string piece;
  while (true) {
    auto more = stream->next(piece);
    if (!more) return fail(more.error());
    if (!*more) break;
    for (size_t off = 0; off < piece.size();) {
      ssize_t n = ::write(fd.get(), piece.data() + off, piece.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(errnoError("save: write " + quote(output), errno));
      off += static_cast<size_t>(n);
    }
    task.advance(piece.size());
  }
  if (direct) return okStatus();
  if (::rename(tmp.c_str(), output.c_str()) != 0)
    return fail(errnoError("save " + quote(output), errno));
  return okStatus();
}

Status import(Context& ctx, const std::string& file, const std::string& name,
              const std::vector<std::string>& changes, const std::string& message) {
  uint64_t size = 0;
  sys::Fd fd = BERTH_TRY(openInput(file, "import", &size));
  std::string target = "/v1/images/import?name=" + urlEncode(name);
  for (const auto& c : changes) target += "&change=" + urlEncode(c);
  if (!message.empty()) target += "&message=" + urlEncode(message);
  json r =
      BERTH_TRY(postArchive(ctx, target, fd.get(), labelFor("Importing", file), size, nullptr));
  std::printf("%s\n", r.value("id", "").c_str());
  return okStatus();
}

}  // namespace

void addTransferVerbs(CLI::App& app, Context& ctx) {
  auto* ld = app.add_subcommand("load", "load images from a docker-archive or OCI archive");
  auto input = std::make_shared<std::string>("-");
  auto quiet = std::make_shared<bool>(false);
  ld->add_option("-i,--input", *input, "archive to read (default: stdin)");
  ld->add_flag("-q,--quiet", *quiet, "print nothing but errors");
  ld->callback([&ctx, input, quiet] {
    if (auto s = load(ctx, *input, *quiet); !s) ctx.fail(s.error());
  });

  auto* sv = app.add_subcommand("save", "save images to a docker-archive (or OCI archive)");
  auto output = std::make_shared<std::string>("-");
  auto format = std::make_shared<std::string>("docker-archive");
  auto refs = std::make_shared<std::vector<std::string>>();
  sv->add_option("-o,--output", *output, "archive to write (default: stdout)");
  sv->add_option("--format", *format, "docker-archive or oci")
      ->check(CLI::IsMember({"docker-archive", "oci", "oci-archive"}));
  sv->add_option("images", *refs, "images to save")->required();
  sv->callback([&ctx, output, format, refs] {
    if (auto s = save(ctx, *refs, *output, *format); !s) ctx.fail(s.error());
  });

  auto* imp = app.add_subcommand("import", "make an image from a root filesystem tarball");
  auto file = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto changes = std::make_shared<std::vector<std::string>>();
  auto message = std::make_shared<std::string>();
  imp->add_option("file", *file, "tarball (or - for stdin)")->required();
  imp->add_option("name", *name, "NAME[:TAG] for the image");
  imp->add_option("-c,--change", *changes, "Dockerfile instruction for the config, e.g. CMD=sh")
      ->allow_extra_args(false);
  imp->add_option("-m,--message", *message, "comment for the image's history");
  imp->callback([&ctx, file, name, changes, message] {
    if (auto s = import(ctx, *file, *name, *changes, *message); !s) ctx.fail(s.error());
  });
}

}  // namespace berth::cli
