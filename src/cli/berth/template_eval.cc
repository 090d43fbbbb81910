// Template::render: walks the tree with the dot and the declared variables, calling the
// functions of template_functions.cc. Every error carries the position of the action,
// argument or field that failed.

#include <optional>

#include "cli/berth/template_functions.h"
#include "common/strings.h"

namespace berth::cli::tmpl {

namespace {

class Evaluator {
 public:
  Evaluator(const std::string& name, DataSource& source, Dependencies& deps)
      : name_(name), ctx_{source, deps} {
    vars_.emplace_back("$", Value());
  }

  Status walk(const std::vector<Node>& nodes, const Value& dot, std::string& out) {
    for (const auto& n : nodes) BERTH_RETURN_IF_ERROR(node(n, dot, out));
    return okStatus();
  }

  Result<Value> operand(const Operand& o, const Value& dot) {
    switch (o.kind) {
      case Operand::Kind::kString:
        return Value::ofString(o.text);
      case Operand::Kind::kNumber:
        return Value::ofInt(o.number);
      case Operand::Kind::kBool:
        return Value::ofBool(o.boolean);
      case Operand::Kind::kDot:
        return fields(dot, o, true);
      case Operand::Kind::kVariable:
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
          if (it->first == o.text) return fields(it->second, o, false);
        return error(o.pos, "undefined variable '" + o.text + "'");  // the parser checks
      case Operand::Kind::kPipeline:
        return pipeline(*o.pipeline, dot, false);
    }
    return Value();
  }

 private:
  // The arguments of one call, each evaluated when the function asks for it.
  class CallArgs : public Args {
   public:
    CallArgs(Evaluator& ev, const Command& c, const Value& dot, std::optional<Value> piped)
        : ev_(ev), command_(c), dot_(dot), piped_(std::move(piped)) {}
    size_t size() const override { return command_.args.size() + (piped_ ? 1 : 0); }
    Result<Value> get(size_t i) override {
      if (i == command_.args.size()) return *piped_;
      auto v = ev_.operand(command_.args[i], dot_);
      if (!v) failed_ = true;
      return v;
    }
    bool failed() const { return failed_; }

   private:
    Evaluator& ev_;
    const Command& command_;
    const Value& dot_;
    std::optional<Value> piped_;
    bool failed_ = false;
  };

  Error error(Position pos, const std::string& message,
              ErrorCode code = ErrorCode::kInvalidArgument) const {
    return templateError(name_, pos, message, code);
  }

  Status node(const Node& n, const Value& dot, std::string& out) {
    if (n.kind == Node::Kind::kText || n.kind == Node::Kind::kAction) return control(n, dot, out);
    size_t mark = vars_.size();
    Status s = control(n, dot, out);
    vars_.resize(mark);  // what a block declares ends with its {{ end }}
    return s;
  }

  Status control(const Node& n, const Value& dot, std::string& out) {
    switch (n.kind) {
      case Node::Kind::kText:
        out += n.text;
        return okStatus();
      case Node::Kind::kAction: {
        Value v = BERTH_TRY(pipeline(*n.pipeline, dot, true));
        if (!n.pipeline->declared.empty()) return okStatus();
        auto text = printed(v);
        if (!text) return error(n.pipeline->pos, text.error().message());
        out += *text;
        return okStatus();
      }
      case Node::Kind::kIf: {
        Value v = BERTH_TRY(pipeline(*n.pipeline, dot, true));
        return walk(v.truth() ? n.body : n.otherwise, dot, out);
      }
      case Node::Kind::kWith: {
        Value v = BERTH_TRY(pipeline(*n.pipeline, dot, true));
        return v.truth() ? walk(n.body, v, out) : walk(n.otherwise, dot, out);
      }
      case Node::Kind::kRange:
        return range(n, dot, out);
    }
    return okStatus();
  }

