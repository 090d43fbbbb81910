#include "store/store.h"

#include <set>

#include "common/strings.h"

namespace berth::store {

namespace {

// Every compacted error carries this phrase (etcd's own words), which isCompacted finds.
constexpr std::string_view kCompactedPhrase = "required revision has been compacted";

std::string shown(const std::string& key) {
  return quote(key.size() > 64 ? key.substr(0, 64) + "…" : key);
}

}  // namespace

std::string prefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return end;
}

Status validateKey(const std::string& key, bool prefix) {
  const char* what = prefix ? "prefix" : "key";
  if (key.empty() && !prefix) return invalidArgument("key: must not be empty");
  if (key.size() > kMaxKeyBytes)
    return invalidArgument(std::string(what) + " " + shown(key) + ": longer than " +
                           std::to_string(kMaxKeyBytes) + " bytes");
  if (key.find('\0') != std::string::npos)
    return invalidArgument(std::string(what) + " " + shown(key) + ": contains a NUL byte");
  return okStatus();
}

namespace {

Status validateOps(const std::vector<Op>& ops, const char* branch) {
  std::set<std::string> seen;
  for (const Op& op : ops) {
    BERTH_RETURN_IF_ERROR(validateKey(op.key, false));
    if (op.type == Op::Type::kPut && op.value.size() > kMaxValueBytes)
      return invalidArgument("put " + shown(op.key) + ": value of " +
                             std::to_string(op.value.size()) + " bytes is larger than " +
                             std::to_string(kMaxValueBytes));
    if (op.lease < 0)
      return invalidArgument("put " + shown(op.key) + ": lease id must not be negative");
    if (!seen.insert(op.key).second)
      return invalidArgument(std::string("transaction: key ") + shown(op.key) +
                             " appears twice in the " + branch + " branch");
  }
  return okStatus();
}

}  // namespace

Status validateTxn(const Txn& txn) {
  for (const Compare& c : txn.compares) BERTH_RETURN_IF_ERROR(validateKey(c.key, false));
  BERTH_RETURN_IF_ERROR(validateOps(txn.then, "then"));
  return validateOps(txn.otherwise, "else");
}

Error compactedError(Revision wanted, Revision compacted) {
  return notFound("revision " + std::to_string(wanted) + ": " + std::string(kCompactedPhrase) +
                  " (history starts at " + std::to_string(compacted) +
                  "); read the current state and watch from its revision + 1");
}

bool isCompacted(const Error& e) {
  return e.code() == ErrorCode::kNotFound &&
         e.message().find(kCompactedPhrase) != std::string::npos;
}

Result<TxnResult> Store::del(const std::string& key) {
  Txn t;
  t.then.push_back(Op::del(key));
  return txn(t);
}

Result<TxnResult> Store::delPrefix(const std::string& prefix) {
  if (prefix.empty()) return invalidArgument("delete prefix: must not be empty");
  Txn t;
  t.then.push_back(Op::delPrefix(prefix));
  return txn(t);
}

Result<Revision> Store::putIfRevision(const std::string& key, const std::string& value,
                                      Revision expected, LeaseId lease) {
  Txn t;
  t.compares.push_back(Compare::modRevisionIs(key, expected));
  t.then.push_back(Op::put(key, value, lease));
  TxnResult r = BERTH_TRY(txn(t));
  if (r.succeeded) return r.revision;
  auto now = BERTH_TRY(get(key));
  std::string current = now ? "its revision is " + std::to_string(now->mod_revision)
                            : std::string("it does not exist");
  return conflict("put " + shown(key) + " if at revision " + std::to_string(expected) + ": " +
                  current + " (as of store revision " + std::to_string(r.revision) +
                  "); read it again and retry");
}

}  // namespace berth::store
