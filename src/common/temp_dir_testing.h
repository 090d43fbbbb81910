#pragma once
// For tests: a fresh directory under /tmp, removed with everything in it on destruction.

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace berth::testing {

class TempDir {
 public:
  // /tmp/<prefix>-XXXXXX; path() is empty if it could not be made.
  explicit TempDir(const std::string& prefix = "berth-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace berth::testing
