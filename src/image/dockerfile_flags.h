#pragma once
// The values of the instruction flags the builder interprets (the parser keeps them as
// text, see Instruction::flags): RUN --mount specs and COPY/ADD --chmod. Pure: no I/O.

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"

namespace berth::image {

enum class MountType { kBind, kCache, kTmpfs, kSecret };
// How builds that run at the same time share one cache mount: all at once (shared), one
// after the other (locked), or each with a directory of its own while another holds it
// (private).
enum class CacheSharing { kShared, kPrivate, kLocked };

// One RUN --mount, with the Dockerfile reference's defaults filled in.
//   bind    target, source (a path in `from`, default its root), from (an earlier stage or
//           a local image; empty: the build context), read_write ("rw": writes are
//           discarded after the step)
//   cache   target, id (default: the target), sharing, read_write (false with "ro"), mode
//           (default 0755), uid, gid (default 0): what the directory is made with
//   tmpfs   target, size (bytes; 0: the kernel's default)
//   secret  id (default: the target's base name), target (default /run/secrets/<id>),
//           env (also or instead, an environment variable of the step), required, mode
//           (default 0400), uid, gid
// `from` and `source` of a cache mount (seeding it from a stage) are refused: berth keeps
// cache mounts empty until a step fills them.
struct RunMount {
  MountType type = MountType::kBind;
  std::string target;  // absolute, cleaned ("/a/b")
  std::string source;
  std::string from;
  std::string id;
  std::string env;
  CacheSharing sharing = CacheSharing::kShared;
  bool read_write = false;
  bool required = false;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
};

// Parses "type=cache,target=/root/.cache,sharing=locked" (the value of one --mount).
// Keys as BuildKit spells them, with its aliases (dst/destination, src, ro/readonly,
// rw/readwrite); boolean keys alone mean true. Errors name the key:
// "--mount 'type=cache,sharing=sometimes': sharing must be shared, private or locked".
// type=ssh is refused as unsupported.
Result<RunMount> parseRunMount(const std::string& spec);

// "--chmod=0755" / "--chmod=644": an octal mode up to 07777. Symbolic modes ("u+x") are
// refused with a hint, as are values past 07777.
Result<uint32_t> parseChmod(const std::string& value);

}  // namespace berth::image
