// Template::parse: the text is first cut into text and action items (trim markers and
// comments applied, actions tokenised), then the items are parsed into the tree of
// template_ast.h. Names of functions and variables, and argument counts, are checked here
// so that a template with a typo fails before anything is read.

#include <algorithm>
#include <cctype>
#include <optional>

#include "cli/berth/template_functions.h"
#include "common/strings.h"

namespace berth::cli::tmpl {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool identStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool identChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool isKeyword(std::string_view word) {
  return word == "if" || word == "else" || word == "end" || word == "range" || word == "with";
}

std::string_view trimLeft(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view trimRight(std::string_view s) {
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Lines and columns of byte offsets.
class Lines {
 public:
  explicit Lines(std::string_view text) : text_(text) {
    starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') starts_.push_back(i + 1);
  }
  Position at(size_t offset) const {
    size_t line = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), offset) -
                                      starts_.begin());
    int column = 1;
    for (size_t i = starts_[line - 1]; i < offset && i < text_.size(); ++i)
      if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
    return {static_cast<int>(line), column};
  }

 private:
  std::string_view text_;
  std::vector<size_t> starts_;
};

struct Token {
  enum class Kind {
    kIdentifier,
    kString,
    kNumber,
    kField,
    kVariable,
    kOpen,
    kClose,
    kPipe,
    kDeclare,
    kComma
  };
  Kind kind;
  size_t offset;
  std::string_view raw;  // as written
  std::string text;      // identifier, string value, variable name ("$x")
  int64_t number = 0;
  std::vector<std::string> fields;  // kField, kVariable: .A.B
};

struct Item {
  bool action = false;
  size_t offset = 0;          // of the text, or of the action's "{{"
  std::string_view text;      // a text item
  std::vector<Token> tokens;  // an action's
  size_t close = 0;           // where the action's "}}" (or "-}}") is
};

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Cuts the template into items.
class Scanner {
 public:
  Scanner(const std::string& name, std::string_view text, const Lines& lines)
      : name_(name), text_(text), lines_(lines) {}

  Result<std::vector<Item>> scan() {
    std::vector<Item> items;
    size_t pos = 0;
    bool trim_next = false;  // the previous action ended with -}}
    for (;;) {
      size_t open = text_.find("{{", pos);
      std::string_view chunk =
          text_.substr(pos, open == std::string_view::npos ? open : open - pos);
      bool trim_before = open != std::string_view::npos && open + 3 < text_.size() &&
                         text_[open + 2] == '-' && isSpace(text_[open + 3]);
      size_t chunk_offset = pos;
      if (trim_next) {
        std::string_view t = trimLeft(chunk);
        chunk_offset += chunk.size() - t.size();
        chunk = t;
      }
      if (trim_before) chunk = trimRight(chunk);
      if (!chunk.empty()) items.push_back(Item{false, chunk_offset, chunk, {}, 0});
      if (open == std::string_view::npos) break;
      pos = open + (trim_before ? 3 : 2);
      size_t start = trim_before ? skipSpace(pos) : pos;
      if (text_.substr(start).starts_with("/*")) {
        pos = BERTH_TRY(comment(open, start, trim_next));
        continue;
      }
      Item item{true, open, {}, {}, 0};
      item.tokens = BERTH_TRY(action(open, pos, trim_next, item.close));
      items.push_back(std::move(item));
    }
    return items;
  }

 private:
  Error error(size_t offset, const std::string& message) const {
    return templateError(name_, lines_.at(offset), message);
  }
  size_t skipSpace(size_t pos) const {
    while (pos < text_.size() && isSpace(text_[pos])) ++pos;
    return pos;
  }
  bool at(size_t pos, std::string_view s) const { return text_.substr(pos).starts_with(s); }

  // {{/* … */}} or {{- /* … */ -}}: returns the offset after it.
  Result<size_t> comment(size_t open, size_t start, bool& trim_after) {
    size_t end = text_.find("*/", start + 2);
    if (end == std::string_view::npos) return error(open, "unclosed comment: end it with */}}");
    size_t after = end + 2;
    if (at(after, "}}")) {
      trim_after = false;
      return after + 2;
    }
    size_t dash = skipSpace(after);
    if (dash > after && at(dash, "-}}")) {
      trim_after = true;
      return dash + 3;
    }
    return error(after, "a comment must be a whole action: end it with */}}");
  }

