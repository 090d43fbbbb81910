#pragma once
// berthd's native API (src/api/native_api.md) over the engine: request parsing, JSON
// shapes and streams. The engine does the work; these handlers translate.

#include "api/http.h"
#include "catalog/catalog.h"
#include "engine/engine.h"
#include "store/store.h"

namespace berth::api {

// `store` holds the configuration of `berth kv` (/v1/kv…); it outlives the router.
void addNativeRoutes(Router& router, engine::Engine& engine, store::Store& store);
// GET/PUT /v1/containers/{id}/archive (native_archive.cc).
void addArchiveRoutes(Router& router, engine::Engine& engine);
// /v1/images… (native_images.cc).
void addImages(Router& router, engine::Engine& engine);
// /v1/kv… over the Store (native_kv.cc).
void addKv(Router& router, store::Store& store);

// /v1/catalog… over the catalog's mirror (native_catalog.cc).
void addCatalog(Router& router, catalog::Catalog& catalog);

// Copies between a hijacked client connection (raw stdin in; frames out, or raw bytes
// with a tty) and a monitor-protocol connection (src/monitor/protocol.h), until the
// output ends. Returns the exit code the monitor reported, if it did.
std::optional<int> bridge(int client, int monitor, bool tty, bool want_stdin, bool want_stdout,
                          bool want_stderr);

}  // namespace berth::api
