#include "image/dockerfile.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/strings.h"

// How each instruction is represented in Instruction::args (the header summarises this):
//   FROM                     the words after the flags: {image} or {image, "AS", name}
//   RUN CMD ENTRYPOINT       exec form: the JSON array (json_form); shell form: {rest of line}.
//                            A line that starts with '[' but is not a JSON array of strings is
//                            the shell form, as in Docker.
//   SHELL                    the JSON array; any other form is an error
//   COPY ADD                 exec form: the JSON array; shell form: the words. Either way the
//                            last is the destination and there are at least two.
//   VOLUME                   exec form: the JSON array; shell form: the words
//   HEALTHCHECK              {"NONE"} or {"CMD", ...}: after "CMD" comes the JSON array
//                            (json_form) or the shell command as one string
//   ONBUILD                  {the trigger instruction as written}; it is checked here as an
//                            instruction of its own, which may not be FROM, ONBUILD or MAINTAINER
//   ENV LABEL ARG MAINTAINER {rest of line}, unexpanded; the builder splits ENV, LABEL and ARG
//   EXPOSE USER WORKDIR      with parseKeyValues after expandVariables
//   STOPSIGNAL
//
// Nothing is expanded here: ARG and ENV values accumulate as the builder runs the stage, so it
// expands each instruction when it reaches it. The parser only checks that the instructions
// the builder will expand have well-formed ${...} references, so such errors carry a line.

