#pragma once
// .dockerignore: one pattern per line, '#' comments, '!' re-includes; patterns are
// matched against the path relative to the context with fnmatch (FNM_PATHNAME), "**"
// matching any number of directories, and a match on a directory covers its contents.
// The CLI applies them when it packs a build context, the builder again for COPY/ADD.

#include <string>
#include <vector>

namespace berth {

// "./a/b/", "/a/b" → "a/b": a path or pattern relative to the context.
std::string cleanContextPath(std::string p);

class IgnoreRules {
 public:
  // From the file's text; no rules for "".
  static IgnoreRules parse(const std::string& text);
  bool ignored(const std::string& rel_path) const;
  bool empty() const { return rules_.empty(); }

 private:
  struct Rule {
    std::string pattern;
    bool exclude = true;
  };
  std::vector<Rule> rules_;
};

}  // namespace berth
