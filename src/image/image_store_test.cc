#include "image/image_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "sys/fs.h"

namespace berth::image {
namespace {

using nlohmann::json;

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-images-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    auto s = ImageStore::open(root_);
    ASSERT_TRUE(s.ok()) << s.error().message();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    (void)sys::removeAll(root_);
  }

  // Adds an image whose single layer has `layer` as content; returns it.
  ImageRecord addImage(const std::string& layer, const std::vector<std::string>& names) {
    auto l = store_->content().put(layer);
    EXPECT_TRUE(l.ok());
    json config = {{"architecture", "amd64"},
                   {"os", "linux"},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", {l->digest.str()}}}}};
    auto c = store_->content().put(config.dump());
    json manifest = {
        {"schemaVersion", 2},
        {"mediaType", media::kManifest},
        {"config", {{"mediaType", media::kConfig}, {"digest", c->digest.str()}, {"size", c->size}}},
        {"layers",
         {{{"mediaType", media::kLayer}, {"digest", l->digest.str()}, {"size", l->size}}}}};
    auto rec = store_->addImage(manifest.dump(), names);
    EXPECT_TRUE(rec.ok()) << rec.error().message();
    return *rec;
  }

  std::string root_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImageStoreTest, BlobsAreVerifiedOnWrite) {
  auto wrong = store_->content().put("hello", sha256Of("other"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("does not match its digest"), std::string::npos);
  EXPECT_FALSE(store_->content().has(sha256Of("hello")));
  auto ok = store_->content().put("hello", sha256Of("hello"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*store_->content().readVerified(ok->digest), "hello");
}

TEST_F(ImageStoreTest, CorruptBlobsAreDetectedOnRead) {
  auto b = store_->content().put("payload");
  ASSERT_TRUE(b.ok());
  std::string p = store_->content().path(b->digest);
  ::chmod(p.c_str(), 0644);
  ASSERT_TRUE(sys::writeFile(p, "tampered").ok());
  auto r = store_->content().readVerified(b->digest);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("is corrupt"), std::string::npos);
}

TEST_F(ImageStoreTest, NamesResolveAndMove) {
  ImageRecord a = addImage("layer-a", {"app:1"});
  ImageRecord b = addImage("layer-b", {"app:2"});
  EXPECT_EQ(store_->resolve("app:1")->id, a.id);
  EXPECT_EQ(store_->resolve(a.id.shortId())->id, a.id);
  EXPECT_EQ(store_->resolve(a.id.str())->id, a.id);
  ASSERT_TRUE(store_->tag("app:2", "app:1").ok());  // the name moves to b
  EXPECT_EQ(store_->resolve("app:1")->id, b.id);
  EXPECT_EQ(store_->resolve("nope").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->list()->size(), 2u);
}

TEST_F(ImageStoreTest, RmiUntagsThenDeletesAndGcFreesBlobs) {
  ImageRecord a = addImage("shared-layer", {"one:latest", "two:latest"});
  auto refused = store_->remove(a.id.str(), false);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("several names"), std::string::npos);
  auto r1 = store_->remove("one", false);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(*r1, std::vector<std::string>{"Untagged: one:latest"});
  auto gc0 = store_->gc();
  EXPECT_EQ(gc0->blobs_removed, 0u) << "the image still has a name: nothing to collect";
  auto r2 = store_->remove("two", false);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->back(), "Deleted: " + a.id.str());
  auto gc = store_->gc();
  ASSERT_TRUE(gc.ok());
  EXPECT_EQ(gc->blobs_removed, 3u);  // manifest, config, layer
  EXPECT_FALSE(store_->content().has(a.id));
}

TEST_F(ImageStoreTest, ImagesSurviveReopen) {
  ImageRecord a = addImage("persist", {"keep:me"});
  store_.reset();
  auto s = ImageStore::open(root_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->resolve("keep:me")->id, a.id);
}

TEST_F(ImageStoreTest, RefusesManifestsWithMissingBlobs) {
  json manifest = {{"schemaVersion", 2},
                   {"config", {{"digest", sha256Of("nothing").str()}}},
                   {"layers", json::array()}};
  auto r = store_->addImage(manifest.dump(), {"x:y"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("is not in the store"), std::string::npos);
  EXPECT_TRUE(store_->list()->empty());
}

}  // namespace
}  // namespace berth::image