namespace berth::image {
namespace {

constexpr std::string_view kBlanks = " \t";

bool isBlank(char c) { return c == ' ' || c == '\t'; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trimLeft(std::string_view s) {
  size_t b = s.find_first_not_of(kBlanks);
  return b == std::string_view::npos ? std::string_view{} : s.substr(b);
}

std::string_view trimRight(std::string_view s) {
  size_t e = s.find_last_not_of(kBlanks);
  return e == std::string_view::npos ? std::string_view{} : s.substr(0, e + 1);
}

std::vector<std::string> splitWords(std::string_view s) {
  std::vector<std::string> words;
  size_t i = 0;
  while (true) {
    size_t b = s.find_first_not_of(kBlanks, i);
    if (b == std::string_view::npos) break;
    size_t e = s.find_first_of(kBlanks, b);
    words.emplace_back(s.substr(b, e == std::string_view::npos ? e : e - b));
    if (e == std::string_view::npos) break;
    i = e;
  }
  return words;
}

bool isNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// ---- instructions and their flags ----

struct InstructionSpec {
  std::string_view keyword;
  std::string_view needs;  // what an empty instruction is missing, for the error
  bool expands;            // the builder substitutes variables in it
};

constexpr InstructionSpec kInstructions[] = {
    {"FROM", "an image", true},
    {"RUN", "a command", false},
    {"CMD", "a command", false},
    {"LABEL", "KEY=VALUE pairs", true},
    {"MAINTAINER", "a name", false},
    {"EXPOSE", "a port", true},
    {"ENV", "KEY=VALUE pairs", true},
    {"ADD", "at least a source and a destination", true},
    {"COPY", "at least a source and a destination", true},
    {"ENTRYPOINT", "a command", false},
    {"VOLUME", "a path", true},
    {"USER", "a user", true},
    {"WORKDIR", "a directory", true},
    {"ARG", "a name", true},
    {"ONBUILD", "an instruction", false},
    {"STOPSIGNAL", "a signal", true},
    {"HEALTHCHECK", "NONE or CMD and a command", false},
    {"SHELL", "a JSON array of strings", false},
};

const InstructionSpec* findInstruction(const std::string& keyword) {
  for (const auto& spec : kInstructions) {
    if (spec.keyword == keyword) return &spec;
  }
  return nullptr;
}

struct FlagSpec {
  std::string_view name;
  bool boolean = false;     // "--link" alone means true; "--link=false" is allowed
  bool repeatable = false;  // values are kept in order, joined with '\n'
};

// The options the Dockerfile reference lists for each instruction; any other is an error
// (Docker rejects "CMD --help" too, since flags are read before the command).
std::vector<FlagSpec> flagSpecs(const std::string& keyword) {
  if (keyword == "FROM") return {{"platform"}};
  if (keyword == "RUN")
    return {{"mount", false, true}, {"network"}, {"security"}, {"device", false, true}};
  if (keyword == "COPY")
    return {{"from"},       {"chown"},         {"chmod"},
            {"link", true}, {"parents", true}, {"exclude", false, true}};
  if (keyword == "ADD")
    return {{"chown"},      {"chmod"},
            {"link", true}, {"keep-git-dir", true},
            {"checksum"},   {"exclude", false, true}};
  if (keyword == "HEALTHCHECK")
    return {{"interval"}, {"timeout"}, {"start-period"}, {"start-interval"}, {"retries"}};
  return {};
}

// Reads the leading "--name[=value]" words of `rest` into ins.flags and returns what follows.
// Quotes inside a flag word group blanks and are removed.
Result<std::string_view> takeFlags(std::string_view rest, Instruction& ins) {
  const std::vector<FlagSpec> specs = flagSpecs(ins.keyword);
  while (startsWith(rest, "--")) {
    std::string word;
    char in_quote = 0;
    size_t i = 0;
    for (; i < rest.size(); ++i) {
      char c = rest[i];
      if (in_quote) {
        if (c == in_quote)
          in_quote = 0;
        else
          word += c;
      } else if (c == '"' || c == '\'') {
        in_quote = c;
      } else if (isBlank(c)) {
        break;
      } else {
        word += c;
      }
    }
    if (in_quote) return invalidArgument("unterminated quote in flag " + quote(word));
    rest = trimLeft(rest.substr(i));

    size_t eq = word.find('=');
    std::string name = word.substr(2, eq == std::string::npos ? eq : eq - 2);
    std::string flag = "--" + name;
    auto spec =
        std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end())
      return invalidArgument("unknown flag " + quote(flag) + " for " + ins.keyword);
    std::string value = eq == std::string::npos ? "" : word.substr(eq + 1);
    if (spec->boolean) {
      if (eq == std::string::npos) value = "true";
      if (value != "true" && value != "false")
        return invalidArgument("flag " + quote(flag) + " takes true or false, not " + quote(value));
    } else if (value.empty()) {
      return invalidArgument("flag " + quote(flag) + " needs a value (" + flag + "=VALUE)");
    }
    auto [it, inserted] = ins.flags.emplace(name, value);
    if (!inserted) {
      if (!spec->repeatable) return invalidArgument("flag " + quote(flag) + " given twice");
      it->second += "\n" + value;
    }
  }
  return rest;
}

// The exec form: a JSON array of strings and nothing else. Anything else is nullopt, so that
// the caller falls back to the shell form as Docker does.
std::optional<std::vector<std::string>> parseJsonArray(std::string_view s) {
  if (s.empty() || s.front() != '[') return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(s.begin(), s.end(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return std::nullopt;  // also covers a parse error ("discarded")
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) return std::nullopt;
    out.push_back(e.get<std::string>());
  }
  return out;
}

void setCommand(Instruction& ins, std::string_view rest) {
  if (auto array = parseJsonArray(rest)) {
    ins.json_form = true;
    ins.args = std::move(*array);
  } else {
    ins.args = {std::string(rest)};
  }
}

Result<Instruction> parseBody(std::string_view text, char escape);

Status parseFrom(Instruction& ins, std::string_view rest) {
  ins.args = splitWords(rest);
  bool ok = ins.args.size() == 1 || (ins.args.size() == 3 && toLower(ins.args[1]) == "as");
  if (!ok) return invalidArgument("FROM takes an image and an optional 'AS name'");
  return okStatus();
}

Status parseHealthcheck(Instruction& ins, std::string_view rest) {
  size_t end = rest.find_first_of(kBlanks);
  std::string kind = upper(rest.substr(0, end));
  std::string_view command = end == std::string_view::npos ? "" : trimLeft(rest.substr(end));
  if (kind == "NONE") {
    if (!command.empty()) return invalidArgument("HEALTHCHECK NONE takes no arguments");
    ins.args = {"NONE"};
    return okStatus();
  }
  if (kind != "CMD") return invalidArgument("HEALTHCHECK needs NONE or CMD and a command");
  if (command.empty()) return invalidArgument("HEALTHCHECK CMD needs a command");
  setCommand(ins, command);
  ins.args.insert(ins.args.begin(), "CMD");
  return okStatus();
}

Status parseOnbuild(Instruction& ins, std::string_view rest, char escape) {
  std::string trigger = upper(rest.substr(0, rest.find_first_of(kBlanks)));
  if (trigger == "ONBUILD" || trigger == "FROM" || trigger == "MAINTAINER")
    return invalidArgument(trigger + " is not allowed as an ONBUILD trigger");
  auto inner = parseBody(rest, escape);
  if (!inner.ok()) return inner.error().context("ONBUILD");
  ins.args = {std::string(rest)};
  return okStatus();
}

// Parses one logical line (continuations joined, comments dropped) without its line number.
Result<Instruction> parseBody(std::string_view text, char escape) {
  Instruction ins;
  size_t end = text.find_first_of(kBlanks);
  std::string_view word = text.substr(0, end);
  ins.keyword = upper(word);
  const InstructionSpec* spec = findInstruction(ins.keyword);
  if (!spec) return invalidArgument("unknown instruction " + quote(word));
  std::string_view rest = end == std::string_view::npos ? "" : trimLeft(text.substr(end));
  rest = trim(BERTH_TRY(takeFlags(rest, ins)));
  const std::string& kw = ins.keyword;
  if (rest.empty()) return invalidArgument(kw + " needs " + std::string(spec->needs));
  if (spec->expands) BERTH_RETURN_IF_ERROR(expandVariables(std::string(rest), {}, escape));

  if (kw == "FROM") {
    BERTH_RETURN_IF_ERROR(parseFrom(ins, rest));
  } else if (kw == "RUN" || kw == "CMD" || kw == "ENTRYPOINT") {
    setCommand(ins, rest);
  } else if (kw == "SHELL") {
    auto array = parseJsonArray(rest);
    if (!array || array->empty())
      return invalidArgument("SHELL needs a JSON array of strings, like [\"/bin/sh\", \"-c\"]");
    ins.json_form = true;
    ins.args = std::move(*array);
  } else if (kw == "COPY" || kw == "ADD" || kw == "VOLUME") {
    if (auto array = parseJsonArray(rest)) {
      ins.json_form = true;
      ins.args = std::move(*array);
    } else {
      ins.args = splitWords(rest);
    }
    if (kw == "VOLUME" && ins.args.empty()) return invalidArgument("VOLUME needs a path");
    if (kw != "VOLUME" && ins.args.size() < 2)
      return invalidArgument(kw + " needs at least a source and a destination");
  } else if (kw == "HEALTHCHECK") {
    BERTH_RETURN_IF_ERROR(parseHealthcheck(ins, rest));
  } else if (kw == "ONBUILD") {
    BERTH_RETURN_IF_ERROR(parseOnbuild(ins, rest, escape));
  } else {
    ins.args = {std::string(rest)};
    if (kw == "ENV" || kw == "LABEL" || kw == "ARG") {
      // Check the quoting now so that the error has a line; the builder splits again after
      // expanding. ENV and LABEL take the legacy "KEY value" form, ARG does not.
      std::string first = std::string(rest.substr(0, rest.find_first_of(kBlanks)));
      bool legacy = kw != "ARG" && first.find('=') == std::string::npos;
      auto pairs = parseKeyValues(std::string(rest), legacy, escape);
      if (!pairs.ok()) return pairs.error().context(kw);
    }
  }
  return ins;
}

// ---- lines ----

struct LogicalLine {
  int line = 0;          // where it starts, 1-based
  std::string text;      // continuations joined as Docker joins them (escape removed)
  std::string original;  // the pieces trimmed and joined with one space
};

// A parser directive line: "# key = value". nullopt when the line is not one.
std::optional<std::pair<std::string, std::string>> parseDirective(std::string_view line) {
  if (line.empty() || line[0] != '#') return std::nullopt;
  std::string_view s = trimLeft(line.substr(1));
  size_t n = 0;
  while (n < s.size() && (n == 0 ? std::isalpha(static_cast<unsigned char>(s[n]))
                                 : std::isalnum(static_cast<unsigned char>(s[n]))))
    ++n;
  if (n == 0) return std::nullopt;
  std::string key = toLower(s.substr(0, n));
  s = trimLeft(s.substr(n));
  if (s.empty() || s[0] != '=') return std::nullopt;
  return std::make_pair(key, std::string(trim(s.substr(1))));
}

// True when the line ends with the escape character (blanks after it allowed); strips both.
bool takeContinuation(std::string_view& piece, char escape) {
  std::string_view t = trimRight(piece);
  if (t.empty() || t.back() != escape) return false;
  piece = t.substr(0, t.size() - 1);
  return true;
}

std::string location(const std::string& file, int line) {
  return file + ":" + std::to_string(line);
}

// Reads the parser directives (setting `escape`), drops comments and blank lines, and joins
// continuation lines.
Result<std::vector<LogicalLine>> readLines(const std::string& text, const std::string& file,
                                           char& escape) {
  std::vector<std::string_view> lines;
  std::string_view all = text;
  if (startsWith(all, "\xEF\xBB\xBF")) all.remove_prefix(3);  // a UTF-8 byte order mark
  for (size_t pos = 0; pos <= all.size();) {
    size_t nl = all.find('\n', pos);
    std::string_view line = all.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }

  // Directives only at the very top: the first line that is not a known directive (a comment,
  // a blank line, an instruction, or an unknown directive) ends them.
  size_t i = 0;
  std::set<std::string> seen;
  for (; i < lines.size(); ++i) {
    auto directive = parseDirective(lines[i]);
    if (!directive) break;
    auto& [key, value] = *directive;
    if (key != "escape" && key != "syntax" && key != "check") break;
    int line_no = static_cast<int>(i) + 1;
    if (!seen.insert(key).second)
      return invalidArgument(location(file, line_no) + ": parser directive " + quote(key) +
                             " given twice");
    if (key == "escape") {
      if (value != "\\" && value != "`")
        return invalidArgument(location(file, line_no) + ": invalid escape character " +
                               quote(value) + " (use '\\' or '`')");
      escape = value[0];
    }
  }

  std::vector<LogicalLine> out;
  for (; i < lines.size(); ++i) {
    std::string_view piece = trimLeft(lines[i]);
    if (piece.empty() || piece[0] == '#') continue;
    LogicalLine ll;
    ll.line = static_cast<int>(i) + 1;
    std::vector<std::string> originals;
    bool more = takeContinuation(piece, escape);
    ll.text = std::string(piece);
    if (!trim(piece).empty()) originals.emplace_back(trim(piece));
    // Inside an instruction, comment lines and blank lines are dropped and do not end it.
    while (more && i + 1 < lines.size()) {
      piece = lines[++i];
      std::string_view t = trimLeft(piece);
      if (t.empty() || t[0] == '#') continue;
      more = takeContinuation(piece, escape);
      ll.text += piece;
      if (!trim(piece).empty()) originals.emplace_back(trim(piece));
    }
    ll.text = std::string(trim(ll.text));
    if (ll.text.empty()) continue;  // nothing but escapes and blank lines
    ll.original = join(originals, " ");
    out.push_back(std::move(ll));
  }
  return out;
}

bool validStageName(const std::string& name) {
  if (name.empty() || !std::islower(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// ---- words for parseKeyValues ----

struct Word {
  std::string text;
  size_t eq = std::string::npos;  // offset in text of the first '=' outside quotes and escapes
};

// Reads one word as Docker's shell-like lexer does for ENV, LABEL and ARG: quotes group and are
// removed, the escape character makes the next character literal (inside double quotes only
// before '"', '$' and itself). With stop_at_blank=false blanks are literal and it reads to the
// end of `s`.
Result<Word> readWord(std::string_view s, size_t& pos, char escape, bool stop_at_blank) {
  Word w;
  char in_quote = 0;
  for (; pos < s.size(); ++pos) {
    char c = s[pos];
    if (in_quote == '\'') {
      if (c == '\'')
        in_quote = 0;
      else
        w.text += c;
    } else if (in_quote == '"') {
      if (c == '"') {
        in_quote = 0;
      } else if (c == escape && pos + 1 < s.size() &&
                 (s[pos + 1] == '"' || s[pos + 1] == '$' || s[pos + 1] == escape)) {
        w.text += s[++pos];
      } else {
        w.text += c;
      }
    } else if (c == '"' || c == '\'') {
      in_quote = c;
    } else if (c == escape && pos + 1 < s.size()) {
      w.text += s[++pos];
    } else if (stop_at_blank && isBlank(c)) {
      break;
    } else {
      if (c == '=' && w.eq == std::string::npos) w.eq = w.text.size();
      w.text += c;
    }
  }
  if (in_quote)
    return invalidArgument(std::string("unterminated ") + (in_quote == '"' ? "double" : "single") +
                           " quote");
  return w;
}

// ---- variables ----

using Vars = std::map<std::string, std::string>;

// Finds the '}' that closes a "${" whose body starts at `pos`, skipping nested "${...}" and
// escaped characters. npos when there is none.
size_t findClosingBrace(std::string_view s, size_t pos, char escape) {
  int depth = 1;
  for (; pos < s.size(); ++pos) {
    if (s[pos] == escape) {
      ++pos;
    } else if (s[pos] == '$' && pos + 1 < s.size() && s[pos + 1] == '{') {
      ++depth;
      ++pos;
    } else if (s[pos] == '}' && --depth == 0) {
      return pos;
    }
  }
  return std::string_view::npos;
}

Result<std::string> expand(std::string_view s, const Vars& vars, char escape);

// Expands the body of "${...}" (between the braces).
Result<std::string> expandBraced(std::string_view body, const Vars& vars, char escape) {
  size_t n = 0;
  while (n < body.size() && (n == 0 ? isNameStart(body[n]) : isNameChar(body[n]))) ++n;
  if (n == 0) return invalidArgument("bad substitution '${" + std::string(body) + "}'");
  std::string name(body.substr(0, n));
  auto it = vars.find(name);
  bool set = it != vars.end();
  bool nonempty = set && !it->second.empty();
  if (n == body.size()) return set ? it->second : std::string();

  // ${name:-word} ${name-word} ${name:+word} ${name+word}; with ':' an empty value counts as
  // unset, as in the shell.
  std::string_view op = body.substr(n);
  bool colon = op[0] == ':';
  if (colon) op.remove_prefix(1);
  if (op.empty() || (op[0] != '-' && op[0] != '+'))
    return invalidArgument("unsupported substitution '${" + std::string(body) +
                           "}' (use ${NAME:-default} or ${NAME:+alternative})");
  bool has = colon ? nonempty : set;
  if (op[0] == '-')
    return has ? Result<std::string>(it->second) : expand(op.substr(1), vars, escape);
  return has ? expand(op.substr(1), vars, escape) : Result<std::string>(std::string());
}

Result<std::string> expand(std::string_view s, const Vars& vars, char escape) {
  std::string out;
  char in_quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_quote == '\'') {  // nothing is expanded inside single quotes
      if (c == '\'') in_quote = 0;
      out += c;
    } else if (c == escape && i + 1 < s.size()) {
      // An escaped '$' becomes a literal '$'; other escapes stay for parseKeyValues.
      if (s[i + 1] != '$') out += c;
      out += s[++i];
    } else if (c == '\'' && in_quote == 0) {
      in_quote = c;
      out += c;
    } else if (c == '"') {
      in_quote = in_quote ? 0 : c;
      out += c;
    } else if (c == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      size_t close = findClosingBrace(s, i + 2, escape);
      if (close == std::string_view::npos) return invalidArgument("unterminated '${'");
      out += BERTH_TRY(expandBraced(s.substr(i + 2, close - i - 2), vars, escape));
      i = close;
    } else if (c == '$' && i + 1 < s.size() && isNameStart(s[i + 1])) {
      size_t e = i + 1;
      while (e < s.size() && isNameChar(s[e])) ++e;
      auto it = vars.find(std::string(s.substr(i + 1, e - i - 1)));
      if (it != vars.end()) out += it->second;
      i = e - 1;
    } else {
      out += c;  // includes a '$' that starts no name, as in "$5" or "a $ b"
    }
  }
  return out;
}

}  // namespace

Result<std::string> expandVariables(const std::string& text,
                                    const std::map<std::string, std::string>& vars, char escape) {
  auto r = expand(text, vars, escape);
  if (!r.ok()) return r.error().context("expand variables in " + quote(text));
  return r;
}

Result<std::vector<std::pair<std::string, std::string>>> parseKeyValues(const std::string& text,
                                                                        bool legacy_space_form,
                                                                        char escape) {
  std::string what = "read key=value pairs from " + quote(text);
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string_view s = trim(text);
  size_t pos = 0;
  if (legacy_space_form) {
    // "KEY value with spaces": the first word is the key, the rest (quotes and escapes
    // processed, inner blanks kept) the value.
    size_t end = s.find_first_of(kBlanks);
    std::string_view key = s.substr(0, end);
    if (key.empty()) return pairs;
    std::string_view rest = end == std::string_view::npos ? "" : trimLeft(s.substr(end));
    if (rest.empty()) return invalidArgument(what + ": " + quote(key) + " has no value");
    auto value = readWord(rest, pos, escape, /*stop_at_blank=*/false);
    if (!value.ok()) return value.error().context(what);
    pairs.emplace_back(std::string(key), std::move(value->text));
    return pairs;
  }
  while (true) {
    while (pos < s.size() && isBlank(s[pos])) ++pos;
    if (pos >= s.size()) break;
    auto word = readWord(s, pos, escape, /*stop_at_blank=*/true);
    if (!word.ok()) return word.error().context(what);
    if (word->eq == std::string::npos) {
      pairs.emplace_back(std::move(word->text), "");  // "ARG NAME": no default
      continue;
    }
    if (word->eq == 0) return invalidArgument(what + ": missing name before '='");
    pairs.emplace_back(word->text.substr(0, word->eq), word->text.substr(word->eq + 1));
  }
  return pairs;
}

Result<Dockerfile> parseDockerfile(const std::string& text, const std::string& file_name) {
  char escape = '\\';
  std::vector<LogicalLine> lines = BERTH_TRY(readLines(text, file_name, escape));
  Dockerfile df;
  std::set<std::string> stage_names;
  for (const LogicalLine& ll : lines) {
    std::string where = location(file_name, ll.line);
    auto parsed = parseBody(ll.text, escape);
    if (!parsed.ok()) return parsed.error().context(where);
    Instruction ins = std::move(*parsed);
    ins.line = ll.line;
    ins.original = ll.original;

    if (ins.keyword == "FROM") {
      Stage stage;
      stage.base = ins.args[0];
      stage.index = static_cast<int>(df.stages.size());
      stage.line = ll.line;
      if (ins.args.size() == 3) {
        stage.name = toLower(ins.args[2]);
        if (!validStageName(stage.name))
          return invalidArgument(where + ": invalid stage name " + quote(ins.args[2]) +
                                 " (a letter, then letters, digits, '-', '_' or '.')");
        if (!stage_names.insert(stage.name).second)
          return invalidArgument(where + ": duplicate stage name " + quote(stage.name));
      }
      df.stages.push_back(std::move(stage));
    } else if (!df.stages.empty()) {
      df.stages.back().instructions.push_back(std::move(ins));
    } else if (ins.keyword == "ARG") {
      df.global_args.push_back(std::move(ins));
    } else {
      return invalidArgument(where + ": the first instruction must be FROM (or ARG)");
    }
  }
  if (df.stages.empty()) return invalidArgument(file_name + ": no FROM instruction");
  return df;
}

}  // namespace berth::image
