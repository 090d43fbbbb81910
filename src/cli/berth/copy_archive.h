#pragma once
// The host side of `berth cp`: packing a host path into a tar archive and unpacking the
// archive the daemon sends, with docker's naming rules (see copy.cc). Touches only the
// host paths it is given; tested against temporary directories.

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::cli {

// The next piece of an archive into `out` (replacing it); false at its end.
using ChunkSource = std::function<Result<bool>(std::string& out)>;

// "/a/b/" → "b"; "/a/b" → "/a" (dirName of a bare name is ".").
std::string baseName(std::string path);
std::string dirName(std::string path);
// "DIR/." (or "."): the directory's contents rather than the directory.
bool contentsOnly(const std::string& path);

// Unpacks the archive of `src` (its entries named "BASE/…" after src's base name) at `dst`
// on the host: into `dst` when it is a directory, as `dst` otherwise; with contentsOnly(src)
// the entries under BASE go into `dst` (made if missing). Entries that would leave `dst`
// ("..", absolute links followed) are refused. Owners are not restored: files belong to
// the caller, as docker cp makes them.
Status extractArchive(const ChunkSource& source, const std::string& src, const std::string& dst);

// Whether the archive's first entry is a directory (the probe of a container path).
Result<bool> firstEntryIsDirectory(const ChunkSource& source);

// An entry packPath adds after the tree: a file with `content`, or a directory.
struct ExtraEntry {
  std::string name;  // "a/b", relative
  std::string content;
  unsigned mode = 0644;
  bool directory = false;
};

// Writes a tar of host path `src` to `fd`: its top-level entry is named `name` (its
// contents at the top when `name` is empty). Symbolic links are stored, not followed.
// Owners become root:root unless `keep_owner`. Entries for which `skip` (given the path
// relative to `src`, "a/b") is true are left out; `extra` entries (owned by root) follow.
Status packPath(const std::string& src, const std::string& name, bool keep_owner, int fd,
                const std::function<bool(const std::string& rel)>& skip = nullptr,
                const std::vector<ExtraEntry>& extra = {});

}  // namespace berth::cli