  Status range(const Node& n, const Value& dot, std::string& out) {
    Value v = BERTH_TRY(pipeline(*n.pipeline, dot, false));
    const auto& names = n.pipeline->declared;
    size_t mark = vars_.size();
    auto each = [&](Value index, const Value& element) {
      vars_.resize(mark);
      if (names.size() == 2) vars_.emplace_back(names[0], std::move(index));
      if (!names.empty()) vars_.emplace_back(names.back(), element);
      return walk(n.body, element, out);
    };
    bool any = false;
    if (v.kind == Value::Kind::kList) {
      for (size_t i = 0; i < v.items->size(); ++i, any = true)
        BERTH_RETURN_IF_ERROR(each(Value::ofInt(static_cast<int64_t>(i)), (*v.items)[i]));
    } else if (v.kind == Value::Kind::kMap) {
      for (const auto& [key, element] : *v.fields) {
        any = true;
        BERTH_RETURN_IF_ERROR(each(Value::ofString(key), element));
      }
    } else if (v.kind != Value::Kind::kNil) {
      return error(n.pipeline->pos, "range over " + v.describe() +
                                        ": range needs a list (ls, tree, service, .Tags) or a "
                                        "map (.Meta)");
    }
    vars_.resize(mark);
    return any ? okStatus() : walk(n.otherwise, dot, out);
  }

  // Runs the pipeline; `declare`: bind its declared variable to the result.
  Result<Value> pipeline(const Pipeline& p, const Value& dot, bool declare) {
    std::optional<Value> value;
    for (const auto& c : p.commands) value = BERTH_TRY(command(c, dot, std::move(value)));
    if (declare && !p.declared.empty()) vars_.emplace_back(p.declared[0], *value);
    return *value;
  }

  Result<Value> command(const Command& c, const Value& dot, std::optional<Value> piped) {
    if (c.function.empty()) return operand(c.args[0], dot);
    const FunctionInfo* fn = findFunction(c.function);
    if (!fn) return error(c.pos, "unknown function '" + c.function + "'");  // the parser checks
    CallArgs args(*this, c, dot, std::move(piped));
    auto v = fn->impl(args, ctx_);
    if (!v && !args.failed()) return error(c.pos, v.error().message(), v.error().code());
    return v;
  }

  // The value of `base` with the operand's .A.B applied; `is_dot` for the messages.
  Result<Value> fields(const Value& base, const Operand& o, bool is_dot) {
    Value v = base;
    std::string path = is_dot ? "" : o.text;
    for (const auto& f : o.fields) {
      const Value* next = v.field(f);
      if (v.kind == Value::Kind::kRecord && !next) {
        std::vector<std::string_view> names;
        std::vector<std::string> listed;
        for (const auto& field : *v.fields) {
          names.push_back(field.first);
          listed.push_back("." + field.first);
        }
        std::string near = closestName(f, names);
        return error(o.pos, v.describe() + " has no field '" + f + "'" +
                                (near.empty() ? "" : ": did you mean '." + near + "'?") +
                                " (fields: " + join(listed, " ") + ")");
      }
      if (v.kind != Value::Kind::kRecord && v.kind != Value::Kind::kMap) {
        std::string what = path.empty() ? (is_dot ? "the dot" : "it") : "'" + path + "'";
        std::string hint = is_dot && path.empty() && v.kind == Value::Kind::kNil
                               ? ": the dot is set by range and with"
                               : "";
        return error(o.pos, "cannot read field '" + f + "' of " + what + ", which is " +
                                v.describe() + hint);
      }
      v = next ? *next : Value();  // a map without the key: absent
      path += "." + f;
    }
    return v;
  }

  const std::string& name_;
  CallContext ctx_;
  std::vector<std::pair<std::string, Value>> vars_;  // declared variables, innermost last
};

}  // namespace

Result<std::string> Template::render(DataSource& source, Dependencies& deps) const {
  Evaluator ev(name_, source, deps);
  std::string out;
  BERTH_RETURN_IF_ERROR(ev.walk(root_->body, Value(), out));
  return out;
}

}  // namespace berth::cli::tmpl
