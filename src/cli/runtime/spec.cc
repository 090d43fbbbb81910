// spec: write a safe default config.json.

#include <unistd.h>

#include "cli/runtime/verbs.h"
#include "common/strings.h"
#include "runtime/default_spec.h"
#include "sys/fs.h"

namespace berth::cli {

void addSpec(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("spec", "write a default config.json for a new bundle");
  auto bundle = std::make_shared<std::string>(".");
  cmd->add_option("-b,--bundle", *bundle, "where to write config.json");
  cmd->add_flag("--rootless")->group("");
  cmd->callback([&ctx, bundle] {
    std::string path = Context::absolute(*bundle) + "/config.json";
    if (sys::exists(path)) {
      return ctx.fail(
          alreadyExists("write " + quote(path) + ": it exists already; remove it first"));
    }
    if (auto s = sys::writeFileAtomic(path, runtime::defaultSpec().dump(2) + "\n"); !s)
      ctx.fail(s.error());
  });
}

}  // namespace berth::cli
