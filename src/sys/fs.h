#pragma once
// Thin filesystem helpers with errors that name the path.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"

namespace berth::sys {

Result<std::string> readFile(const std::string& path);
// Writes `data` to an existing file (O_WRONLY|O_TRUNC; cgroup and proc files).
Status writeFile(const std::string& path, const std::string& data);
// Writes to a temp file beside `path`, fsyncs and renames: readers see old or new.
Status writeFileAtomic(const std::string& path, const std::string& data, mode_t mode = 0644);
// The same without the fsync: readers see old or new, but a crash may lose it. For files
// regenerated at every use (a container's bundle, /etc/hosts).
Status replaceFile(const std::string& path, const std::string& data, mode_t mode = 0644);
Status mkdirAll(const std::string& path, mode_t mode = 0755);
// Creates an empty regular file if nothing exists at `path` (a bind-mount target).
Status touch(const std::string& path);
bool exists(const std::string& path);
bool isDirectory(const std::string& path);
// The names in a directory, sorted, without "." and ".."; a missing directory is kNotFound.
Result<std::vector<std::string>> listDir(const std::string& dir);
// The sizes of the files under `dir` (not following links), as du --apparent-size adds
// them; 0 for a missing directory.
int64_t treeSize(const std::string& dir);
// Removes a directory tree (not crossing mount points is the caller's business).
Status removeAll(const std::string& path);
// rename(2): `from` to `to` on the same filesystem, replacing an empty directory or a file.
Status rename(const std::string& from, const std::string& to);

// Resolves `unsafe` (an absolute path inside the container) against `root` the way the
// kernel would after a chroot to `root`: symlinks are followed but can never lead outside
// `root`; ".." stops at root. Components that do not exist are kept as they are.
Result<std::string> secureJoin(const std::string& root, const std::string& unsafe);

}  // namespace berth::sys
