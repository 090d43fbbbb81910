#pragma once
// The build context: .dockerignore matching, COPY source expansion inside the context,
// copying trees into a layer directory, and hashing sources for the build cache.

#include <optional>
#include <string>
#include <vector>

#include "common/ignore_rules.h"
#include "common/result.h"

namespace berth::engine {

// The context's .dockerignore (no rules when there is none).
Result<IgnoreRules> loadIgnoreRules(const std::string& context_dir);

// Expands a COPY source (a path or a glob, relative to `root`) to existing relative paths.
// Errors when nothing matches or when a path would leave `root`.
Result<std::vector<std::string>> expandSources(const std::string& root, const std::string& source);

// What COPY --chown and --chmod set on everything copied (links keep their mode).
struct CopyOwner {
  std::optional<uint32_t> uid, gid;
  std::optional<uint32_t> mode;
};

// Copies `src` (a file, symlink or directory tree; symlinks copied as links) to `dst`,
// keeping modes and times; `owner` overrides ownership (and mode) of everything copied;
// entries whose path relative to `rel_base` is ignored by `ignore` are skipped (nullptr:
// none).
Status copyTree(const std::string& src, const std::string& dst, const CopyOwner& owner,
                const IgnoreRules* ignore, const std::string& rel_base);

// Folds the path, type, mode, owner, size, link target and content of everything under
// `path` (ignoring what `ignore` ignores) into `out`, for the cache key.
Status hashTree(const std::string& path, const std::string& rel, const IgnoreRules* ignore,
                std::string* out);

}  // namespace berth::engine
