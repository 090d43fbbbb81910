#include "scheduler/model.h"

#include "common/strings.h"

namespace berth::scheduler {

std::string_view toString(NodeState s) {
  switch (s) {
    case NodeState::kReady:
      return "ready";
    case NodeState::kDraining:
      return "draining";
    case NodeState::kDown:
      return "down";
  }
  return "?";
}

std::string_view toString(Strategy s) {
  switch (s) {
    case Strategy::kSpread:
      return "spread";
    case Strategy::kBinpack:
      return "binpack";
    case Strategy::kRandom:
      return "random";
  }
  return "?";
}

namespace {

bool validKey(std::string_view key) {
  if (key == "node.hostname" || key == "node.name" || key == "node.role") return true;
  return startsWith(key, "node.labels.") && key.size() > 12;
}

Result<std::vector<std::string>> parseList(std::string_view text, std::string_view whole) {
  text = trim(text);
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    return invalidArgument("constraint " + quote(whole) + ": expected a list like (a,b)");
  std::vector<std::string> values;
  for (const auto& v : split(text.substr(1, text.size() - 2), ',')) {
    auto t = trim(v);
    if (t.empty()) return invalidArgument("constraint " + quote(whole) + ": empty value in list");
    values.emplace_back(t);
  }
  return values;
}

}  // namespace

Result<Constraint> parseConstraint(std::string_view text) {
  Constraint c;
  std::string_view t = trim(text);
  auto fail = [&](const std::string& why) {
    return invalidArgument("constraint " + quote(text) + ": " + why +
                           " (write key==v, key!=v, key in (a,b), key not in (a,b) or "
                           "key exists; keys are node.hostname, node.role, node.labels.K)");
  };
  size_t at;
  std::string_view key;
  if ((at = t.find("==")) != std::string_view::npos ||
      (at = t.find("!=")) != std::string_view::npos) {
    c.op = t[at] == '=' ? ConstraintOp::kEq : ConstraintOp::kNe;
    key = trim(t.substr(0, at));
    auto value = trim(t.substr(at + 2));
    if (value.empty()) return fail("no value");
    c.values.emplace_back(value);
  } else if ((at = t.find(" not in ")) != std::string_view::npos) {
    c.op = ConstraintOp::kNotIn;
    key = trim(t.substr(0, at));
    c.values = BERTH_TRY(parseList(t.substr(at + 8), text));
  } else if ((at = t.find(" in ")) != std::string_view::npos) {
    c.op = ConstraintOp::kIn;
    key = trim(t.substr(0, at));
    c.values = BERTH_TRY(parseList(t.substr(at + 4), text));
  } else if (t.size() > 7 && t.substr(t.size() - 7) == " exists") {
    c.op = ConstraintOp::kExists;
    key = trim(t.substr(0, t.size() - 7));
  } else {
    return fail("no operator");
  }
  if (!validKey(key)) return fail("unknown key " + quote(key));
  c.key = key == "node.name" ? "node.hostname" : std::string(key);
  return c;
}

std::string toString(const Constraint& c) {
  switch (c.op) {
    case ConstraintOp::kEq:
      return c.key + "==" + c.values.at(0);
    case ConstraintOp::kNe:
      return c.key + "!=" + c.values.at(0);
    case ConstraintOp::kIn:
      return c.key + " in (" + join(c.values, ",") + ")";
    case ConstraintOp::kNotIn:
      return c.key + " not in (" + join(c.values, ",") + ")";
    case ConstraintOp::kExists:
      return c.key + " exists";
  }
  return c.key;
}

std::string toString(const Selector& s) {
  switch (s.kind) {
    case Selector::Kind::kService:
      return "service " + quote(s.name);
    case Selector::Kind::kLabel:
      return "label " + s.name + "=" + s.value;
    case Selector::Kind::kTask:
      return "task " + quote(s.name);
  }
  return s.name;
}

}  // namespace berth::scheduler

namespace berth::scheduler {

bool picks(const Selector& s, const TaskSpec& spec, std::string_view task_id) {
  switch (s.kind) {
    case Selector::Kind::kService:
      return spec.service == s.name;
    case Selector::Kind::kLabel: {
      auto it = spec.labels.find(s.name);
      return it != spec.labels.end() && it->second == s.value;
    }
    case Selector::Kind::kTask:
      return task_id == s.name;
  }
  return false;
}

}  // namespace berth::scheduler
