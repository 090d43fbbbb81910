#pragma once
// Which images containers use, for `berth rmi` (which still opens the image store directly)
// to refuse removing them. Each container's directory <root>/containers/<id>/ holds a file
// `image` with the hex id of its image, written at create and gone with the container.

#include <string>
#include <vector>

namespace berth::engine {

// Ids (hex) of the images that containers under `root` use.
std::vector<std::string> imagesInUse(const std::string& root);

}  // namespace berth::engine
