// JSON bytes → the two container create bodies berthd decodes: the Docker API's
// (docker::createConfig, which ends in engine::validate) and the native API's
// (engine::configFromJson, then engine::validate). Bytes that are not JSON are discarded:
// nlohmann's parser is not ours to fuzz, the decoding of what it yields is.
//
// Beyond "never crashes", each config that is accepted must survive what the engine does
// with it: it persists toJson(config) and reads it back with configFromJson on restart,
// so that must give the same config, still valid.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "api/docker_create.h"
#include "engine/container_config.h"

namespace {

using berth::engine::ContainerConfig;
using nlohmann::json;

[[noreturn]] void fail(const std::string& what, const json& input) {
  std::fprintf(stderr, "%s\ninput: %s\n", what.c_str(),
               input.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  std::abort();
}

void checkPersists(const ContainerConfig& c, const json& input) {
  json saved = berth::engine::toJson(c);
  auto loaded = berth::engine::configFromJson(saved);
  if (!loaded.ok()) fail("reload saved config: " + loaded.error().message(), input);
  if (auto s = berth::engine::validate(*loaded); !s.ok())
    fail("reloaded config is invalid: " + s.error().message(), input);
  if (berth::engine::toJson(*loaded) != saved)
    fail(
        "reloaded config differs: " + berth::engine::toJson(*loaded).dump() + " vs " + saved.dump(),
        input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json j = json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;

  // ?name= arrives with or without docker's leading slash.
  for (const char* name : {"", "/web"}) {
    auto docker = berth::api::docker::createConfig(j, name);
    if (docker.ok()) checkPersists(*docker, j);
  }

  auto native = berth::engine::configFromJson(j);
  if (native.ok() && berth::engine::validate(*native).ok()) checkPersists(*native, j);
  return 0;
}
