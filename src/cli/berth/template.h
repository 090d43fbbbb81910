#pragma once
// The language of `berth template` (as consul-template's, a subset of Go's text/template):
// text with actions in {{ }} that read kv keys and service instances from berthd.
//
//   upstream web {
//   {{- range service "web" }}
//     server {{ .Address }}:{{ .Port }};
//   {{- else }}
//     server 127.0.0.1:65535 down;  # no instance is passing
//   {{- end }}
//   }
//   db_url = {{ key "app/db/url" }}
//   pool   = {{ keyOrDefault "app/db/pool" "10" }}
//   {{ range ls "app/env/" }}{{ .Key }}={{ .Value }}
//   {{ end }}
//
// Actions
//   {{ PIPELINE }}                 prints the value (strings as they are, numbers in decimal,
//                                  lists as [a b], nothing for an absent value)
//   {{ $x := PIPELINE }}           declares $x (prints nothing) until the {{ end }} of the
//                                  block it is in; $ alone is the top-level dot (empty)
//   {{ if P }} … {{ else if P }} … {{ else }} … {{ end }}
//   {{ range P }} … {{ else }} … {{ end }}   over a list (the dot is each element) or a map
//                                  (each value, by key); {{ else }} runs when it is empty.
//                                  {{ range $i, $e := P }} names the index (key) and element
//   {{ with P }} … {{ else }} … {{ end }}    the dot is P's value when it is true
//   {{/* a comment */}}
//   {{- and -}} trim all white space (newlines too) before / after the action; the dash
//   needs a space after (before) it: {{-3}} is the number -3.
// Truth: false, 0, "", an empty list or map and an absent value are false; all else true.
//
// Pipelines: a value or a function call, then `| f ARGS` calls f with the value as its last
// argument: {{ key "app/name" | toUpper }}, {{ .Tags | join "," }}. Arguments are "strings"
// (escapes \n \t \r \\ \" \a \b \f \v \xHH \uHHHH \UHHHHHHHH), `raw strings`, whole
// numbers, true, false, .Field chains of the dot, $variables (with .Field chains) and
// (parenthesised pipelines).
//
// Functions
//   key "K"                 the value of kv key K (decrypted with --key-file when it was
//                           written with `berth kv put --encrypt`); an error when absent
//   keyOrDefault "K" "D"    the value, or D when K does not exist
//   keyExists "K"           true when K exists
//   ls "P"                  the keys directly under the folder P ("app" and "app/" are the
//                           same; deeper keys are left out), sorted: each has .Key (the name
//                           under P), .Path (the whole key) and .Value
//   tree "P"                as ls, every key under P at any depth (.Key: "db/url")
//   service "NAME"          the passing instances of a service, sorted by id: each has
//                           .ID .Service .Address .Port .Node .Tags (a list) .Health
//                           ("passing" or "critical") and .Meta (a map; a missing key is
//   service "TAG.NAME"      empty); with a tag, only the instances carrying it — written
//                           as DNS asks for it (TAG.NAME.service.berth). A second argument
//   service "NAME" "any"    "any" includes the critical instances ("passing": the default)
//   and A B…, or A B…       the first false (true) argument or the last one; arguments
//                           after that one are not evaluated
//   not A                   true when A is false
//   eq A B…                 true when A equals one of B…; ne A B: A differs from B;
//   lt le gt ge A B         compare two numbers or two strings
//   len L                   the length of a list, map or string
//   join SEP L              the elements of L between SEP;  split SEP S: S cut at SEP
//   contains X L            true when the list L has the element X, or the string L the
//                           text X: {{ if .Tags | contains "primary" }}
//   toUpper S, toLower S, trimSpace S
//
// Errors name the template, line and column (columns count characters):
//   template web.tmpl:3:14: unknown function 'servce': did you mean 'service'?
// Parse errors come before anything is read; render errors (an absent key, a field an
// instance does not have) name the action that failed.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::cli::tmpl {

struct KeyValue {
  std::string key;  // the whole key
  std::string value;
};

struct ServiceInstance {
  std::string id;
  std::string service;
  std::string address;
  int port = 0;
  std::string node;
  std::vector<std::string> tags;
  std::string health;  // "passing" or "critical"
  std::map<std::string, std::string> meta;
};

// Where a render reads its data (berthd, or a fake in tests). Errors are passed on with
// the position of the action that asked.
class DataSource {
 public:
  virtual ~DataSource() = default;
  // The value of `key` (plain text: a source decrypts), nullopt when it does not exist.
  virtual Result<std::optional<std::string>> key(const std::string& key) = 0;
  // Every key that starts with `prefix` ("" for all), sorted by key.
  virtual Result<std::vector<KeyValue>> list(const std::string& prefix) = 0;
  // Every instance of `service`, whatever its health, sorted by id; none for an unknown one.
  virtual Result<std::vector<ServiceInstance>> service(const std::string& name) = 0;
};

// What a render read: a change to any of it may change what it prints.
struct Dependencies {
  std::set<std::string> keys;      // read one by one (key, keyOrDefault, keyExists)
  std::set<std::string> prefixes;  // listed (ls, tree)
  std::set<std::string> services;  // names, whatever tag or health was asked for

  // True when a change to kv key `key` may change the output.
  bool coversKey(std::string_view key) const;
  void merge(const Dependencies& other);
  bool operator==(const Dependencies&) const = default;
};

struct Node;

// A parsed template. Copies share the (immutable) tree; render may run on any thread.
class Template {
 public:
  // Parses `text`; `name` (its file, as given) starts every error message.
  static Result<Template> parse(std::string name, std::string_view text);

  // Renders with data from `source`, adding to `deps` what it read — also when it fails
  // on the way: an absent key is a dependency, since putting it may fix the render.
  Result<std::string> render(DataSource& source, Dependencies& deps) const;

  // The longest prefix that every kv key or folder the template reads starts with:
  // nullopt when it reads no kv key, "" when one is computed while rendering (any key).
  std::optional<std::string> kvPrefix() const;

  const std::string& name() const { return name_; }

 private:
  Template(std::string name, std::shared_ptr<const Node> root)
      : name_(std::move(name)), root_(std::move(root)) {}
  std::string name_;
  std::shared_ptr<const Node> root_;
};

// "app" → "app/": the folder that ls and tree list ("" stays "", every key).
std::string folderPrefix(std::string_view prefix);
// The longest prefix of both.
std::string_view sharedPrefix(std::string_view a, std::string_view b);

}  // namespace berth::cli::tmpl