  // The tokens of the action opened at `open`, from `pos` to its "}}" (pos ends after it).
  Result<std::vector<Token>> action(size_t open, size_t& pos, bool& trim_after, size_t& close) {
    std::vector<Token> out;
    for (;;) {
      pos = skipSpace(pos);
      if (pos >= text_.size()) return error(open, "unclosed action: '{{' without '}}'");
      size_t start = pos;
      char c = text_[pos];
      close = pos;
      if (at(pos, "}}")) {
        pos += 2;
        trim_after = false;
        return out;
      }
      if (c == '-' && at(pos + 1, "}}")) {
        if (!isSpace(text_[pos - 1]))
          return error(pos, "write ' -}}' with a space before the '-' to trim what follows");
        pos += 3;
        trim_after = true;
        return out;
      }
      Token t{Token::Kind::kIdentifier, start, {}, {}, 0, {}};
      if (c == '"') {
        t.kind = Token::Kind::kString;
        t.text = BERTH_TRY(quoted(pos));
      } else if (c == '`') {
        size_t end = text_.find('`', pos + 1);
        if (end == std::string_view::npos)
          return error(start, "unterminated raw string: add the closing '`'");
        t.kind = Token::Kind::kString;
        t.text = std::string(text_.substr(pos + 1, end - pos - 1));
        pos = end + 1;
      } else if (c == '(' || c == ')' || c == '|' || c == ',') {
        t.kind = c == '('   ? Token::Kind::kOpen
                 : c == ')' ? Token::Kind::kClose
                 : c == '|' ? Token::Kind::kPipe
                            : Token::Kind::kComma;
        ++pos;
      } else if (c == ':' && at(pos, ":=")) {
        t.kind = Token::Kind::kDeclare;
        pos += 2;
      } else if (c == '.') {
        t.kind = Token::Kind::kField;
        if (!identStart(pos + 1 < text_.size() ? text_[pos + 1] : ' ')) ++pos;  // the dot alone
        t.fields = BERTH_TRY(fields(pos));
      } else if (c == '$') {
        t.kind = Token::Kind::kVariable;
        ++pos;
        while (pos < text_.size() && identChar(text_[pos])) ++pos;
        t.text = std::string(text_.substr(start, pos - start));
        t.fields = BERTH_TRY(fields(pos));
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 ((c == '-' || c == '+') && pos + 1 < text_.size() &&
                  std::isdigit(static_cast<unsigned char>(text_[pos + 1])))) {
        t.kind = Token::Kind::kNumber;
        t.number = BERTH_TRY(number(pos));
      } else if (identStart(c)) {
        while (pos < text_.size() && identChar(text_[pos])) ++pos;
        t.text = std::string(text_.substr(start, pos - start));
      } else if (at(pos, "/*")) {
        return error(pos, "a comment must be a whole action: {{/* … */}}");
      } else if (c == '=') {
        return error(pos, "unexpected '=': declare a variable with ':=' ({{ $x := … }})");
      } else {
        size_t len = 1;
        while (pos + len < text_.size() &&
               (static_cast<unsigned char>(text_[pos + len]) & 0xC0) == 0x80)
          ++len;
        return error(
            pos, "unexpected character '" + std::string(text_.substr(pos, len)) + "' in an action");
      }
      t.raw = text_.substr(start, pos - start);
      out.push_back(std::move(t));
    }
  }

  // Zero or more ".Name" from `pos` (at a '.').
  Result<std::vector<std::string>> fields(size_t& pos) {
    std::vector<std::string> out;
    while (pos < text_.size() && text_[pos] == '.') {
      size_t start = ++pos;
      while (pos < text_.size() && identChar(text_[pos])) ++pos;
      if (pos == start || !identStart(text_[start]))
        return error(start - 1, "a '.' must be followed by a field name such as .Address");
      out.emplace_back(text_.substr(start, pos - start));
    }
    return out;
  }

