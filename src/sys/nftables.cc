#include "sys/nftables.h"

#include <nftables/libnftables.h>

#include <memory>
#include <mutex>

namespace berth::sys {
namespace {

struct Ctx {
  std::mutex mu;
  nft_ctx* ctx = nullptr;
};

// One context for the process: libnftables caches the kernel's ruleset in it and parsing
// a script costs far more than the lock.
Ctx& context() {
  static Ctx* c = [] {
    auto* c = new Ctx;
    c->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
    if (c->ctx) {
      nft_ctx_buffer_output(c->ctx);
      nft_ctx_buffer_error(c->ctx);
    }
    return c;
  }();
  return *c;
}

std::string trimmed(const char* s) {
  std::string t = s ? s : "";
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

Result<std::string> run(std::string_view script, const std::string& what) {
  Ctx& c = context();
  if (!c.ctx) return internalError(what + ": libnftables has no context");
  std::lock_guard lock(c.mu);
  std::string buf(script);
  int rc = nft_run_cmd_from_buffer(c.ctx, buf.c_str());
  std::string out = trimmed(nft_ctx_get_output_buffer(c.ctx));
  std::string err = trimmed(nft_ctx_get_error_buffer(c.ctx));
  if (rc != 0) {
    if (err.find("No such file or directory") != std::string::npos)
      return notFound(what + ": " + err);
    return invalidArgument(what + ": " + (err.empty() ? "rejected" : err));
  }
  return out;
}

}  // namespace

Status nftApply(std::string_view script) {
  auto r = run(script, "apply nftables rules");
  if (!r) return r.error();
  return okStatus();
}

Result<std::string> nftList(std::string_view what) {
  return run("list " + std::string(what), "list " + std::string(what));
}

}  // namespace berth::sys
