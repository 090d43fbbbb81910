#pragma once
// An in-memory DataSource for the template tests: keys, services, a count of reads, and an
// error every read can be made to return.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/berth/template.h"

namespace berth::cli::tmpl {

class FakeSource : public DataSource {
 public:
  std::map<std::string, std::string> kv;
  std::map<std::string, std::vector<ServiceInstance>> services;
  int reads = 0;
  std::optional<Error> fail;  // every read fails with it

  Result<std::optional<std::string>> key(const std::string& key) override {
    ++reads;
    if (fail) return *fail;
    auto it = kv.find(key);
    if (it == kv.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Result<std::vector<KeyValue>> list(const std::string& prefix) override {
    ++reads;
    if (fail) return *fail;
    std::vector<KeyValue> out;
    for (const auto& [k, v] : kv)
      if (k.starts_with(prefix)) out.push_back({k, v});
    return out;
  }
  Result<std::vector<ServiceInstance>> service(const std::string& name) override {
    ++reads;
    if (fail) return *fail;
    return services[name];
  }
};

}  // namespace berth::cli::tmpl