  Result<int64_t> number(size_t& pos) {
    size_t start = pos;
    if (text_[pos] == '-' || text_[pos] == '+') ++pos;
    while (pos < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos]))) ++pos;
    if (pos < text_.size() && (identChar(text_[pos]) || text_[pos] == '.'))
      return error(start, "numbers are whole decimal numbers such as 80 or -1");
    std::string_view digits = text_.substr(start, pos - start);
    if (digits.front() == '+') digits.remove_prefix(1);
    auto n = parseInt(digits);
    if (!n) return error(start, "the number " + std::string(digits) + " is too large");
    return static_cast<int64_t>(*n);
  }

  // A "string" from `pos` (at its quote), escapes decoded.
  Result<std::string> quoted(size_t& pos) {
    size_t start = pos++;
    std::string out;
    for (;;) {
      if (pos >= text_.size() || text_[pos] == '\n')
        return error(start,
                     "unterminated string: add the closing '\"' (before the end of the line)");
      char c = text_[pos];
      if (c == '"') {
        ++pos;
        return out;
      }
      if (c != '\\') {
        out += c;
        ++pos;
        continue;
      }
      char e = pos + 1 < text_.size() ? text_[pos + 1] : '\0';
      static constexpr std::string_view kFrom = "ntr\\\"abfv", kTo = "\n\t\r\\\"\a\b\f\v";
      if (size_t i = kFrom.find(e); e != '\0' && i != std::string_view::npos) {
        out += kTo[i];
        pos += 2;
      } else if (e == 'x' || e == 'u' || e == 'U') {
        size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t i = 0; i < digits; ++i) {
          char h = pos + 2 + i < text_.size() ? text_[pos + 2 + i] : '\0';
          if (!std::isxdigit(static_cast<unsigned char>(h)))
            return error(pos, "'\\" + std::string(1, e) + "' needs " + std::to_string(digits) +
                                  " hex digits");
          cp = cp * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(h))
                                                   ? h - '0'
                                                   : std::tolower(h) - 'a' + 10);
        }
        if (e == 'x') {
          out += static_cast<char>(cp);
        } else if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return error(pos, "'" + std::string(text_.substr(pos, digits + 2)) +
                                "' is not a Unicode character");
        } else {
          appendUtf8(out, cp);
        }
        pos += 2 + digits;
      } else {
        return error(pos, "unknown escape '\\" + std::string(1, e) +
                              "' in a string: write '\\\\' for a backslash");
      }
    }
  }

  const std::string& name_;
  std::string_view text_;
  const Lines& lines_;
};

std::string describe(const Token& t) { return "'" + std::string(t.raw) + "'"; }

// The tokens of one action (or of a parenthesised part of one), read left to right.
struct Tokens {
  const std::vector<Token>& all;
  size_t next;
  size_t end_offset;  // where the action's "}}" is, for "missing …" at the end
  bool done() const { return next >= all.size(); }
  const Token& peek() const { return all[next]; }
  bool peekIs(Token::Kind k) const { return !done() && peek().kind == k; }
};

// Parses items into nodes.
class Parser {
 public:
  Parser(const std::string& name, const Lines& lines, std::vector<Item> items)
      : name_(name), lines_(lines), items_(std::move(items)) {}

  Result<std::vector<Node>> parse() {
    scopes_ = {{"$"}};
    std::vector<Node> nodes;
    const Item* stray = BERTH_TRY(list(nodes));
    if (stray)
      return error(stray->offset, "unexpected {{ " + std::string(stray->tokens[0].text) +
                                      " }}: no if, range or with is open here");
    return nodes;
  }

 private:
  Error error(size_t offset, const std::string& message) const {
    return templateError(name_, lines_.at(offset), message);
  }
  Position pos(size_t offset) const { return lines_.at(offset); }
  static bool isWord(const Item& item, std::string_view word) {
    return !item.tokens.empty() && item.tokens[0].kind == Token::Kind::kIdentifier &&
           item.tokens[0].text == word;
  }

  // Nodes up to an {{ end }} or {{ else … }}, which is returned (nullptr at the end).
  Result<const Item*> list(std::vector<Node>& out) {
    while (next_ < items_.size()) {
      const Item& item = items_[next_++];
      if (!item.action) {
        out.push_back(
            Node{Node::Kind::kText, pos(item.offset), std::string(item.text), {}, {}, {}});
        continue;
      }
      if (item.tokens.empty())
        return error(item.offset, "empty action: write a value or a function call in {{ }}");
      if (isWord(item, "end") || isWord(item, "else")) return &item;
      if (isWord(item, "if")) {
        out.push_back(BERTH_TRY(control(item, 1, Node::Kind::kIf)));
      } else if (isWord(item, "range")) {
        out.push_back(BERTH_TRY(control(item, 1, Node::Kind::kRange)));
      } else if (isWord(item, "with")) {
        out.push_back(BERTH_TRY(control(item, 1, Node::Kind::kWith)));
      } else {
        Tokens t{item.tokens, 0, item.close};
        Node node{Node::Kind::kAction, pos(item.offset), {}, {}, {}, {}};
        auto p = BERTH_TRY(pipeline(t, "action", 1));
        declare(*p);
        node.pipeline = std::move(p);
        out.push_back(std::move(node));
      }
    }
    return nullptr;
  }

