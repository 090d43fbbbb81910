// Load generator for bench/store.sh: N clients, each with one request in flight, doing
// durable puts or prefix ranges for a fixed time against
//   embedded  berth's EmbeddedStore (SQLite tables + operation log) in a file,
//   etcd      berth's EtcdStore against an etcd,
//   gateway   the same etcd called directly through its JSON gateway with the thinnest
//             client we can write (raw HTTP/1.1 on keep-alive sockets): the reference.
// Prints one line: backend op clients ops/s p50_us p99_us.
//
// Usage: store_load BACKEND put|range CLIENTS SECONDS TARGET
//   TARGET is the database file (embedded) or HOST:PORT of etcd (etcd, gateway).

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "etcd_gateway.h"
#include "store/embedded_store.h"
#include "store/etcd_http.h"
#include "store/etcd_store.h"

namespace {

using berth::bench::RawGateway;
using berth::store::Store;
using Clock = std::chrono::steady_clock;

constexpr int kRangeKeys = 10;  // a range reads this many keys of 256 bytes
const std::string kValue(256, 'v');

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "store_load: %s\n", m.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) die("usage: store_load embedded|etcd|gateway put|range CLIENTS SECONDS TARGET");
  const std::string backend = argv[1], op = argv[2], target = argv[5];
  const int clients = std::stoi(argv[3]);
  const auto duration = std::chrono::seconds(std::stoi(argv[4]));
  if (op != "put" && op != "range") die("op must be put or range");
  // Every run writes under a prefix of its own, so runs do not read each other's keys.
  const std::string prefix =
      "/bench/" + std::to_string(::getpid()) + "/" + op + std::to_string(clients) + "/";

  std::unique_ptr<Store> store;
  if (backend == "embedded") {
    auto s = berth::store::EmbeddedStore::open(target);
    if (!s) die(s.error().message());
    store = std::move(*s);
  } else if (backend == "etcd" || backend == "gateway") {
    berth::store::EtcdOptions o;
    o.endpoint = target;
    auto s = berth::store::EtcdStore::open(o);
    if (!s) die(s.error().message());
    store = std::move(*s);
  } else {
    die("unknown backend " + backend);
  }
  if (op == "range")
    for (int i = 0; i < kRangeKeys; ++i)
      if (auto r = store->put(prefix + std::to_string(i), kValue); !r) die(r.error().message());

  const std::string b64_prefix = berth::base64Encode(prefix);
  const std::string b64_end = berth::base64Encode(berth::store::prefixEnd(prefix));
  const std::string b64_value = berth::base64Encode(kValue);

  std::atomic<bool> stop{false};
  std::vector<std::vector<uint32_t>> latencies(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      std::unique_ptr<RawGateway> raw;
      if (backend == "gateway") raw = std::make_unique<RawGateway>(target);
      auto& lat = latencies[static_cast<size_t>(c)];
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        std::string key = prefix + std::to_string(c) + "/" + std::to_string(i % 1000);
        auto t0 = Clock::now();
        if (raw && op == "put") {
          raw->post("/v3/kv/put", "{\"key\":\"" + berth::base64Encode(key) + "\",\"value\":\"" +
                                      b64_value + "\"}");
        } else if (raw) {
          raw->post("/v3/kv/range",
                    "{\"key\":\"" + b64_prefix + "\",\"range_end\":\"" + b64_end + "\"}");
        } else if (op == "put") {
          if (auto r = store->put(key, kValue); !r) die(r.error().message());
        } else {
          auto r = store->range(prefix);
          if (!r) die(r.error().message());
          if (r->kvs.size() != kRangeKeys) die("range returned the wrong number of keys");
        }
        lat.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()));
      }
    });
  auto start = Clock::now();
  std::this_thread::sleep_for(duration);
  stop = true;
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<uint32_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0u : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  std::printf("%s %s %d %.0f %u %u\n", backend.c_str(), op.c_str(), clients, all.size() / seconds,
              pct(0.50), pct(0.99));
  return 0;
}
