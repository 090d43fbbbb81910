#pragma once
// What `berth template` does with rendered text, apart from where the data comes from:
// its arguments (SRC:DEST[:COMMAND], --wait), writing DEST only when its content changes,
// running reload commands, and one round over every template (TemplateSet). The data
// source is given (template_source.h talks to berthd; tests use a fake).

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/berth/template.h"
#include "common/result.h"

namespace berth::cli::tmpl {

// One SRC:DEST[:RELOAD_COMMAND] argument. The command is everything after the second
// ':' (it may hold colons); the paths may not.
struct TemplateSpec {
  std::string source;
  std::string dest;
  std::string command;  // "" for none
};
Result<TemplateSpec> parseTemplateSpec(std::string_view arg);

// --wait MIN[:MAX]: after a change, render once nothing more has changed for `min`, but no
// later than `max` after the first change (MAX defaults to 4×MIN, as consul-template's).
struct Quiescence {
  std::chrono::milliseconds min{0};
  std::chrono::milliseconds max{0};
};
Result<Quiescence> parseWait(std::string_view text);
// When to render, given the first and the last change not rendered yet.
std::chrono::steady_clock::time_point renderAt(const Quiescence& q,
                                               std::chrono::steady_clock::time_point first,
                                               std::chrono::steady_clock::time_point last);

// Makes `path` hold `content` unless it already does (then returns false and touches
// nothing). Written to a temporary file beside it, synced, renamed over it and the
// directory synced: a reader sees the old file or the new one, and a crash leaves one of
// them. An existing file keeps its mode, and its owner and group when berth may set them
// (root); a new one is 0644. A symbolic link is followed: the file it names is replaced.
// Errors name the path; the temporary file is removed when anything fails.
Result<bool> writeIfChanged(const std::string& path, std::string_view content);

// Runs `command` with /bin/sh -c, stdin from /dev/null, stdout and stderr ours, signals
// at their defaults; waits for it and returns its exit code (128+N when killed by signal N).
Result<int> runShell(const std::string& command);
using CommandRunner = std::function<Result<int>(const std::string& command)>;

// The templates of one `berth template` run, parsed once.
class TemplateSet {
 public:
  // Reads and parses each SRC. Errors: a file that cannot be read, a parse error, two
  // templates writing one DEST.
  static Result<TemplateSet> load(const std::vector<TemplateSpec>& specs);

  struct Round {
    Dependencies deps;                 // what the templates read, the failed ones included
    std::vector<std::string> written;  // DESTs whose content changed
    std::vector<Error> errors;         // each failure, naming its template or command
  };
  // Renders every template with `source`, writes each DEST whose content changed, then
  // runs the reload commands of the written ones, each distinct command once, in the
  // order of the arguments. `all_or_nothing` (--once): when any template fails, nothing is
  // written and no command runs. Otherwise a failed template keeps its DEST as it was and
  // the others go on.
  Round render(DataSource& source, const CommandRunner& run, bool all_or_nothing) const;

  // The kv prefix that covers every key the templates read (Template::kvPrefix over all).
  std::optional<std::string> kvPrefix() const;

 private:
  struct Entry {
    TemplateSpec spec;
    Template tmpl;
  };
  explicit TemplateSet(std::vector<Entry> entries) : entries_(std::move(entries)) {}
  std::vector<Entry> entries_;
};

}  // namespace berth::cli::tmpl