  // if, range or with whose condition starts at token `first` of `item`; parses up to and
  // with its {{ end }}.
  Result<Node> control(const Item& item, size_t first, Node::Kind kind) {
    std::string word = kind == Node::Kind::kIf      ? "if"
                       : kind == Node::Kind::kRange ? "range"
                                                    : "with";
    std::string where = "{{ " + word + " }} at " + std::to_string(pos(item.offset).line) + ":" +
                        std::to_string(pos(item.offset).column);
    Node node{kind, pos(item.offset), {}, {}, {}, {}};
    Tokens t{item.tokens, first, item.close};
    auto p = BERTH_TRY(pipeline(t, "{{ " + word + " }}", kind == Node::Kind::kRange ? 2 : 1));
    // An if's or with's variables are seen in both branches; a range's, set per element,
    // only in its body.
    scopes_.emplace_back();
    if (kind != Node::Kind::kRange) declare(*p);
    scopes_.emplace_back();
    if (kind == Node::Kind::kRange) declare(*p);
    node.pipeline = std::move(p);
    const Item* term = BERTH_TRY(list(node.body));
    scopes_.pop_back();
    if (!term) return error(item.offset, where + " is not closed: add {{ end }}");
    if (isWord(*term, "else")) {
      if (term->tokens.size() > 1) {
        if (kind == Node::Kind::kRange || term->tokens[1].kind != Token::Kind::kIdentifier ||
            term->tokens[1].text != "if")
          return error(term->tokens[1].offset,
                       "unexpected " + describe(term->tokens[1]) + " after {{ else }}" +
                           (kind == Node::Kind::kRange ? " of a range" : ": only {{ else if … }}"));
        // {{ else if }} is an if in the else branch, closed by the same {{ end }}.
        node.otherwise.push_back(BERTH_TRY(control(*term, 2, Node::Kind::kIf)));
        scopes_.pop_back();
        return node;
      }
      scopes_.emplace_back();
      term = BERTH_TRY(list(node.otherwise));
      scopes_.pop_back();
      if (!term) return error(item.offset, where + " is not closed: add {{ end }}");
      if (isWord(*term, "else"))
        return error(term->offset, "a second {{ else }} in the " + where + ": one is allowed");
    }
    if (term->tokens.size() > 1)
      return error(term->tokens[1].offset,
                   "unexpected " + describe(term->tokens[1]) + " after {{ end }}");
    scopes_.pop_back();
    return node;
  }

  void declare(const Pipeline& p) {
    for (const auto& v : p.declared) scopes_.back().push_back(v);
  }
  bool declared(const std::string& var) const {
    for (const auto& scope : scopes_)
      if (std::find(scope.begin(), scope.end(), var) != scope.end()) return true;
    return false;
  }

  // A pipeline up to the end of the tokens (or a ')' inside parentheses), with up to
  // `max_declared` variables declared in front of it ("$i, $e :=").
  Result<std::shared_ptr<Pipeline>> pipeline(Tokens& t, const std::string& what, int max_declared,
                                             bool in_parens = false) {
    auto p = std::make_shared<Pipeline>();
    p->pos = pos(t.done() ? t.end_offset : t.peek().offset);
    BERTH_RETURN_IF_ERROR(declarations(t, *p, max_declared, what));
    for (;;) {
      if (t.done() || t.peekIs(Token::Kind::kClose) || t.peekIs(Token::Kind::kPipe)) {
        size_t at = t.done() ? t.end_offset : t.peek().offset;
        if (!p->commands.empty()) return error(at, "missing a function call after '|'");
        return error(at, "missing a value in " + what);
      }
      p->commands.push_back(BERTH_TRY(command(t, !p->commands.empty())));
      if (t.done() || (in_parens && t.peekIs(Token::Kind::kClose))) return p;
      if (t.peekIs(Token::Kind::kPipe)) {
        ++t.next;
        continue;
      }
      return error(t.peek().offset, "unexpected " + describe(t.peek()) + " in " + what);
    }
  }

