#pragma once
// Dockerfile parsing (the Dockerfile reference's syntax, without BuildKit's heredocs):
// parser directives at the very top (`# escape=` ` or \; `# syntax=` and `# check=` are
// accepted and ignored), line continuations with the escape character, comments,
// instructions case-insensitively, JSON ("exec") and shell forms, instruction flags, and
// stages (FROM image [AS name]). Pure: no I/O; the builder executes what this returns.
//
// parseDockerfile substitutes no variables, because ARG and ENV values accumulate while a
// stage runs: the builder calls expandVariables on each instruction when it reaches it
// (ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR ARG, as in Docker; RUN,
// CMD and ENTRYPOINT are left to the shell). The parser does check that those
// instructions' ${...} references are well formed, so that such an error names its line.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::image {

// args, by keyword (nothing expanded; dockerfile.cc has the details):
//   RUN CMD ENTRYPOINT  exec form: the JSON array (json_form); shell form: {rest of line}.
//                       A "[" that is not a JSON array of strings is the shell form, as in
//                       Docker.
//   SHELL               the JSON array (any other form is an error)
//   COPY ADD VOLUME     exec form: the JSON array; shell form: the blank-separated words.
//                       COPY/ADD have at least two; the last is the destination.
//   HEALTHCHECK         {"NONE"} or {"CMD", the JSON array's items… or the shell command};
//                       json_form tells which form the CMD part has
//   ONBUILD             {the trigger instruction as written}, already checked as one
//   FROM                {image} or {image, "AS", name} (FROM itself is not kept: see Stage)
//   the others          {rest of line}; ENV LABEL ARG go through expandVariables and then
//                       parseKeyValues; MAINTAINER is the author (the builder labels it)
struct Instruction {
  int line = 0;         // 1-based line where the instruction starts
  std::string keyword;  // upper case: FROM, RUN, COPY, …
  // "--from=x" → {"from": "x"}; a bare boolean flag ("--link") → "true". A flag the
  // instruction does not take is a parse error. A flag that may repeat (RUN --mount and
  // --device, COPY/ADD --exclude) keeps its values in order, joined with '\n'.
  std::map<std::string, std::string> flags;
  std::vector<std::string> args;
  bool json_form = false;
  std::string original;  // the instruction as written, its lines trimmed and joined with one
                         // space ("RUN a && b"), for history "created_by" and the cache key
};

struct Stage {
  std::string base;  // image reference or an earlier stage's name, or "scratch"; unexpanded:
                     // the builder expands it with the global ARGs only
  std::string name;  // AS name, lower case; empty if none
  int index = 0;
  int line = 0;  // the FROM's line, for the builder's errors about the base
  std::vector<Instruction> instructions;  // after FROM
};

struct Dockerfile {
  std::vector<Instruction> global_args;  // ARGs before the first FROM
  std::vector<Stage> stages;
};

// Parses the text. Errors name the line: "Dockerfile:7: unknown instruction 'RUNN'",
// "Dockerfile:3: FROM needs an image", "Dockerfile:9: unknown flag '--frm' for COPY",
// "Dockerfile:1: the first instruction must be FROM (or ARG)".
// Known instructions: FROM RUN CMD LABEL EXPOSE ENV ADD COPY ENTRYPOINT VOLUME USER
// WORKDIR ARG ONBUILD STOPSIGNAL HEALTHCHECK SHELL (MAINTAINER accepted as a LABEL).
Result<Dockerfile> parseDockerfile(const std::string& text,
                                   const std::string& file_name = "Dockerfile");

// Expands $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word} using `vars`
// (with ':' an empty value counts as unset; word may hold further references); unknown
// variables expand to "". The escape character before $ gives a literal $; other escapes
// and all quotes are left in place for parseKeyValues, and nothing inside single quotes is
// expanded. An unterminated ${ and other modifiers (${VAR#x}) are errors.
// Expansion comes before splitting, so a value with blanks must be quoted where ENV, LABEL
// or ARG uses it (ENV A="$B"); Docker splits first and needs no quotes there.
Result<std::string> expandVariables(const std::string& text,
                                    const std::map<std::string, std::string>& vars,
                                    char escape = '\\');

// Splits "KEY=VALUE KEY2="quoted value"" (ENV, LABEL, ARG) into pairs, removing quotes and
// escapes as a shell would. A word without '=' ("ARG NAME") gives {NAME, ""}, so ARG cannot
// tell "no default" from an empty one here. legacy_space_form is for "ENV KEY value with
// spaces" (and LABEL): the caller sets it when the first word has no '='; then the rest of
// the text is the value, and a missing value is an error. ARG has no legacy form.
Result<std::vector<std::pair<std::string, std::string>>> parseKeyValues(const std::string& text,
                                                                        bool legacy_space_form,
                                                                        char escape = '\\');

}  // namespace berth::image
