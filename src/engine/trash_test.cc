#include "engine/trash.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "sys/fs.h"

namespace berth::engine {
namespace {

class TrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-trash-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)sys::removeAll(dir_); }

  // A small tree like a container's directory.
  std::string makeTree(const std::string& name) {
    std::string d = dir_ + "/containers/" + name;
    EXPECT_TRUE(sys::mkdirAll(d + "/upper/etc").ok());
    EXPECT_TRUE(sys::replaceFile(d + "/upper/etc/hosts", "127.0.0.1 localhost\n").ok());
    EXPECT_TRUE(sys::replaceFile(d + "/config.json", "{}").ok());
    return d;
  }

  std::string dir_;
};

TEST_F(TrashTest, APutDirectoryIsGoneAtOnceAndDeletedAfterwards) {
  auto trash = Trash::open(dir_ + "/trash");
  ASSERT_TRUE(trash.ok()) << trash.error().message();
  std::string a = makeTree("a");
  std::string b = makeTree("b");
  ASSERT_TRUE((*trash)->put(a).ok());
  ASSERT_TRUE((*trash)->put(b).ok());
  EXPECT_FALSE(sys::exists(a));
  EXPECT_FALSE(sys::exists(b));
  (*trash)->drain();
  auto left = sys::listDir(dir_ + "/trash");
  ASSERT_TRUE(left.ok()) << left.error().message();
  EXPECT_TRUE(left->empty()) << (*left)[0];
  // The same name again (a directory made anew at the old path) is no clash.
  a = makeTree("a");
  ASSERT_TRUE((*trash)->put(a).ok());
  (*trash)->drain();
  EXPECT_TRUE(sys::listDir(dir_ + "/trash")->empty());
}

TEST_F(TrashTest, AMissingPathIsNoErrorAndAnotherFilesystemIsOne) {
  auto trash = Trash::open(dir_ + "/trash");
  ASSERT_TRUE(trash.ok()) << trash.error().message();
  EXPECT_TRUE((*trash)->put(dir_ + "/containers/never-made").ok());
  // /proc is another filesystem: rename cannot move it, and nothing is touched.
  auto s = (*trash)->put("/proc/self");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("/proc/self"), std::string::npos) << s.error().message();
}

TEST_F(TrashTest, WhatAPreviousRunLeftIsDeletedByTheNextOpen) {
  std::string left = dir_ + "/trash/abc.0";
  ASSERT_TRUE(sys::mkdirAll(left + "/rootfs").ok());
  ASSERT_TRUE(sys::replaceFile(left + "/exit", "{}").ok());
  auto trash = Trash::open(dir_ + "/trash");
  ASSERT_TRUE(trash.ok()) << trash.error().message();
  (*trash)->drain();
  EXPECT_FALSE(sys::exists(left));
  EXPECT_TRUE(sys::isDirectory(dir_ + "/trash"));
}

}  // namespace
}  // namespace berth::engine
