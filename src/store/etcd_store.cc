#include "store/etcd_store.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/strings.h"
#include "store/etcd_http.h"

namespace berth::store {

using nlohmann::json;

namespace {

constexpr auto kWatchFirstBackoff = std::chrono::milliseconds(20);
constexpr auto kWatchLastBackoff = std::chrono::milliseconds(1000);

// The gateway writes int64 fields as strings and leaves out zero values.
int64_t num(const json& j, const char* field) {
  if (!j.is_object()) return 0;
  auto it = j.find(field);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) return parseInt(it->get<std::string>()).value_or(0);
  return 0;
}

Result<std::string> bytes(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return std::string();
  auto r = base64Decode(it->get<std::string>());
  if (!r) return r.error().context(std::string("etcd answer field ") + quote(field));
  return r;
}

Result<KeyValue> kvOf(const json& j) {
  KeyValue kv;
  kv.key = BERTH_TRY(bytes(j, "key"));
  kv.value = BERTH_TRY(bytes(j, "value"));
  kv.create_revision = num(j, "create_revision");
  kv.mod_revision = num(j, "mod_revision");
  kv.version = num(j, "version");
  kv.lease = num(j, "lease");
  return kv;
}

Revision headerRevision(const json& j) {
  return j.contains("header") ? num(j["header"], "revision") : 0;
}

// key and range_end for every key starting with `prefix` (etcd's "\0" means "no end").
void setPrefix(json& req, const std::string& prefix) {
  std::string end = prefixEnd(prefix);
  req["key"] = base64Encode(prefix.empty() ? std::string(1, '\0') : prefix);
  req["range_end"] = base64Encode(end.empty() ? std::string(1, '\0') : end);
}

json opJson(const Op& op) {
  if (op.type == Op::Type::kPut) {
    json put{{"key", base64Encode(op.key)}, {"value", base64Encode(op.value)}};
    if (op.lease != 0) put["lease"] = std::to_string(op.lease);
    return {{"request_put", put}};
  }
  json del{{"key", base64Encode(op.key)}};
  if (op.type == Op::Type::kDeletePrefix) setPrefix(del, op.key);
  return {{"request_delete_range", del}};
}

json compareJson(const Compare& c) {
  static const char* const kTargets[] = {"CREATE", "MOD", "VERSION", "VALUE"};
  static const char* const kResults[] = {"EQUAL", "NOT_EQUAL", "LESS", "GREATER"};
  json j{{"key", base64Encode(c.key)},
         {"target", kTargets[static_cast<int>(c.target)]},
         {"result", kResults[static_cast<int>(c.op)]}};
  switch (c.target) {
    case Compare::Target::kCreateRevision:
      j["create_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::kModRevision:
      j["mod_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::kVersion:
      j["version"] = std::to_string(c.number);
      break;
    case Compare::Target::kValue:
      j["value"] = base64Encode(c.value);
      break;
  }
  return j;
}

}  // namespace

// Reads etcd's watch stream on a thread of its own; see the header for resumption.
class EtcdStore::EtcdWatch : public Watch {
 public:
  EtcdWatch(etcd::HttpPool& http, std::string prefix, Revision from)
      : http_(http), prefix_(std::move(prefix)), resume_(from) {
    thread_ = std::thread([this] { run(); });
  }
  ~EtcdWatch() override {
    cancel();
    thread_.join();
  }

  Result<std::vector<Event>> next(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return cancelled_ || !queue_.empty() || error_; });
    if (cancelled_) return unavailable("watch " + quote(prefix_) + ": cancelled");
    if (!queue_.empty()) {
      std::vector<Event> out(std::make_move_iterator(queue_.begin()),
                             std::make_move_iterator(queue_.end()));
      queue_.clear();
      return out;
    }
    if (error_) return *error_;
    return std::vector<Event>();
  }

