#include "scheduler/filters/filters.h"

#include "common/strings.h"

namespace berth::scheduler {

namespace {

// The nodes carrying any of the values of key (none when no node has the key).
NodeSet withAnyOf(const Cluster& cluster, const Constraint& c) {
  NodeSet out = cluster.emptySet();
  if (c.key == "node.hostname") {
    for (const auto& v : c.values)
      if (auto n = cluster.findNode(v)) out.set(*n);
    return out;
  }
  const LabelKey* key = cluster.labelKey(c.key);
  if (!key) return out;
  for (const auto& v : c.values) {
    auto it = key->ids.find(v);
    if (it != key->ids.end()) out |= key->nodes[it->second];
  }
  return out;
}

// The node's value for a constraint key, or null without one.
const std::string* valueOf(const NodeSpec& node, const std::string& key) {
  if (key == "node.hostname") return &node.name;
  if (key == "node.role") return &node.role;
  auto it = node.labels.find(key.substr(12));  // after "node.labels."
  return it == node.labels.end() ? nullptr : &it->second;
}

// "label zone" for node.labels.zone; "hostname", "role" for fields.
std::string field(const std::string& key) {
  if (startsWith(key, "node.labels.")) return "label " + key.substr(12);
  return key.substr(5);
}

bool holds(const Constraint& c, const std::string* value) {
  bool in = false;
  if (value)
    for (const auto& v : c.values) in = in || v == *value;
  switch (c.op) {
    case ConstraintOp::kEq:
    case ConstraintOp::kIn:
      return in;
    case ConstraintOp::kNe:
    case ConstraintOp::kNotIn:
      return !in;
    case ConstraintOp::kExists:
      return value != nullptr;
  }
  return false;
}

// Why a node fails c, in terms of what the node has.
std::string failure(const Constraint& c) {
  std::string list = "(" + join(c.values, ",") + ")";
  switch (c.op) {
    case ConstraintOp::kEq:
      return field(c.key) + "!=" + c.values[0];
    case ConstraintOp::kNe:
      return field(c.key) + "==" + c.values[0];
    case ConstraintOp::kIn:
      return field(c.key) + " not in " + list;
    case ConstraintOp::kNotIn:
      return field(c.key) + " in " + list;
    case ConstraintOp::kExists:
      return "no " + field(c.key);
  }
  return toString(c);
}

}  // namespace

void ConstraintFilter::narrow(const Batch& b, NodeSet& c) const {
  for (const auto& con : b.spec.constraints) {
    const LabelKey* key = b.cluster.labelKey(con.key);
    switch (con.op) {
      case ConstraintOp::kEq:
      case ConstraintOp::kIn:
        c &= withAnyOf(b.cluster, con);
        break;
      case ConstraintOp::kNe:
      case ConstraintOp::kNotIn:
        c.andNot(withAnyOf(b.cluster, con));
        break;
      case ConstraintOp::kExists:
        if (con.key == "node.hostname")  // every node has a name
          break;
        if (key)
          c &= key->any;
        else
          c.clear();
        break;
    }
  }
}

std::string ConstraintFilter::reject(const Batch& b, NodeId n) const {
  const NodeSpec& node = b.cluster.node(n);
  for (const auto& con : b.spec.constraints)
    if (!holds(con, valueOf(node, con.key))) return failure(con);
  return "";
}

}  // namespace berth::scheduler
