// cp: files between a container and the host, as tar archives over berthd's archive
// endpoints, packed and unpacked here with libarchive. The rules are docker's:
//   CTR:SRC DST   DST an existing directory: SRC lands inside it under its own name;
//                 otherwise SRC becomes DST. "CTR:DIR/." copies DIR's contents.
//   SRC CTR:DST   the same, with the container's side probed by GET archive.
//   `-` instead of a local path: a tar archive on stdin or stdout, passed on as it is.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/berth/copy_archive.h"
#include "cli/berth/verbs.h"
#include "common/strings.h"
#include "sys/fd.h"

namespace berth::cli {

namespace {

ChunkSource chunksOf(api::ClientStream& stream) {
  return [&stream](std::string& out) { return stream.next(out); };
}

Status copyFromContainer(Context& ctx, const std::string& id, const std::string& src,
                         const std::string& dst) {
  auto stream =
      BERTH_TRY(ctx.api().stream("GET", containerPath(id) + "/archive?path=" + urlEncode(src)));
  if (dst == "-") {
    std::string piece;
    while (BERTH_TRY(stream->next(piece))) {
      if (std::fwrite(piece.data(), 1, piece.size(), stdout) != piece.size())
        return errnoError("write stdout", errno);
    }
    std::fflush(stdout);
    return okStatus();
  }
  return extractArchive(chunksOf(*stream), src, dst);
}

// Where in the container an upload goes: {directory to extract in, top-level name}.
Result<std::pair<std::string, std::string>> uploadTarget(Context& ctx, const std::string& id,
                                                         const std::string& src, bool src_dir,
                                                         const std::string& dst) {
  std::string name = contentsOnly(src) ? "" : baseName(src);
  auto probe = ctx.api().stream("GET", containerPath(id) + "/archive?path=" + urlEncode(dst));
  if (!probe) {
    if (probe.error().code() != ErrorCode::kNotFound) return probe.error();
    if (!dst.empty() && dst.back() == '/')
      return notFound("copy to " + quote(id + ":" + dst) + ": no such directory");
    if (contentsOnly(src))
      return notFound("copy to " + quote(id + ":" + dst) + ": no such directory");
    return std::pair{dirName(dst), baseName(dst)};  // SRC becomes DST
  }
  // The first entry says whether DST is a directory.
  if (BERTH_TRY(firstEntryIsDirectory(chunksOf(**probe)))) return std::pair{dst, name};
  if (src_dir)
    return invalidArgument("copy to " + quote(id + ":" + dst) +
                           ": cannot copy a directory to a file");
  return std::pair{dirName(dst), baseName(dst)};
}

Status copyToContainer(Context& ctx, const std::string& src, const std::string& id,
                       const std::string& dst, bool keep_owner) {
  std::string target = containerPath(id) + "/archive?path=";
  if (src == "-") {  // a tar on stdin, extracted as it is
    BERTH_TRY(ctx.api().upload("PUT", target + urlEncode(dst), 0, "application/x-tar"));
    return okStatus();
  }
  struct stat st {};
  if (::lstat(src.c_str(), &st) != 0) return errnoError("copy " + quote(src), errno);
  auto [dir, name] = BERTH_TRY(uploadTarget(ctx, id, src, S_ISDIR(st.st_mode), dst));
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errnoError("pipe", errno);
  sys::Fd read_end(fds[0]), write_end(fds[1]);
  Status packed;
  std::thread writer([&] {
    packed = packPath(src, name, keep_owner, write_end.get());
    write_end.reset();
  });
  auto sent = ctx.api().upload("PUT", target + urlEncode(dir), read_end.get(), "application/x-tar");
  read_end.reset();  // a failed upload stops the packer (EPIPE)
  writer.join();
  if (!packed) return packed.error();
  if (!sent) return sent.error();
  return okStatus();
}

// "CTR:PATH" → {CTR, PATH}; a local path (no colon before the first slash) → nullopt.
std::optional<std::pair<std::string, std::string>> splitRemote(const std::string& arg) {
  size_t colon = arg.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  size_t slash = arg.find('/');
  if (slash != std::string::npos && slash < colon) return std::nullopt;  // ./a:b is local
  return std::pair{arg.substr(0, colon), arg.substr(colon + 1)};
}

}  // namespace

void addCopyVerb(CLI::App& app, Context& ctx) {
  auto src = std::make_shared<std::string>();
  auto dst = std::make_shared<std::string>();
  auto archive_mode = std::make_shared<bool>(false);
  auto* cp = app.add_subcommand("cp", "copy files between a container and the host");
  cp->add_flag("-a,--archive", *archive_mode, "keep owners (uid/gid) when copying in");
  cp->add_option("source", *src, "CONTAINER:PATH, a host path, or - (a tar on stdin)")->required();
  cp->add_option("destination", *dst, "CONTAINER:PATH, a host path, or - (a tar on stdout)")
      ->required();
  cp->callback([&ctx, src, dst, archive_mode] {
    auto from = splitRemote(*src), to = splitRemote(*dst);
    if (from.has_value() == to.has_value())
      return ctx.fail(invalidArgument(
          "cp: give exactly one side as CONTAINER:PATH (copies between containers are not "
          "supported)"));
    Status s = from ? copyFromContainer(ctx, from->first, from->second, *dst)
                    : copyToContainer(ctx, *src, to->first, to->second, *archive_mode);
    if (!s) ctx.fail(s.error());
  });
}

}  // namespace berth::cli