  Status declarations(Tokens& t, Pipeline& p, int max_declared, const std::string& what) {
    size_t i = t.next;
    std::vector<std::string> names;
    while (i < t.all.size() && t.all[i].kind == Token::Kind::kVariable) {
      names.push_back(t.all[i].text);
      if (i + 1 < t.all.size() && t.all[i + 1].kind == Token::Kind::kComma) {
        i += 2;
        continue;
      }
      ++i;
      break;
    }
    if (names.empty() || i >= t.all.size() || t.all[i].kind != Token::Kind::kDeclare)
      return okStatus();
    if (static_cast<int>(names.size()) > max_declared)
      return error(t.all[t.next].offset, max_declared == 0
                                             ? "variables cannot be declared inside parentheses"
                                             : "too many variables declared in " + what +
                                                   ": at most " + std::to_string(max_declared));
    for (size_t j = t.next; j < i; ++j)
      if (t.all[j].kind == Token::Kind::kVariable && !t.all[j].fields.empty())
        return error(t.all[j].offset, "cannot declare " + describe(t.all[j]) + ": write $name :=");
    for (const auto& n : names)
      if (n == "$") return error(t.all[t.next].offset, "'$' is the top-level dot: choose a name");
    p.declared = std::move(names);
    t.next = i + 1;
    return okStatus();
  }

  // One stage of a pipeline; `piped`: a value comes in from the stage before.
  Result<Command> command(Tokens& t, bool piped) {
    const Token& first = t.peek();
    Command c{pos(first.offset), {}, {}};
    if (first.kind == Token::Kind::kIdentifier && first.text != "true" && first.text != "false") {
      const FunctionInfo* fn = BERTH_TRY(function(first));
      ++t.next;
      c.function = std::string(fn->name);
      while (!t.done() && !t.peekIs(Token::Kind::kPipe) && !t.peekIs(Token::Kind::kClose))
        c.args.push_back(BERTH_TRY(operand(t)));
      int given = static_cast<int>(c.args.size()) + (piped ? 1 : 0);
      if (given < fn->min_args || (fn->max_args >= 0 && given > fn->max_args)) {
        std::string count = fn->min_args == fn->max_args ? std::to_string(fn->min_args)
                            : fn->max_args < 0 ? "at least " + std::to_string(fn->min_args)
                                               : std::to_string(fn->min_args) + " or " +
                                                     std::to_string(fn->max_args);
        return error(first.offset, "function '" + c.function + "' takes " + count +
                                       (count == "1" ? " argument" : " arguments") + " (" +
                                       std::string(fn->usage) + "), given " +
                                       std::to_string(given) +
                                       (piped ? " with the piped value" : ""));
      }
      return c;
    }
    if (piped)
      return error(first.offset, "only a function can take a piped value, not " + describe(first));
    c.args.push_back(BERTH_TRY(operand(t)));
    if (!t.done() && !t.peekIs(Token::Kind::kPipe) && !t.peekIs(Token::Kind::kClose))
      return error(t.peek().offset, "unexpected " + describe(t.peek()) + " after " +
                                        describe(first) + ": only a function takes arguments");
    return c;
  }

  Result<const FunctionInfo*> function(const Token& word) {
    if (isKeyword(word.text))
      return error(word.offset, "'" + word.text + "' must begin its own action: {{ " + word.text +
                                    (word.text == "end" || word.text == "else" ? "" : " …") +
                                    " }}");
    if (const FunctionInfo* fn = findFunction(word.text)) return fn;
    std::string near = closestName(word.text, functionNames());
    if (!near.empty())
      return error(word.offset,
                   "unknown function '" + word.text + "': did you mean '" + near + "'?");
    std::vector<std::string> names;
    for (auto n : functionNames()) names.emplace_back(n);
    return error(word.offset,
                 "unknown function '" + word.text + "' (functions: " + join(names, ", ") + ")");
  }

