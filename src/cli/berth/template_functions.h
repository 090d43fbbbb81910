#pragma once
// The values a template computes with and the functions it may call (template.h lists
// them for users). Internal to the parser (names, argument counts) and the evaluator.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/berth/template_ast.h"

namespace berth::cli::tmpl {

struct Value {
  enum class Kind { kNil, kBool, kInt, kString, kList, kMap, kRecord };
  using Fields = std::vector<std::pair<std::string, Value>>;  // sorted by name

  Kind kind = Kind::kNil;
  bool boolean = false;
  int64_t number = 0;
  std::string text;  // kString; for kRecord what it is, with its article ("an instance")
  std::shared_ptr<const std::vector<Value>> items;  // kList
  std::shared_ptr<const Fields> fields;             // kMap, kRecord

  static Value ofBool(bool b);
  static Value ofInt(int64_t n);
  static Value ofString(std::string s);
  static Value ofList(std::vector<Value> items);
  static Value ofMap(Fields fields);  // sorts them
  // A record has fixed fields: reading another is an error, where a map gives nil.
  static Value ofRecord(std::string what, Fields fields);

  // false, 0, "", an empty list or map and nil are false.
  bool truth() const;
  // "a string", "a list", "an instance", … for messages.
  std::string describe() const;
  // The field's value, nullptr when there is none.
  const Value* field(std::string_view name) const;
};

// How {{ }} prints a value: strings as they are, numbers in decimal, lists as [a b], maps as
// map[k:v], nil as nothing; a record is an error that names its fields.
Result<std::string> printed(const Value& v);

// A call's arguments, evaluated when a function first asks for one (and, or stop early).
// A piped value is the last argument.
class Args {
 public:
  virtual ~Args() = default;
  virtual size_t size() const = 0;
  // The value of argument i (< size()); an error is already positioned.
  virtual Result<Value> get(size_t i) = 0;
};

struct CallContext {
  DataSource& source;
  Dependencies& deps;
};

// An error from a function is positioned at its call by the evaluator.
using FunctionImpl = Result<Value> (*)(Args& args, CallContext& ctx);

struct FunctionInfo {
  std::string_view name;
  int min_args;
  int max_args;            // -1: any number
  std::string_view usage;  // how a call reads: key "app/db/url"
  FunctionImpl impl;
};
// nullptr for an unknown name.
const FunctionInfo* findFunction(std::string_view name);
// Every name, in the order template.h lists them.
std::vector<std::string_view> functionNames();

}  // namespace berth::cli::tmpl
