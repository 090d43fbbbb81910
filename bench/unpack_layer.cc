// bench/unpack_layer FILE DIR: applies one layer tar into DIR with berth's layer applier,
// so that hyperfine can time it beside GNU tar on the same file (bench/image_load_save.sh).

#include <cstdio>

#include "image/layer.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: unpack_layer FILE DIR\n");
    return 2;
  }
  auto r = berth::image::applyLayerFile(argv[1], argv[2]);
  if (!r) {
    std::fprintf(stderr, "unpack_layer: %s\n", r.error().message().c_str());
    return 1;
  }
  return 0;
}
