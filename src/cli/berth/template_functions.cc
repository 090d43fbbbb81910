// The values of templates and the functions they call, in one registry (kFunctions).

#include "cli/berth/template_functions.h"

#include <algorithm>
#include <cctype>

#include "cli/berth/format.h"
#include "common/strings.h"

namespace berth::cli::tmpl {

Value Value::ofBool(bool b) {
  Value v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}

Value Value::ofInt(int64_t n) {
  Value v;
  v.kind = Kind::kInt;
  v.number = n;
  return v;
}

Value Value::ofString(std::string s) {
  Value v;
  v.kind = Kind::kString;
  v.text = std::move(s);
  return v;
}

Value Value::ofList(std::vector<Value> items) {
  Value v;
  v.kind = Kind::kList;
  v.items = std::make_shared<const std::vector<Value>>(std::move(items));
  return v;
}

Value Value::ofMap(Fields fields) {
  std::sort(fields.begin(), fields.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  Value v;
  v.kind = Kind::kMap;
  v.fields = std::make_shared<const Fields>(std::move(fields));
  return v;
}

Value Value::ofRecord(std::string what, Fields fields) {
  Value v = ofMap(std::move(fields));
  v.kind = Kind::kRecord;
  v.text = std::move(what);
  return v;
}

bool Value::truth() const {
  switch (kind) {
    case Kind::kNil:
      return false;
    case Kind::kBool:
      return boolean;
    case Kind::kInt:
      return number != 0;
    case Kind::kString:
      return !text.empty();
    case Kind::kList:
      return !items->empty();
    case Kind::kMap:
      return !fields->empty();
    case Kind::kRecord:
      return true;
  }
  return false;
}

std::string Value::describe() const {
  switch (kind) {
    case Kind::kNil:
      return "an absent value";
    case Kind::kBool:
      return "a boolean";
    case Kind::kInt:
      return "a number";
    case Kind::kString:
      return "a string";
    case Kind::kList:
      return "a list";
    case Kind::kMap:
      return "a map";
    case Kind::kRecord:
      return text;
  }
  return "a value";
}

const Value* Value::field(std::string_view name) const {
  if (!fields) return nullptr;
  for (const auto& [n, v] : *fields)
    if (n == name) return &v;
  return nullptr;
}

Result<std::string> printed(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNil:
      return std::string();
    case Value::Kind::kBool:
      return std::string(v.boolean ? "true" : "false");
    case Value::Kind::kInt:
      return std::to_string(v.number);
    case Value::Kind::kString:
      return v.text;
    case Value::Kind::kList: {
      std::vector<std::string> parts;
      for (const auto& item : *v.items) parts.push_back(BERTH_TRY(printed(item)));
      return "[" + join(parts, " ") + "]";
    }
    case Value::Kind::kMap: {
      std::vector<std::string> parts;
      for (const auto& [name, item] : *v.fields)
        parts.push_back(name + ":" + BERTH_TRY(printed(item)));
      return "map[" + join(parts, " ") + "]";
    }
    case Value::Kind::kRecord: {
      std::vector<std::string> names;
      for (const auto& f : *v.fields) names.push_back("." + f.first);
      return invalidArgument("cannot print " + v.text + ": print one of its fields (" +
                             join(names, " ") + ")");
    }
  }
  return std::string();
}

namespace {

// Argument i as a string; `what` names it in the error ("the key").
Result<std::string> stringArg(Args& args, size_t i, std::string_view function,
                              std::string_view what) {
  Value v = BERTH_TRY(args.get(i));
  if (v.kind != Value::Kind::kString)
    return invalidArgument(std::string(function) + ": " + std::string(what) +
                           " must be a string, not " + v.describe());
  return v.text;
}

Result<std::string> keyArg(Args& args, std::string_view function) {
  std::string key = BERTH_TRY(stringArg(args, 0, function, "the key"));
  if (key.empty()) return invalidArgument(std::string(function) + ": the key is empty");
  return key;
}

// The value of `key` (recorded as a dependency), nullopt when absent.
Result<std::optional<std::string>> readKey(CallContext& ctx, const std::string& key) {
  ctx.deps.keys.insert(key);
  auto v = ctx.source.key(key);
  if (!v) return v.error().context("key " + goQuote(key));
  return v;
}

Result<Value> keyFn(Args& args, CallContext& ctx) {
  std::string key = BERTH_TRY(keyArg(args, "key"));
  auto v = BERTH_TRY(readKey(ctx, key));
  if (!v)
    return notFound("key " + goQuote(key) + ": no such kv key; put it (berth kv put) or give a " +
                    "default: keyOrDefault " + goQuote(key) + " \"…\"");
  return Value::ofString(std::move(*v));
}

Result<Value> keyOrDefaultFn(Args& args, CallContext& ctx) {
  std::string key = BERTH_TRY(keyArg(args, "keyOrDefault"));
  std::string fallback = BERTH_TRY(stringArg(args, 1, "keyOrDefault", "the default"));
  auto v = BERTH_TRY(readKey(ctx, key));
  return Value::ofString(v ? std::move(*v) : std::move(fallback));
}

Result<Value> keyExistsFn(Args& args, CallContext& ctx) {
  std::string key = BERTH_TRY(keyArg(args, "keyExists"));
  return Value::ofBool(BERTH_TRY(readKey(ctx, key)).has_value());
}

// ls and tree: the pairs under a folder; `deep` keeps keys in its sub-folders.
Result<Value> pairs(Args& args, CallContext& ctx, std::string_view function, bool deep) {
  std::string folder = folderPrefix(BERTH_TRY(stringArg(args, 0, function, "the folder")));
  ctx.deps.prefixes.insert(folder);
  auto kvs = ctx.source.list(folder);
  if (!kvs) return kvs.error().context(std::string(function) + " " + goQuote(folder));
  std::vector<Value> out;
  for (auto& kv : *kvs) {
    if (!startsWith(kv.key, folder)) continue;
    std::string rest = kv.key.substr(folder.size());
    if (rest.empty() || (!deep && rest.find('/') != std::string::npos)) continue;
    out.push_back(Value::ofRecord("a kv pair", {{"Key", Value::ofString(rest)},
                                                {"Path", Value::ofString(kv.key)},
                                                {"Value", Value::ofString(std::move(kv.value))}}));
  }
  return Value::ofList(std::move(out));
}

Result<Value> lsFn(Args& args, CallContext& ctx) { return pairs(args, ctx, "ls", false); }
Result<Value> treeFn(Args& args, CallContext& ctx) { return pairs(args, ctx, "tree", true); }

// A service name or a tag: a DNS label, as the catalog takes them.
bool isLabel(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

Value instanceValue(const ServiceInstance& in) {
  std::vector<Value> tags;
  for (const auto& t : in.tags) tags.push_back(Value::ofString(t));
  Value::Fields meta;
  for (const auto& [k, v] : in.meta) meta.emplace_back(k, Value::ofString(v));
  return Value::ofRecord("an instance", {{"ID", Value::ofString(in.id)},
                                         {"Service", Value::ofString(in.service)},
                                         {"Address", Value::ofString(in.address)},
                                         {"Port", Value::ofInt(in.port)},
                                         {"Node", Value::ofString(in.node)},
                                         {"Tags", Value::ofList(std::move(tags))},
                                         {"Health", Value::ofString(in.health)},
                                         {"Meta", Value::ofMap(std::move(meta))}});
}

Result<Value> serviceFn(Args& args, CallContext& ctx) {
  std::string spec = BERTH_TRY(stringArg(args, 0, "service", "the service"));
  std::string health = "passing";
  if (args.size() > 1) health = BERTH_TRY(stringArg(args, 1, "service", "the health filter"));
  std::string call = "service " + goQuote(spec);
  if (health != "passing" && health != "any")
    return invalidArgument(call + " " + goQuote(health) +
                           ": the second argument is \"passing\" (the default) or \"any\"");
  std::string tag, name = spec;
  if (size_t dot = spec.find('.'); dot != std::string::npos) {
    tag = spec.substr(0, dot);
    name = spec.substr(dot + 1);
    if (!isLabel(tag) || name.find('.') != std::string::npos)
      return invalidArgument(call + ": expected NAME or TAG.NAME, each of lowercase letters, " +
                             "digits and '-'");
  }
  if (!isLabel(name))
    return invalidArgument(call + ": " + quote(name) + " is not a service name: use lowercase " +
                           "letters, digits and '-' (at most 63, as in DNS)");
  ctx.deps.services.insert(name);
  auto instances = ctx.source.service(name);
  if (!instances) return instances.error().context(call);
  std::vector<Value> out;
  for (const auto& in : *instances) {
    if (health == "passing" && in.health != "passing") continue;
    if (!tag.empty() && std::find(in.tags.begin(), in.tags.end(), tag) == in.tags.end()) continue;
    out.push_back(instanceValue(in));
  }
  return Value::ofList(std::move(out));
}

Result<Value> andFn(Args& args, CallContext&) {
  Value v;
  for (size_t i = 0; i < args.size(); ++i) {
    v = BERTH_TRY(args.get(i));
    if (!v.truth()) break;
  }
  return v;
}

Result<Value> orFn(Args& args, CallContext&) {
  Value v;
  for (size_t i = 0; i < args.size(); ++i) {
    v = BERTH_TRY(args.get(i));
    if (v.truth()) break;
  }
  return v;
}

Result<Value> notFn(Args& args, CallContext&) {
  return Value::ofBool(!BERTH_TRY(args.get(0)).truth());
}

bool basic(const Value& v) {
  return v.kind == Value::Kind::kNil || v.kind == Value::Kind::kBool ||
         v.kind == Value::Kind::kInt || v.kind == Value::Kind::kString;
}

// Equality of two plain values (absent equals only absent).
Result<bool> equal(const Value& a, const Value& b, std::string_view function) {
  if (!basic(a) || !basic(b))
    return invalidArgument(std::string(function) + ": cannot compare " +
                           (basic(a) ? b : a).describe() + "; compare its fields or its len");
  if (a.kind == Value::Kind::kNil || b.kind == Value::Kind::kNil) return a.kind == b.kind;
  if (a.kind != b.kind)
    return invalidArgument(std::string(function) + ": cannot compare " + a.describe() + " with " +
                           b.describe());
  return a.kind == Value::Kind::kBool  ? a.boolean == b.boolean
         : a.kind == Value::Kind::kInt ? a.number == b.number
                                       : a.text == b.text;
}

Result<Value> eqFn(Args& args, CallContext&) {
  Value a = BERTH_TRY(args.get(0));
  for (size_t i = 1; i < args.size(); ++i)
    if (BERTH_TRY(equal(a, BERTH_TRY(args.get(i)), "eq"))) return Value::ofBool(true);
  return Value::ofBool(false);
}

Result<Value> neFn(Args& args, CallContext&) {
  return Value::ofBool(!BERTH_TRY(equal(BERTH_TRY(args.get(0)), BERTH_TRY(args.get(1)), "ne")));
}

// -1, 0 or 1 for two numbers or two strings.
Result<int> order(Args& args, std::string_view function) {
  Value a = BERTH_TRY(args.get(0)), b = BERTH_TRY(args.get(1));
  bool numbers = a.kind == Value::Kind::kInt && b.kind == Value::Kind::kInt;
  bool strings = a.kind == Value::Kind::kString && b.kind == Value::Kind::kString;
  if (!numbers && !strings)
    return invalidArgument(std::string(function) + ": compares two numbers or two strings, not " +
                           a.describe() + " and " + b.describe());
  if (numbers) return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
  return a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
}

Result<Value> ltFn(Args& args, CallContext&) {
  return Value::ofBool(BERTH_TRY(order(args, "lt")) < 0);
}
Result<Value> leFn(Args& args, CallContext&) {
  return Value::ofBool(BERTH_TRY(order(args, "le")) <= 0);
}
Result<Value> gtFn(Args& args, CallContext&) {
  return Value::ofBool(BERTH_TRY(order(args, "gt")) > 0);
}
Result<Value> geFn(Args& args, CallContext&) {
  return Value::ofBool(BERTH_TRY(order(args, "ge")) >= 0);
}

Result<Value> lenFn(Args& args, CallContext&) {
  Value v = BERTH_TRY(args.get(0));
  switch (v.kind) {
    case Value::Kind::kNil:
      return Value::ofInt(0);
    case Value::Kind::kString:
      return Value::ofInt(static_cast<int64_t>(v.text.size()));
    case Value::Kind::kList:
      return Value::ofInt(static_cast<int64_t>(v.items->size()));
    case Value::Kind::kMap:
      return Value::ofInt(static_cast<int64_t>(v.fields->size()));
    default:
      return invalidArgument("len: " + v.describe() + " has no length");
  }
}

Result<Value> joinFn(Args& args, CallContext&) {
  std::string sep = BERTH_TRY(stringArg(args, 0, "join", "the separator"));
  Value list = BERTH_TRY(args.get(1));
  if (list.kind == Value::Kind::kNil) return Value::ofString("");
  if (list.kind != Value::Kind::kList)
    return invalidArgument("join: joins a list, not " + list.describe());
  std::vector<std::string> parts;
  for (const auto& item : *list.items) {
    if (!basic(item)) return invalidArgument("join: cannot join " + item.describe());
    parts.push_back(BERTH_TRY(printed(item)));
  }
  return Value::ofString(join(parts, sep));
}

Result<Value> splitFn(Args& args, CallContext&) {
  std::string sep = BERTH_TRY(stringArg(args, 0, "split", "the separator"));
  std::string text = BERTH_TRY(stringArg(args, 1, "split", "the text"));
  if (sep.empty()) return invalidArgument("split: the separator is empty");
  std::vector<Value> parts;
  if (!text.empty())
    for (size_t start = 0;;) {
      size_t at = text.find(sep, start);
      parts.push_back(Value::ofString(text.substr(start, at - start)));
      if (at == std::string::npos) break;
      start = at + sep.size();
    }
  return Value::ofList(std::move(parts));
}

Result<Value> containsFn(Args& args, CallContext&) {
  Value needle = BERTH_TRY(args.get(0)), hay = BERTH_TRY(args.get(1));
  if (hay.kind == Value::Kind::kString) {
    if (needle.kind != Value::Kind::kString)
      return invalidArgument("contains: looks for a string in a string, not " + needle.describe());
    return Value::ofBool(hay.text.find(needle.text) != std::string::npos);
  }
  if (hay.kind == Value::Kind::kNil) return Value::ofBool(false);
  if (hay.kind != Value::Kind::kList)
    return invalidArgument("contains: looks in a list or a string, not " + hay.describe());
  if (!basic(needle))
    return invalidArgument("contains: looks for a string, number or boolean, not " +
                           needle.describe());
  for (const auto& item : *hay.items)  // elements of another kind are not equal
    if (item.kind == needle.kind && BERTH_TRY(equal(needle, item, "contains")))
      return Value::ofBool(true);
  return Value::ofBool(false);
}

Result<Value> mapString(Args& args, std::string_view function, int (*fn)(int)) {
  std::string s = BERTH_TRY(stringArg(args, 0, function, "the argument"));
  for (char& c : s) c = static_cast<char>(fn(static_cast<unsigned char>(c)));
  return Value::ofString(std::move(s));
}

Result<Value> toUpperFn(Args& args, CallContext&) { return mapString(args, "toUpper", ::toupper); }
Result<Value> toLowerFn(Args& args, CallContext&) { return mapString(args, "toLower", ::tolower); }

Result<Value> trimSpaceFn(Args& args, CallContext&) {
  return Value::ofString(
      std::string(trim(BERTH_TRY(stringArg(args, 0, "trimSpace", "the argument")))));
}

constexpr FunctionInfo kFunctions[] = {
    {"key", 1, 1, "key \"app/db/url\"", keyFn},
    {"keyOrDefault", 2, 2, "keyOrDefault \"app/db/pool\" \"10\"", keyOrDefaultFn},
    {"keyExists", 1, 1, "keyExists \"app/feature\"", keyExistsFn},
    {"ls", 1, 1, "ls \"app/env\"", lsFn},
    {"tree", 1, 1, "tree \"app\"", treeFn},
    {"service", 1, 2, "service \"web\", service \"TAG.web\", service \"web\" \"any\"", serviceFn},
    {"and", 1, -1, "and A B…", andFn},
    {"or", 1, -1, "or A B…", orFn},
    {"not", 1, 1, "not A", notFn},
    {"eq", 2, -1, "eq A B…", eqFn},
    {"ne", 2, 2, "ne A B", neFn},
    {"lt", 2, 2, "lt A B", ltFn},
    {"le", 2, 2, "le A B", leFn},
    {"gt", 2, 2, "gt A B", gtFn},
    {"ge", 2, 2, "ge A B", geFn},
    {"len", 1, 1, "len LIST", lenFn},
    {"join", 2, 2, "join \",\" LIST", joinFn},
    {"split", 2, 2, "split \",\" TEXT", splitFn},
    {"contains", 2, 2, "contains X LIST_OR_TEXT", containsFn},
    {"toUpper", 1, 1, "toUpper TEXT", toUpperFn},
    {"toLower", 1, 1, "toLower TEXT", toLowerFn},
    {"trimSpace", 1, 1, "trimSpace TEXT", trimSpaceFn},
};

}  // namespace

const FunctionInfo* findFunction(std::string_view name) {
  for (const auto& f : kFunctions)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string_view> functionNames() {
  std::vector<std::string_view> names;
  for (const auto& f : kFunctions) names.push_back(f.name);
  return names;
}

}  // namespace berth::cli::tmpl
