#include "engine/container_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <set>
#include <thread>

#include "sys/fs.h"

namespace berth::engine {
namespace {

class ContainerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-store-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)sys::removeAll(dir_); }
  std::string db() const { return dir_ + "/engine.db"; }

  static Container named(const std::string& id, const std::string& name) {
    Container c;
    c.id = id;
    c.name = name;
    c.config.image = "busybox";
    return c;
  }

  std::string dir_;
};

TEST_F(ContainerStoreTest, ChangesMadeTogetherAreAllKeptAndATakenNameFailsAlone) {
  constexpr int kWriters = 16;
  std::vector<Status> results(kWriters, okStatus());
  {
    auto store = ContainerStore::open(db());
    ASSERT_TRUE(store.ok()) << store.error().message();
    std::vector<std::thread> threads;
    // Writers 0 and 1 want the same name: one of them must be refused, and only it.
    for (int i = 0; i < kWriters; ++i) {
      threads.emplace_back([&, i] {
        std::string name = i < 2 ? "shared" : "c" + std::to_string(i);
        results[i] = (*store)->insert(named("id" + std::to_string(i), name));
      });
    }
    for (auto& t : threads) t.join();
  }
  int refused = 0;
  for (int i = 0; i < kWriters; ++i) {
    if (results[i]) continue;
    EXPECT_EQ(results[i].error().code(), ErrorCode::kAlreadyExists);
    EXPECT_LT(i, 2) << results[i].error().message();
    ++refused;
  }
  EXPECT_EQ(refused, 1);

  // What was acknowledged is on disk: a new connection sees exactly those records.
  auto reopened = ContainerStore::open(db());
  ASSERT_TRUE(reopened.ok()) << reopened.error().message();
  auto all = (*reopened)->loadAll();
  ASSERT_TRUE(all.ok()) << all.error().message();
  std::set<std::string> ids;
  for (const auto& c : *all) ids.insert(c.id);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kWriters - 1));
  for (int i = 2; i < kWriters; ++i) EXPECT_TRUE(ids.count("id" + std::to_string(i))) << i;
  EXPECT_EQ(ids.count("id0") + ids.count("id1"), 1u);
}

TEST_F(ContainerStoreTest, UpdatesAndRemovalsFromManyThreadsLandInOrderPerContainer) {
  auto store = ContainerStore::open(db());
  ASSERT_TRUE(store.ok()) << store.error().message();
  constexpr int kContainers = 8;
  std::vector<std::thread> threads;
  for (int i = 0; i < kContainers; ++i) {
    threads.emplace_back([&, i] {
      Container c = named("id" + std::to_string(i), "c" + std::to_string(i));
      ASSERT_TRUE((*store)->insert(c).ok());
      for (int round = 1; round <= 5; ++round) {
        c.state.restart_count = round;
        ASSERT_TRUE((*store)->update(c).ok());
      }
      if (i % 2 == 1) {
        ASSERT_TRUE((*store)->remove(c.id).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto all = (*store)->loadAll();
  ASSERT_TRUE(all.ok()) << all.error().message();
  ASSERT_EQ(all->size(), static_cast<size_t>(kContainers / 2));
  for (const auto& c : *all) {
    EXPECT_EQ(c.state.restart_count, 5) << c.id;
    EXPECT_EQ((c.id.back() - '0') % 2, 0) << c.id;
  }
}

}  // namespace
}  // namespace berth::engine
