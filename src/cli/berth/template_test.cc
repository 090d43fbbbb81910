// The template language (template.h) against an in-memory data source: what each
// construct prints, what a render depends on, and the errors of bad templates.

#include "cli/berth/template.h"

#include <gtest/gtest.h>

#include "cli/berth/template_fake_source.h"

namespace berth::cli::tmpl {
namespace {

ServiceInstance web(std::string id, std::string address, int port, std::string health = "passing",
                    std::vector<std::string> tags = {}) {
  ServiceInstance in;
  in.id = std::move(id);
  in.service = "web";
  in.address = std::move(address);
  in.port = port;
  in.node = "h1";
  in.health = std::move(health);
  in.tags = std::move(tags);
  return in;
}

class TemplateTest : public ::testing::Test {
 protected:
  // Renders `text`; a parse or render error is returned as "ERROR: message".
  std::string render(std::string_view text) {
    deps = Dependencies();
    auto t = Template::parse("t.tmpl", text);
    if (!t) return "ERROR: " + t.error().message();
    auto out = t->render(source, deps);
    if (!out) return "ERROR: " + out.error().message();
    return *out;
  }

  FakeSource source;
  Dependencies deps;
};

TEST_F(TemplateTest, TextWithoutActionsIsCopied) {
  EXPECT_EQ(render(""), "");
  EXPECT_EQ(render("plain { text }\n"), "plain { text }\n");
  EXPECT_EQ(source.reads, 0);
}

TEST_F(TemplateTest, KeysAndDefaults) {
  source.kv = {{"app/db/url", "postgres://db/app"}, {"app/name", "shop"}};
  EXPECT_EQ(render("url={{ key \"app/db/url\" }}\n"), "url=postgres://db/app\n");
  EXPECT_EQ(
      render("{{ keyOrDefault \"app/db/pool\" \"10\" }}/{{ keyOrDefault \"app/name\" \"x\" }}"),
      "10/shop");
  EXPECT_EQ(
      render("{{ if keyExists \"app/name\" }}yes{{ end }}{{ if keyExists \"nope\" }}no{{ end }}"),
      "yes");
  EXPECT_EQ(deps.keys, (std::set<std::string>{"app/name", "nope"}));
  EXPECT_EQ(render("{{ key \"app/name\" | toUpper }}"), "SHOP");
}

TEST_F(TemplateTest, AnAbsentKeyIsAnErrorThatSaysWhatToDo) {
  EXPECT_EQ(render("a\n  {{ key \"app/missing\" }}"),
            "ERROR: template t.tmpl:2:6: key \"app/missing\": no such kv key; put it (berth kv "
            "put) or give a default: keyOrDefault \"app/missing\" \"…\"");
  // It is a dependency all the same: putting the key can fix the render.
  EXPECT_EQ(deps.keys, (std::set<std::string>{"app/missing"}));
}

TEST_F(TemplateTest, LsListsOneFolderAndTreeEveryDepth) {
  source.kv = {{"app/env/A", "1"}, {"app/env/B", "2"}, {"app/env/deep/C", "3"}, {"apple", "x"}};
  EXPECT_EQ(render("{{ range ls \"app/env\" }}{{ .Key }}={{ .Value }};{{ end }}"), "A=1;B=2;");
  EXPECT_EQ(deps.prefixes, (std::set<std::string>{"app/env/"}));
  EXPECT_EQ(render("{{ range tree \"app/\" }}{{ .Key }} {{ .Path }};{{ end }}"),
            "env/A app/env/A;env/B app/env/B;env/deep/C app/env/deep/C;");
  EXPECT_EQ(render("{{ range ls \"none\" }}x{{ else }}empty{{ end }}"), "empty");
}

TEST_F(TemplateTest, ServiceInstancesPassingByDefault) {
  source.services["web"] = {web("a", "10.0.0.2", 80), web("b", "10.0.0.3", 8080, "critical"),
                            web("c", "10.0.0.4", 80, "passing", {"v2", "canary"})};
  std::string upstream =
      "upstream web {\n"
      "{{- range service \"web\" }}\n"
      "  server {{ .Address }}:{{ .Port }};\n"
      "{{- end }}\n"
      "}\n";
  EXPECT_EQ(render(upstream), "upstream web {\n  server 10.0.0.2:80;\n  server 10.0.0.4:80;\n}\n");
  EXPECT_EQ(deps.services, (std::set<std::string>{"web"}));
  EXPECT_EQ(render("{{ range service \"web\" \"any\" }}{{ .ID }}:{{ .Health }} {{ end }}"),
            "a:passing b:critical c:passing ");
  EXPECT_EQ(
      render("{{ range service \"canary.web\" }}{{ .ID }} {{ .Tags }} {{ .Tags | join \",\" }}"
             "{{ end }}"),
      "c [v2 canary] v2,canary");
  EXPECT_EQ(render("{{ range service \"db\" }}x{{ else }}no db{{ end }}"), "no db");
  EXPECT_EQ(render("{{ range service \"web\" }}{{ .Service }}@{{ .Node }} {{ end }}"),
            "web@h1 web@h1 ");
  EXPECT_EQ(render("{{ len (service \"web\") }}"), "2");
}

TEST_F(TemplateTest, MetaIsAMapWhereAMissingKeyIsEmpty) {
  auto in = web("a", "10.0.0.2", 80);
  in.meta = {{"version", "1.2"}};
  source.services["web"] = {in};
  EXPECT_EQ(render("{{ range service \"web\" }}[{{ .Meta.version }}][{{ .Meta.zone }}]{{ end }}"),
            "[1.2][]");
  EXPECT_EQ(
      render("{{ range service \"web\" }}{{ range $k, $v := .Meta }}{{ $k }}={{ $v }}{{ end }}"
             "{{ end }}"),
      "version=1.2");
}

TEST_F(TemplateTest, IfElseAndTruth) {
  source.kv = {{"on", "yes"}, {"empty", ""}};
  EXPECT_EQ(render("{{ if key \"on\" }}A{{ else }}B{{ end }}"), "A");
  EXPECT_EQ(render("{{ if key \"empty\" }}A{{ else }}B{{ end }}"), "B");
  EXPECT_EQ(render("{{ if service \"web\" }}A{{ else if eq (key \"on\") \"yes\" }}C{{ else }}B"
                   "{{ end }}"),
            "C");
  EXPECT_EQ(render("{{ if 0 }}a{{ else if false }}b{{ else if not \"\" }}c{{ end }}"), "c");
  EXPECT_EQ(render("{{ if and 1 \"x\" true }}and{{ end }}{{ if or 0 \"\" }}or{{ end }}"), "and");
  EXPECT_EQ(render("{{ and 1 0 (key \"absent\") }}"), "0");  // stops before the absent key
  EXPECT_EQ(render("{{ or \"\" \"fallback\" }}"), "fallback");
}

TEST_F(TemplateTest, ComparisonsAndStrings) {
  EXPECT_EQ(render("{{ eq 80 80 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ lt 2 10 }} "
                   "{{ ge \"b\" \"a\" }} {{ le 3 2 }} {{ gt 1 1 }}"),
            "true true true true true false false");
  EXPECT_EQ(render("{{ split \",\" \"a,b,,c\" }} {{ \"a b\" | toUpper }} {{ toLower \"MiX\" }} "
                   "[{{ trimSpace \"  x \\n\" }}]"),
            "[a b  c] A B mix [x]");
  EXPECT_EQ(render("{{ contains \"ell\" \"hello\" }} {{ split \",\" \"a,b\" | contains \"b\" }} "
                   "{{ split \",\" \"a,b\" | contains \"z\" }}"),
            "true true false");
  EXPECT_EQ(render("{{ len \"abc\" }}"), "3");
}

TEST_F(TemplateTest, VariablesRangeIndexAndWith) {
  source.services["web"] = {web("a", "10.0.0.2", 80), web("b", "10.0.0.3", 81)};
  EXPECT_EQ(render("{{ range $i, $s := service \"web\" }}{{ if $i }},{{ end }}{{ $s.Address }}"
                   "{{ end }}"),
            "10.0.0.2,10.0.0.3");
  EXPECT_EQ(render("{{ $n := len (service \"web\") }}{{ $n }} instances"), "2 instances");
  EXPECT_EQ(render("{{ with service \"web\" }}{{ len . }}{{ else }}none{{ end }}"), "2");
  EXPECT_EQ(render("{{ with service \"db\" }}{{ len . }}{{ else }}none{{ end }}"), "none");
  EXPECT_EQ(render("{{ range $s := service \"web\" }}{{ $s.Port }}{{ end }}"), "8081");
  EXPECT_EQ(render("{{ if $n := len (service \"db\") }}{{ $n }}{{ else }}{{ $n }} db{{ end }}"),
            "0 db");
  EXPECT_EQ(render("{{ range service \"web\" }}{{ $p := .Port }}{{ $p }};{{ end }}"), "80;81;");
}

TEST_F(TemplateTest, WhitespaceTrimmingAndComments) {
  EXPECT_EQ(render("a  \n\t{{- \"b\" -}}  \n  c"), "abc");
  EXPECT_EQ(render("a {{/* a comment with {{ braces }} */}}b"), "a b");
  EXPECT_EQ(render("a\n{{- /* trimmed */ -}}\nb"), "ab");
  EXPECT_EQ(render("{{-3}}"), "-3");  // no space after the dash: a number
  EXPECT_EQ(render("x {{ 1 }} y"), "x 1 y");
}

TEST_F(TemplateTest, StringLiteralsAndEscapes) {
  EXPECT_EQ(render(R"({{ "tab\there\nq\"\\ \x41\u00e9\U0001F600" }})"),
            "tab\there\nq\"\\ Aé\xF0\x9F\x98\x80");
  EXPECT_EQ(render("{{ `raw \\n }}` }}"), "raw \\n }}");
}

