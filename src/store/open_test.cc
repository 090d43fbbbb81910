#include "store/open.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace berth::store {
namespace {

TEST(OpenStore, PicksTheImplementationFromTheAddress) {
  char tmpl[] = "/tmp/berth-open-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  {
    auto embedded = openStore(std::string("sqlite://") + tmpl + "/store.db");
    ASSERT_TRUE(embedded) << embedded.error().message();
    ASSERT_TRUE((*embedded)->put("/k", "v"));
    EXPECT_EQ((*(*embedded)->get("/k"))->value, "v");
  }
  std::filesystem::remove_all(tmpl);
  // Not contacted until used, so no etcd is needed to open one.
  EXPECT_TRUE(openStore("etcd://127.0.0.1:2379"));
}

TEST(OpenStore, RefusesWhatItCannotRead) {
  for (const char* bad : {"", "/var/lib/berth/store.db", "sqlite://relative.db", "etcd://",
                          "etcd://host", "consul://127.0.0.1:8500"}) {
    auto s = openStore(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument) << bad << ": " << s.error().message();
  }
}

}  // namespace
}  // namespace berth::store