  void cancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (stream_ != nullptr) stream_->shutdown();
    cv_.notify_all();
  }

 private:
  void run() {
    auto backoff = kWatchFirstBackoff;
    while (true) {
      json create{{"start_revision", std::to_string(resume_)}};
      setPrefix(create, prefix_);
      auto opened = http_.stream("/v3/watch", json{{"create_request", create}}.dump());
      if (!opened && opened.error().code() != ErrorCode::kUnavailable) return fail(opened.error());
      if (opened) {
        {
          std::lock_guard lock(mu_);
          if (cancelled_) return;
          stream_ = opened->get();
        }
        bool delivered = false;
        Status s = read(**opened, delivered);
        {
          std::lock_guard lock(mu_);
          stream_ = nullptr;
        }
        if (!s) return fail(s.error());
        if (delivered) backoff = kWatchFirstBackoff;
      }
      // The stream broke or etcd is not there: wait, then resume after the last event.
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, backoff, [&] { return cancelled_; })) return;
      backoff = std::min(backoff * 2, kWatchLastBackoff);
    }
  }

  // Reads messages until the stream breaks (returns ok: reconnect) or the watch must end
  // (returns the error to hand to next()).
  Status read(etcd::Stream& stream, bool& delivered) {
    while (true) {
      auto msg = stream.next();
      if (!msg) return okStatus();
      if (msg->contains("error")) return okStatus();  // the gateway's stream error: reconnect
      const json& result = (*msg)["result"];
      if (Revision compacted = num(result, "compact_revision"); compacted != 0)
        return compactedError(resume_, compacted).context("watch " + quote(prefix_));
      if (result.value("canceled", false))
        return unavailable("watch " + quote(prefix_) + ": etcd cancelled it: " +
                           result.value("cancel_reason", std::string("no reason given")));
      auto it = result.find("events");
      if (it == result.end() || !it->is_array() || it->empty()) continue;
      std::vector<Event> events;
      for (const json& e : *it) {
        Event ev;
        ev.type = e.value("type", std::string("PUT")) == "DELETE" ? Event::Type::kDelete
                                                                  : Event::Type::kPut;
        auto kv = kvOf(e.value("kv", json::object()));
        if (!kv) return kv.error().context("watch " + quote(prefix_));
        ev.kv = std::move(*kv);
        events.push_back(std::move(ev));
      }
      std::lock_guard lock(mu_);
      resume_ = events.back().kv.mod_revision + 1;
      for (Event& e : events) queue_.push_back(std::move(e));
      delivered = true;
      cv_.notify_all();
    }
  }

  void fail(Error e) {
    std::lock_guard lock(mu_);
    error_ = std::move(e);
    cv_.notify_all();
  }

  etcd::HttpPool& http_;
  const std::string prefix_;
  std::mutex mu_;
  std::condition_variable cv_;
  Revision resume_;                 // the first revision not yet delivered; GUARDED_BY(mu_)
  std::deque<Event> queue_;         // GUARDED_BY(mu_)
  std::optional<Error> error_;      // GUARDED_BY(mu_)
  bool cancelled_ = false;          // GUARDED_BY(mu_)
  etcd::Stream* stream_ = nullptr;  // the open stream, to break it on cancel; GUARDED_BY(mu_)
  std::thread thread_;
};

Result<std::unique_ptr<EtcdStore>> EtcdStore::open(const EtcdOptions& options) {
  if (options.retry_for.count() < 0) return invalidArgument("etcd store: negative retry_for");
  auto http = BERTH_TRY(etcd::HttpPool::make(options.endpoint, options.retry_for));
  return std::unique_ptr<EtcdStore>(new EtcdStore(std::move(http)));
}

EtcdStore::EtcdStore(std::unique_ptr<etcd::HttpPool> http) : http_(std::move(http)) {}
EtcdStore::~EtcdStore() = default;

Result<std::optional<KeyValue>> EtcdStore::get(const std::string& key, Revision revision) {
  BERTH_RETURN_IF_ERROR(validateKey(key));
  if (revision < 0) return invalidArgument("get " + quote(key) + ": negative revision");
  json req{{"key", base64Encode(key)}};
  if (revision != 0) req["revision"] = std::to_string(revision);
  auto res = http_->post("/v3/kv/range", req.dump());
  if (!res) return res.error().context("get " + quote(key));
  auto it = res->find("kvs");
  if (it == res->end() || it->empty()) return std::optional<KeyValue>();
  return std::optional<KeyValue>(BERTH_TRY(kvOf((*it)[0])));
}