TEST_F(TemplateTest, ReadsOfOneRenderAreRecordedAsDependencies) {
  source.kv = {{"app/a", "1"}};
  render(
      "{{ key \"app/a\" }}{{ keyOrDefault \"cfg/b\" \"\" }}{{ range ls \"env\" }}{{ end }}"
      "{{ range service \"v1.web\" }}{{ end }}{{ range service \"db\" \"any\" }}{{ end }}");
  EXPECT_TRUE(deps.coversKey("app/a"));
  EXPECT_TRUE(deps.coversKey("cfg/b"));
  EXPECT_TRUE(deps.coversKey("env/x"));
  EXPECT_TRUE(deps.coversKey("env/deep/y"));
  EXPECT_FALSE(deps.coversKey("app/b"));
  EXPECT_FALSE(deps.coversKey("environment"));
  EXPECT_EQ(deps.services, (std::set<std::string>{"db", "web"}));
}

TEST_F(TemplateTest, KvPrefixIsWhatEveryKeyStartsWith) {
  auto prefix = [](std::string_view text) { return Template::parse("t", text).value().kvPrefix(); };
  EXPECT_EQ(prefix("{{ range service \"web\" }}{{ end }}"), std::nullopt);
  EXPECT_EQ(prefix("{{ key \"app/db/url\" }}{{ keyOrDefault \"app/db/user\" \"x\" }}"),
            std::optional<std::string>("app/db/u"));
  EXPECT_EQ(prefix("{{ key \"app/db/url\" }}{{ range ls \"app\" }}{{ end }}"),
            std::optional<std::string>("app/"));
  EXPECT_EQ(prefix("{{ key \"app/a\" }}{{ key (key \"app/b\") }}"), std::optional<std::string>(""));
  EXPECT_EQ(prefix("{{ if true }}{{ \"x/y\" | key }}{{ end }}"), std::optional<std::string>(""));
}