  Result<Operand> operand(Tokens& t) {
    const Token& tok = t.all[t.next++];
    Operand o;
    o.pos = pos(tok.offset);
    switch (tok.kind) {
      case Token::Kind::kString:
        o.kind = Operand::Kind::kString;
        o.text = tok.text;
        return o;
      case Token::Kind::kNumber:
        o.kind = Operand::Kind::kNumber;
        o.number = tok.number;
        return o;
      case Token::Kind::kField:
        o.kind = Operand::Kind::kDot;
        o.fields = tok.fields;
        return o;
      case Token::Kind::kVariable:
        if (!declared(tok.text))
          return error(tok.offset, "undefined variable '" + tok.text +
                                       "': declare it first with {{ " + tok.text + " := … }}");
        o.kind = Operand::Kind::kVariable;
        o.text = tok.text;
        o.fields = tok.fields;
        return o;
      case Token::Kind::kIdentifier:
        if (tok.text == "true" || tok.text == "false") {
          o.kind = Operand::Kind::kBool;
          o.boolean = tok.text == "true";
          return o;
        }
        BERTH_TRY(function(tok));
        return error(tok.offset, "a call of '" + tok.text +
                                     "' as an argument needs parentheses: (" + tok.text + " …)");
      case Token::Kind::kOpen: {
        o.kind = Operand::Kind::kPipeline;
        o.pipeline = BERTH_TRY(pipeline(t, "( )", 0, true));
        if (!t.peekIs(Token::Kind::kClose)) return error(tok.offset, "missing ')' for this '('");
        ++t.next;
        return o;
      }
      case Token::Kind::kDeclare:
        return error(tok.offset,
                     "unexpected ':=': a variable is declared at the start of an "
                     "action: {{ $x := … }}");
      default:
        return error(tok.offset, "unexpected " + describe(tok));
    }
  }

  const std::string& name_;
  const Lines& lines_;
  std::vector<Item> items_;
  size_t next_ = 0;
  std::vector<std::vector<std::string>> scopes_;  // declared variables, innermost last
};

bool isKvFunction(std::string_view name) {
  return name == "key" || name == "keyOrDefault" || name == "keyExists" || name == "ls" ||
         name == "tree";
}

// Adds the kv keys and folders of the tree to `out`, "" for one computed while rendering.
void kvNames(const Pipeline& p, std::vector<std::string>& out);
void kvNames(const std::vector<Node>& nodes, std::vector<std::string>& out) {
  for (const auto& n : nodes) {
    if (n.pipeline) kvNames(*n.pipeline, out);
    kvNames(n.body, out);
    kvNames(n.otherwise, out);
  }
}
void kvNames(const Pipeline& p, std::vector<std::string>& out) {
  for (const auto& c : p.commands) {
    for (const auto& a : c.args)
      if (a.pipeline) kvNames(*a.pipeline, out);
    if (!isKvFunction(c.function)) continue;
    bool literal = !c.args.empty() && c.args[0].kind == Operand::Kind::kString;
    std::string name = literal ? c.args[0].text : "";
    out.push_back(c.function == "ls" || c.function == "tree" ? folderPrefix(name) : name);
  }
}

}  // namespace

std::string closestName(std::string_view word, const std::vector<std::string_view>& names) {
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t up = row[j];
        bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                    std::tolower(static_cast<unsigned char>(b[j - 1]));
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
        diag = up;
      }
    }
    return row[b.size()];
  };
  std::string best;
  size_t best_distance = std::max<size_t>(1, word.size() / 3) + 1;
  for (auto n : names) {
    size_t d = distance(word, n);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(n);
    }
  }
  return best;
}

Error templateError(const std::string& name, Position pos, const std::string& message,
                    ErrorCode code) {
  return Error(code, "template " + name + ":" + std::to_string(pos.line) + ":" +
                         std::to_string(pos.column) + ": " + message);
}

std::string folderPrefix(std::string_view prefix) {
  std::string out(prefix);
  if (!out.empty() && out.back() != '/') out += '/';
  return out;
}

std::string_view sharedPrefix(std::string_view a, std::string_view b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return a.substr(0, i);
}

bool Dependencies::coversKey(std::string_view key) const {
  if (keys.count(std::string(key))) return true;
  for (const auto& p : prefixes)
    if (startsWith(key, p)) return true;
  return false;
}

void Dependencies::merge(const Dependencies& other) {
  keys.insert(other.keys.begin(), other.keys.end());
  prefixes.insert(other.prefixes.begin(), other.prefixes.end());
  services.insert(other.services.begin(), other.services.end());
}

Result<Template> Template::parse(std::string name, std::string_view text) {
  Lines lines(text);
  auto items = BERTH_TRY(Scanner(name, text, lines).scan());
  auto nodes = BERTH_TRY(Parser(name, lines, std::move(items)).parse());
  auto root = std::make_shared<Node>();
  root->kind = Node::Kind::kWith;  // a block whose body is the template
  root->body = std::move(nodes);
  return Template(std::move(name), std::move(root));
}

std::optional<std::string> Template::kvPrefix() const {
  std::vector<std::string> names;
  kvNames(root_->body, names);
  if (names.empty()) return std::nullopt;
  std::string prefix = names[0];
  for (const auto& n : names) prefix = std::string(sharedPrefix(prefix, n));
  return prefix;
}

}  // namespace berth::cli::tmpl
