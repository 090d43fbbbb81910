// The embedded store's persisted layout across versions: a store written before the
// operation log (schema 1) opens with its data and is migrated; a store from a newer berth
// is refused with a clear error, untouched.

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/temp_dir_testing.h"
#include "image/sqlite.h"
#include "store/embedded_store.h"

namespace berth::store {
namespace {

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  // A store as berth wrote it with schema 1: one key at revision 1.
  void writeSchemaOne(int64_t schema) {
    auto db = image::Db::open(path_);
    ASSERT_TRUE(db) << db.error().message();
    for (const char* sql : {
             "CREATE TABLE store_meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
             "CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL, create_rev INTEGER NOT "
             "NULL, mod_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT "
             "NULL) WITHOUT ROWID",
             "CREATE TABLE events(rev INTEGER NOT NULL, seq INTEGER NOT NULL, key TEXT NOT "
             "NULL, type INTEGER NOT NULL, value TEXT NOT NULL, create_rev INTEGER NOT NULL, "
             "version INTEGER NOT NULL, lease INTEGER NOT NULL, prev_rev INTEGER NOT NULL, "
             "PRIMARY KEY(rev, seq)) WITHOUT ROWID",
             "CREATE TABLE leases(id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL)",
             "INSERT INTO store_meta VALUES('revision', 1), ('compacted', 0), "
             "('lease_counter', 0)",
             "INSERT INTO kv VALUES('/berth/v1/kv/old', 'kept', 1, 1, 1, 0)",
             "INSERT INTO events VALUES(1, 0, '/berth/v1/kv/old', 0, 'kept', 1, 1, 0, 0)",
         })
      ASSERT_TRUE((*db)->exec(sql)) << sql;
    ASSERT_TRUE((*db)->exec("INSERT INTO store_meta VALUES('schema', ?)", {schema}));
  }

  berth::testing::TempDir dir_{"berth-schema"};
  const std::string path_ = dir_.path() + "/store.db";
};

TEST_F(SchemaTest, AStoreFromBeforeTheLogOpensWithItsDataAndIsMigrated) {
  writeSchemaOne(1);
  {
    auto store = EmbeddedStore::open(path_);
    ASSERT_TRUE(store) << store.error().message();
    auto kv = (*store)->get("/berth/v1/kv/old");
    ASSERT_TRUE(kv && *kv);
    EXPECT_EQ((*kv)->value, "kept");
    auto rev = (*store)->put("/berth/v1/kv/new", "v");
    ASSERT_TRUE(rev);
    EXPECT_EQ(*rev, 2);
  }
  auto db = image::Db::open(path_);
  ASSERT_TRUE(db);
  auto rows = (*db)->query("SELECT value FROM store_meta WHERE name = 'schema'");
  ASSERT_TRUE(rows && rows->size() == 1);
  EXPECT_EQ(image::asInt((*rows)[0][0]), 2);
  // Reopened (after a clean close, which folded the log into the tables), the put is there.
  auto store = EmbeddedStore::open(path_);
  ASSERT_TRUE(store) << store.error().message();
  auto kv = (*store)->get("/berth/v1/kv/new");
  ASSERT_TRUE(kv && *kv);
  EXPECT_EQ((*kv)->value, "v");
}

TEST_F(SchemaTest, AStoreFromANewerBerthIsRefused) {
  writeSchemaOne(3);
  auto store = EmbeddedStore::open(path_);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(store.error().message().find("schema version 3 (this berth reads 2)"),
            std::string::npos)
      << store.error().message();
  auto db = image::Db::open(path_);
  ASSERT_TRUE(db);
  auto rows = (*db)->query("SELECT name FROM store_meta WHERE name LIKE 'log_%'");
  ASSERT_TRUE(rows);
  EXPECT_TRUE(rows->empty()) << "the newer store was changed";
}

}  // namespace
}  // namespace berth::store
