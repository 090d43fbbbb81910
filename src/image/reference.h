#pragma once
// Image names as users write them: "busybox", "busybox:1.36", "localhost/app:v2",
// "docker.io/library/busybox:latest". Normalised to NAME:TAG with the tag defaulting to
// "latest" and Docker Hub's "docker.io/library/" prefix dropped, so that the names
// docker and podman print match ours.

#include <string>

#include "common/result.h"

namespace berth::image {

// Validates and normalises; an error names the offending part.
Result<std::string> normalizeName(const std::string& ref);
// True when `ref` looks like an image id or digest rather than a name
// ("sha256:…", or 4 to 64 lowercase hex digits).
bool looksLikeId(const std::string& ref);

}  // namespace berth::image