Result<RangeResult> EtcdStore::range(const std::string& prefix, const RangeOptions& options) {
  BERTH_RETURN_IF_ERROR(validateKey(prefix, true));
  if (options.limit < 0 || options.revision < 0)
    return invalidArgument("range " + quote(prefix) + ": negative limit or revision");
  json req;
  setPrefix(req, prefix);
  if (options.limit > 0) req["limit"] = std::to_string(options.limit);
  if (options.revision > 0) req["revision"] = std::to_string(options.revision);
  auto res = http_->post("/v3/kv/range", req.dump());
  if (!res) return res.error().context("range " + quote(prefix));
  RangeResult out;
  out.revision = headerRevision(*res);
  out.more = res->value("more", false);
  if (auto it = res->find("kvs"); it != res->end())
    for (const json& kv : *it) out.kvs.push_back(BERTH_TRY(kvOf(kv)));
  return out;
}

Result<Revision> EtcdStore::put(const std::string& key, const std::string& value, LeaseId lease) {
  Txn t;
  t.then.push_back(Op::put(key, value, lease));
  BERTH_RETURN_IF_ERROR(validateTxn(t));
  auto res = http_->post("/v3/kv/put", opJson(t.then[0])["request_put"].dump());
  if (!res) return res.error().context("put " + quote(key));
  return headerRevision(*res);
}

Result<TxnResult> EtcdStore::txn(const Txn& txn) {
  BERTH_RETURN_IF_ERROR(validateTxn(txn));
  json req{{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const Compare& c : txn.compares) req["compare"].push_back(compareJson(c));
  for (const Op& op : txn.then) req["success"].push_back(opJson(op));
  for (const Op& op : txn.otherwise) req["failure"].push_back(opJson(op));
  auto res = http_->post("/v3/kv/txn", req.dump());
  if (!res) return res.error().context("transaction");
  TxnResult out;
  out.succeeded = res->value("succeeded", false);
  out.revision = headerRevision(*res);
  if (auto it = res->find("responses"); it != res->end())
    for (const json& r : *it)
      if (r.contains("response_delete_range"))
        out.deleted += num(r["response_delete_range"], "deleted");
  return out;
}

Result<std::unique_ptr<Watch>> EtcdStore::watch(const std::string& prefix, Revision from) {
  BERTH_RETURN_IF_ERROR(validateKey(prefix, true));
  if (from < 0) return invalidArgument("watch " + quote(prefix) + ": negative revision");
  if (from == 0) {
    // Pin "the next change" now, so that nothing committed after watch() returns is missed
    // while the stream is being opened.
    RangeOptions one;
    one.limit = 1;
    auto now = range(prefix, one);
    if (!now) return now.error().context("watch " + quote(prefix));
    from = now->revision + 1;
  }
  return std::unique_ptr<Watch>(new EtcdWatch(*http_, prefix, from));
}

Result<Lease> EtcdStore::grantLease(std::chrono::seconds ttl) {
  if (ttl.count() < 1)
    return invalidArgument("grant lease: TTL must be at least 1 second, not " +
                           std::to_string(ttl.count()));
  auto res = http_->post("/v3/lease/grant", json{{"TTL", std::to_string(ttl.count())}}.dump());
  if (!res) return res.error().context("grant lease");
  if (res->contains("error") && (*res)["error"].is_string() &&
      !(*res)["error"].get<std::string>().empty())
    return internalError("grant lease: " + (*res)["error"].get<std::string>());
  return Lease{num(*res, "ID"), std::chrono::seconds(num(*res, "TTL"))};
}

Result<std::chrono::seconds> EtcdStore::keepAlive(LeaseId id) {
  // A stream endpoint; one request in the body gives one answer, then the stream ends.
  auto res = http_->post("/v3/lease/keepalive", json{{"ID", std::to_string(id)}}.dump());
  if (!res) return res.error().context("keep lease " + std::to_string(id) + " alive");
  int64_t ttl = num(res->value("result", json::object()), "TTL");
  if (ttl <= 0)
    return notFound("keep lease " + std::to_string(id) + " alive: it expired or was revoked");
  return std::chrono::seconds(ttl);
}

Status EtcdStore::revokeLease(LeaseId id) {
  auto res = http_->post("/v3/lease/revoke", json{{"ID", std::to_string(id)}}.dump());
  if (!res) return res.error().context("revoke lease " + std::to_string(id));
  return okStatus();
}

Status EtcdStore::compact(Revision revision) {
  auto res = http_->post("/v3/kv/compaction", json{{"revision", std::to_string(revision)}}.dump());
  if (!res) return res.error().context("compact to revision " + std::to_string(revision));
  return okStatus();
}

}  // namespace berth::store
