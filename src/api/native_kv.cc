// The native API's configuration store (native_api.md, "Configuration: kv"): `berth kv`'s
// keys live in the Store under /berth/v1/kv/<user key> (DESIGN.md's key space). Values
// travel base64-encoded, as they are bytes.

#include <chrono>

#include "api/native_routes.h"
#include "api/native_util.h"
#include "common/base64.h"
#include "common/strings.h"

namespace berth::api {

using nlohmann::json;
using store::Revision;

namespace {

constexpr std::string_view kKvRoot = "/berth/v1/kv/";

// A user key as the Store's key; kInvalidArgument saying what is wrong with it.
Result<std::string> storeKey(const Request& req) {
  if (!req.hasQuery("key")) return invalidArgument("kv: the query parameter 'key' is missing");
  std::string key = req.queryValue("key");
  if (key.empty()) return invalidArgument("kv key: must not be empty");
  if (key.find('\0') != std::string::npos)
    return invalidArgument("kv key " + quote(key.substr(0, key.find('\0'))) +
                           "…: contains a NUL byte");
  size_t max = store::kMaxKeyBytes - kKvRoot.size();
  if (key.size() > max)
    return invalidArgument("kv key " + quote(key.substr(0, 32)) +
                           "…: " + std::to_string(key.size()) + " bytes, longer than " +
                           std::to_string(max));
  return std::string(kKvRoot) + key;
}

Result<std::string> storePrefix(const Request& req) {
  std::string prefix = req.queryValue("prefix");
  if (prefix.find('\0') != std::string::npos)
    return invalidArgument("kv prefix: contains a NUL byte");
  if (prefix.size() > store::kMaxKeyBytes - kKvRoot.size())
    return invalidArgument("kv prefix: longer than " +
                           std::to_string(store::kMaxKeyBytes - kKvRoot.size()) + " bytes");
  return std::string(kKvRoot) + prefix;
}

std::string userKey(const std::string& store_key) { return store_key.substr(kKvRoot.size()); }

// A revision query parameter: nullopt when absent; kInvalidArgument unless a number ≥ 0.
Result<std::optional<Revision>> revisionArg(const Request& req, const std::string& name) {
  if (!req.hasQuery(name)) return std::optional<Revision>();
  std::string v = req.queryValue(name);
  auto n = parseInt(v);
  if (!n || *n < 0)
    return invalidArgument("query " + quote(name) + ": " + quote(v) +
                           " is not a revision (0 or more)");
  return std::optional<Revision>(*n);
}

json kvJson(const store::KeyValue& kv) {
  return {{"key", userKey(kv.key)},
          {"value", base64Encode(kv.value)},
          {"create_revision", kv.create_revision},
          {"mod_revision", kv.mod_revision},
          {"version", kv.version}};
}

json eventJson(const store::Event& ev) {
  if (ev.type == store::Event::Type::kDelete)
    return {{"type", "delete"}, {"key", userKey(ev.kv.key)}, {"mod_revision", ev.kv.mod_revision}};
  json j = kvJson(ev.kv);
  j["type"] = "put";
  return j;
}

// The conflict of a compare-and-swap on `key` that expected `expected`.
Error casConflict(store::Store& s, const std::string& op, const std::string& key,
                  Revision expected) {
  auto now = s.get(key);
  std::string current = !now   ? "its revision could not be read: " + now.error().message()
                        : *now ? "its revision is " + std::to_string((*now)->mod_revision)
                               : std::string("it does not exist");
  return conflict(op + " kv key " + quote(userKey(key)) + " if at revision " +
                  std::to_string(expected) + ": " + current + "; read it again and retry");
}

Status getKey(store::Store& s, Request& req, Response& res) {
  std::string key = BERTH_TRY(storeKey(req));
  auto at = BERTH_TRY(revisionArg(req, "revision"));
  auto kv = BERTH_TRY(s.get(key, at.value_or(0)));
  if (!kv)
    return notFound("no such kv key: " + quote(userKey(key)) +
                    (at ? " at revision " + std::to_string(*at) : ""));
  res.json(200, kvJson(*kv));
  return okStatus();
}

Status putKey(store::Store& s, Request& req, Response& res) {
  std::string key = BERTH_TRY(storeKey(req));
  auto expected = BERTH_TRY(revisionArg(req, "if_revision"));
  json body = BERTH_TRY(req.readJson());
  if (!body.is_object() || !body.contains("value") || !body["value"].is_string())
    return invalidArgument("put kv key " + quote(userKey(key)) +
                           ": the body must be {\"value\": \"<base64>\"}");
  auto value = base64Decode(body["value"].get<std::string>());
  if (!value) return value.error().context("put kv key " + quote(userKey(key)) + ": value");
  if (value->size() > store::kMaxValueBytes)
    return invalidArgument("put kv key " + quote(userKey(key)) + ": the value has " +
                           std::to_string(value->size()) + " bytes, more than the " +
                           std::to_string(store::kMaxValueBytes) + " a value may have");
  store::Txn t;
  if (expected) t.compares.push_back(store::Compare::modRevisionIs(key, *expected));
  t.then.push_back(store::Op::put(key, *value));
  auto r = BERTH_TRY(s.txn(t));
  if (!r.succeeded) return casConflict(s, "put", key, *expected);
  res.json(200, {{"key", userKey(key)}, {"revision", r.revision}});
  return okStatus();
}

Status deleteKey(store::Store& s, Request& req, Response& res) {
  std::string key = BERTH_TRY(storeKey(req));
  auto expected = BERTH_TRY(revisionArg(req, "if_revision"));
  store::Txn t;
  t.compares.push_back(expected ? store::Compare::modRevisionIs(key, *expected)
                                : store::Compare::exists(key));
  t.then.push_back(store::Op::del(key));
  auto r = BERTH_TRY(s.txn(t));
  if (!r.succeeded) {
    if (!expected) return notFound("no such kv key: " + quote(userKey(key)));
    return casConflict(s, "delete", key, *expected);
  }
  res.json(200, {{"key", userKey(key)}, {"revision", r.revision}});
  return okStatus();
}

Status listKeys(store::Store& s, Request& req, Response& res) {
  std::string prefix = BERTH_TRY(storePrefix(req));
  auto at = BERTH_TRY(revisionArg(req, "revision"));
  auto r = BERTH_TRY(s.range(prefix, {.revision = at.value_or(0)}));
  json kvs = json::array();
  for (const auto& kv : r.kvs) kvs.push_back(kvJson(kv));
  res.json(200, {{"revision", r.revision}, {"kvs", kvs}});
  return okStatus();
}

// Every change under the prefix from `from_revision` (absent: from the next change), one
// JSON line per event, in revision order, until the client goes or the watch fails (then a
// last {"error"} line).
Status watchKeys(store::Store& s, Request& req, Response& res) {
  std::string prefix = BERTH_TRY(storePrefix(req));
  auto from = BERTH_TRY(revisionArg(req, "from_revision"));
  auto watch = BERTH_TRY(s.watch(prefix, from.value_or(0)));
  BERTH_RETURN_IF_ERROR(res.beginStream(200, "application/json"));
  for (;;) {
    auto events = watch->next(std::chrono::milliseconds(500));
    if (!events) {
      (void)res.write(json{{"error", events.error().message()}}.dump() + "\n");
      break;
    }
    if (events->empty()) {
      if (res.peerClosed()) break;
      continue;
    }
    std::string lines;
    for (const auto& ev : *events) lines += eventJson(ev).dump() + "\n";
    if (!res.write(lines)) break;
  }
  res.end();
  return okStatus();
}

}  // namespace

void addKv(Router& r, store::Store& s) {
  r.add("GET", "/v1/kv", handle([&s](Request& req, Response& res) { return getKey(s, req, res); }));
  r.add("PUT", "/v1/kv", handle([&s](Request& req, Response& res) { return putKey(s, req, res); }));
  r.add("DELETE", "/v1/kv",
        handle([&s](Request& req, Response& res) { return deleteKey(s, req, res); }));
  r.add("GET", "/v1/kv/list",
        handle([&s](Request& req, Response& res) { return listKeys(s, req, res); }));
  r.add("GET", "/v1/kv/watch",
        handle([&s](Request& req, Response& res) { return watchKeys(s, req, res); }));
}

}  // namespace berth::api
