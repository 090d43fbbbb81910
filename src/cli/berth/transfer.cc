// load, save, import: images in and out of the store.

#include <unistd.h>

#include <cstdio>

#include "cli/berth/verbs.h"
#include "common/progress.h"
#include "image/archive.h"
#include "image/import.h"

namespace berth::cli {

void addTransferVerbs(CLI::App& app, Context& ctx) {
  auto* load = app.add_subcommand("load", "load images from a docker-archive or OCI archive");
  auto input = std::make_shared<std::string>("-");
  auto quiet = std::make_shared<bool>(false);
  load->add_option("-i,--input", *input, "archive to read (default: stdin)");
  load->add_flag("-q,--quiet", *quiet, "print nothing but errors");
  load->callback([&ctx, input, quiet] {
    if (*input == "-" && ::isatty(0))
      return ctx.fail(invalidArgument("load: give an archive with -i FILE or on stdin"));
    if (*quiet) progress::configure(progress::Style::kNone, 2);
    auto store = ctx.images();
    if (!store) return;
    auto loaded = image::loadArchive(*store, *input);
    if (!loaded) return ctx.fail(loaded.error());

    if (*quiet) return;
    for (const auto& img : *loaded) {
      if (img.tags.empty()) std::printf("Loaded image ID: %s\n", img.id.str().c_str());
      for (const auto& t : img.tags) std::printf("Loaded image: %s\n", t.c_str());
    }
  });

  auto* save = app.add_subcommand("save", "save images to a docker-archive (or OCI archive)");
  auto output = std::make_shared<std::string>("-");
  auto format = std::make_shared<std::string>("docker-archive");
  auto refs = std::make_shared<std::vector<std::string>>();
  save->add_option("-o,--output", *output, "archive to write (default: stdout)");
  save->add_option("--format", *format, "docker-archive or oci")
      ->check(CLI::IsMember({"docker-archive", "oci", "oci-archive"}));
  save->add_option("images", *refs, "images to save")->required();
  save->callback([&ctx, output, format, refs] {
    if (*output == "-" && ::isatty(1))
      return ctx.fail(
          invalidArgument("save: refusing to write an archive to a terminal; use -o FILE"));
    auto store = ctx.images();
    if (!store) return;
    auto fmt =
        *format == "docker-archive" ? image::ArchiveFormat::kDocker : image::ArchiveFormat::kOci;
    if (auto s = image::saveArchive(*store, *refs, *output, fmt); !s) {
      if (*output != "-") ::unlink(output->c_str());
      ctx.fail(s.error());
    }
  });

  auto* imp = app.add_subcommand("import", "make an image from a root filesystem tarball");
  auto file = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  auto changes = std::make_shared<std::vector<std::string>>();
  imp->add_option("file", *file, "tarball (or - for stdin)")->required();
  imp->add_option("name", *name, "NAME[:TAG] for the image");
  imp->add_option("-c,--change", *changes, "Dockerfile instruction for the config, e.g. CMD=sh")
      ->allow_extra_args(false);
  imp->callback([&ctx, file, name, changes] {
    auto store = ctx.images();
    if (!store) return;
    auto img = image::importRootfs(*store, *file, *name, *changes);
    if (!img) return ctx.fail(img.error());

    std::printf("%s\n", img->id.str().c_str());
  });
}

}  // namespace berth::cli