TEST_F(TemplateTest, SourceErrorsKeepTheirCodeAndNameTheCall) {
  source.fail = unavailable("connect to '/run/berth/berth.sock': is berthd running?");
  auto t = Template::parse("web.tmpl", "x {{ key \"a\" }}").value();
  Dependencies d;
  auto out = t.render(source, d);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(out.error().message(),
            "template web.tmpl:1:6: key \"a\": connect to '/run/berth/berth.sock': is berthd "
            "running?");
}

// Parse errors: file, line, column (in characters), what is wrong, what to do.
TEST_F(TemplateTest, ParseErrorsArePrecise) {
  struct Case {
    std::string text, error;
  };
  const Case cases[] = {
      {"a\nb {{ range servce \"web\" }}",
       "template t.tmpl:2:12: unknown function 'servce': did you mean 'service'?"},
      {"{{ frobnicate }}",
       "template t.tmpl:1:4: unknown function 'frobnicate' (functions: key, "
       "keyOrDefault, keyExists, ls, tree, service, and, or, not, eq, ne, lt, "
       "le, gt, ge, len, join, split, contains, toUpper, toLower, trimSpace)"},
      {"x {{ key \"a\"", "template t.tmpl:1:3: unclosed action: '{{' without '}}'"},
      {"{{ key \"a }}",
       "template t.tmpl:1:8: unterminated string: add the closing '\"' (before "
       "the end of the line)"},
      {"{{ key \"a\\qb\" }}",
       "template t.tmpl:1:10: unknown escape '\\q' in a string: write '\\\\' for a backslash"},
      {"{{ \"\\x4\" }}", "template t.tmpl:1:5: '\\x' needs 2 hex digits"},
      {"{{ \"\\uD800\" }}", "template t.tmpl:1:5: '\\uD800' is not a Unicode character"},
      {"{{ key }}",
       "template t.tmpl:1:4: function 'key' takes 1 argument (key \"app/db/url\"), "
       "given 0"},
      {"{{ key \"a\" \"b\" }}",
       "template t.tmpl:1:4: function 'key' takes 1 argument (key "
       "\"app/db/url\"), given 2"},
      {"{{ \"a\" | keyOrDefault }}",
       "template t.tmpl:1:10: function 'keyOrDefault' takes 2 arguments (keyOrDefault "
       "\"app/db/pool\" \"10\"), given 1 with the piped value"},
      {"{{ if true }}x", "template t.tmpl:1:1: {{ if }} at 1:1 is not closed: add {{ end }}"},
      {"x\n{{ end }}",
       "template t.tmpl:2:1: unexpected {{ end }}: no if, range or with is open "
       "here"},
      {"{{ else }}",
       "template t.tmpl:1:1: unexpected {{ else }}: no if, range or with is open "
       "here"},
      {"{{ if 1 }}a{{ else }}b{{ else }}c{{ end }}",
       "template t.tmpl:1:23: a second {{ else }} in the {{ if }} at 1:1: one is allowed"},
      {"{{ range ls \"a\" }}{{ else if 1 }}{{ end }}",
       "template t.tmpl:1:27: unexpected 'if' after {{ else }} of a range"},
      {"{{ end 3 }}",
       "template t.tmpl:1:1: unexpected {{ end }}: no if, range or with is open "
       "here"},
      {"{{ if 1 }}{{ end 3 }}", "template t.tmpl:1:18: unexpected '3' after {{ end }}"},
      {"{{ }}", "template t.tmpl:1:1: empty action: write a value or a function call in {{ }}"},
      {"{{ if }}{{ end }}", "template t.tmpl:1:7: missing a value in {{ if }}"},
      {"{{ $x }}",
       "template t.tmpl:1:4: undefined variable '$x': declare it first with {{ $x := "
       "… }}"},
      {"{{ if 1 }}{{ $x := 1 }}{{ end }}{{ $x }}",
       "template t.tmpl:1:36: undefined variable '$x': declare it first with {{ $x := … }}"},
      {"{{ range $e := ls \"a\" }}{{ else }}{{ $e }}{{ end }}",
       "template t.tmpl:1:38: undefined variable '$e': declare it first with {{ $e := … }}"},
      {"{{ $x = 1 }}",
       "template t.tmpl:1:7: unexpected '=': declare a variable with ':=' ({{ $x "
       ":= … }})"},
      {"{{ .Address .Port }}",
       "template t.tmpl:1:13: unexpected '.Port' after '.Address': only a function takes "
       "arguments"},
      {"{{ key \"a\" | .Port }}",
       "template t.tmpl:1:14: only a function can take a piped value, not '.Port'"},
      {"{{ key \"a\" | }}", "template t.tmpl:1:14: missing a function call after '|'"},
      {"{{ len (key \"a\" }}", "template t.tmpl:1:8: missing ')' for this '('"},
      {"{{ eq len 1 }}",
       "template t.tmpl:1:7: a call of 'len' as an argument needs parentheses: "
       "(len …)"},
      {"{{ 1.5 }}", "template t.tmpl:1:4: numbers are whole decimal numbers such as 80 or -1"},
      {"{{ 1 # }}", "template t.tmpl:1:6: unexpected character '#' in an action"},
      {"{{ \"é\" é }}", "template t.tmpl:1:8: unexpected character 'é' in an action"},
      {"{{/* no end }}", "template t.tmpl:1:1: unclosed comment: end it with */}}"},
      {"{{/* x */ }}", "template t.tmpl:1:10: a comment must be a whole action: end it with */}}"},
      {"{{ 1 /* x */ }}", "template t.tmpl:1:6: a comment must be a whole action: {{/* … */}}"},
      {"{{ 1-}}",
       "template t.tmpl:1:5: write ' -}}' with a space before the '-' to trim what "
       "follows"},
      {"{{ range $a, $b, $c := ls \"x\" }}{{ end }}",
       "template t.tmpl:1:10: too many variables declared in {{ range }}: at most 2"},
      {"{{ len ($x := 1) }}",
       "template t.tmpl:1:9: variables cannot be declared inside "
       "parentheses"},
      {"{{ $ := 1 }}", "template t.tmpl:1:4: '$' is the top-level dot: choose a name"},
      {"{{ . . }}",
       "template t.tmpl:1:6: unexpected '.' after '.': only a function takes "
       "arguments"},
      {"{{ .a. }}",
       "template t.tmpl:1:6: a '.' must be followed by a field name such as "
       ".Address"},
      {"{{ key \"a\" := 3 }}",
       "template t.tmpl:1:12: unexpected ':=': a variable is declared "
       "at the start of an action: {{ $x := … }}"},
      {"{{ key \"a\" end }}", "template t.tmpl:1:12: 'end' must begin its own action: {{ end }}"},
  };
  for (const auto& c : cases) {
    auto t = Template::parse("t.tmpl", c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.error().message(), c.error) << c.text;
    EXPECT_EQ(t.error().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(source.reads, 0);
}

TEST_F(TemplateTest, RenderErrorsArePrecise) {
  source.services["web"] = {web("a", "10.0.0.2", 80)};
  source.kv = {{"k", "v"}};
  struct Case {
    std::string text, error;
  };
  const Case cases[] = {
      {"{{ range service \"web\" }}\n  {{ .Adress }}{{ end }}",
       "template t.tmpl:2:6: an instance has no field 'Adress': did you mean '.Address'? (fields: "
       ".Address .Health .ID .Meta .Node .Port .Service .Tags)"},
      {"{{ .Address }}",
       "template t.tmpl:1:4: cannot read field 'Address' of the dot, which is an "
       "absent value: the dot is set by range and with"},
      {"{{ $k := key \"k\" }}{{ $k.Size }}",
       "template t.tmpl:1:23: cannot read field 'Size' of '$k', which is a string"},
      {"{{ range service \"web\" }}{{ . }}{{ end }}",
       "template t.tmpl:1:29: cannot print an instance: print one of its fields (.Address .Health "
       ".ID .Meta .Node .Port .Service .Tags)"},
      {"{{ range key \"k\" }}{{ end }}",
       "template t.tmpl:1:10: range over a string: range needs a list (ls, tree, service, .Tags) "
       "or a map (.Meta)"},
      {"{{ service \"Web\" }}",
       "template t.tmpl:1:4: service \"Web\": 'Web' is not a service "
       "name: use lowercase letters, digits and '-' (at most 63, as in "
       "DNS)"},
      {"{{ service \"a.b.web\" }}",
       "template t.tmpl:1:4: service \"a.b.web\": expected NAME or "
       "TAG.NAME, each of lowercase letters, digits and '-'"},
      {"{{ service \"web\" \"all\" }}",
       "template t.tmpl:1:4: service \"web\" \"all\": the second argument is \"passing\" (the "
       "default) or \"any\""},
      {"{{ key 3 }}", "template t.tmpl:1:4: key: the key must be a string, not a number"},
      {"{{ key \"\" }}", "template t.tmpl:1:4: key: the key is empty"},
      {"{{ eq 1 \"1\" }}", "template t.tmpl:1:4: eq: cannot compare a number with a string"},
      {"{{ eq (service \"web\") 1 }}",
       "template t.tmpl:1:4: eq: cannot compare a list; compare its fields or its len"},
      {"{{ lt 1 \"2\" }}",
       "template t.tmpl:1:4: lt: compares two numbers or two strings, not a number and a string"},
      {"{{ join \",\" \"abc\" }}", "template t.tmpl:1:4: join: joins a list, not a string"},
      {"{{ len 3 }}", "template t.tmpl:1:4: len: a number has no length"},
      {"{{ split \"\" \"a\" }}", "template t.tmpl:1:4: split: the separator is empty"},
      {"{{ 1 | toUpper }}",
       "template t.tmpl:1:8: toUpper: the argument must be a string, not a "
       "number"},
      {"{{ keyOrDefault \"k\" (key \"nope\") }}",
       "template t.tmpl:1:22: key \"nope\": no such kv key; put it (berth kv put) or give a "
       "default: keyOrDefault \"nope\" \"…\""},
  };
  for (const auto& c : cases) EXPECT_EQ(render(c.text), "ERROR: " + c.error) << c.text;
}

TEST_F(TemplateTest, ColumnsCountCharactersNotBytes) {
  EXPECT_EQ(render("é€ {{ nope }}"),
            "ERROR: template t.tmpl:1:7: unknown function 'nope' "
            "(functions: key, keyOrDefault, keyExists, ls, tree, "
            "service, and, or, not, eq, ne, lt, le, gt, ge, len, join, "
            "split, contains, toUpper, toLower, trimSpace)");
}

}  // namespace
}  // namespace berth::cli::tmpl
