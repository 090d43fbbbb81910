#include "engine/image_users.h"

#include "sys/fs.h"

namespace berth::engine {

std::vector<std::string> imagesInUse(const std::string& root) {
  std::vector<std::string> out;
  std::string dir = root + "/containers";
  for (const auto& name : sys::listDir(dir).value_or({})) {
    if (auto id = sys::readFile(dir + "/" + name + "/image")) out.push_back(*id);
  }
  return out;
}

}  // namespace berth::engine
