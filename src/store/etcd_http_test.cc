// The etcd client's pieces that need no etcd: base64 (the gateway's encoding of keys and
// values) and the mapping of etcd's errors to ours.

#include "store/etcd_http.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/base64.h"
#include "store/store.h"

namespace berth::store::etcd {
namespace {

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (size_t n = 0; n < 8; ++n) {
    auto back = base64Decode(base64Encode(all.substr(0, n)));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, all.substr(0, n));
  }
  EXPECT_EQ(*base64Decode(base64Encode(all)), all);
  EXPECT_EQ(base64Encode("a/x"), "YS94");
  EXPECT_EQ(base64Encode("hello"), "aGVsbG8=");
  auto bad = base64Decode("YS*4");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

TEST(EtcdError, MapsGrpcCodesAndKeepsCompactedRecognisable) {
  using nlohmann::json;
  auto compacted = etcdError(
      json{{"code", 11}, {"message", "etcdserver: mvcc: required revision has been compacted"}},
      400);
  EXPECT_TRUE(isCompacted(compacted));
  EXPECT_EQ(etcdError(json{{"code", 11},
                           {"message",
                            "mvcc: required revision is a future "
                            "revision"}},
                      400)
                .code(),
            ErrorCode::kInvalidArgument);
  auto lease =
      etcdError(json{{"code", 5}, {"message", "etcdserver: requested lease not found"}}, 404);
  EXPECT_EQ(lease.code(), ErrorCode::kNotFound);
  EXPECT_EQ(lease.message(), "requested lease not found");
  EXPECT_EQ(etcdError(json{{"code", 14}, {"message", "no leader"}}, 503).code(),
            ErrorCode::kUnavailable);
}

TEST(HttpPool, RefusesAMalformedEndpoint) {
  for (const char* bad : {"", "localhost", "127.0.0.1:", "127.0.0.1:99999", ":2379"}) {
    auto p = HttpPool::make(bad, std::chrono::seconds(1));
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(HttpPool::make("http://127.0.0.1:2379/", std::chrono::seconds(1)));
}

TEST(HttpPool, GivesUpWithAClearStatusWhenEtcdIsUnreachable) {
  // Port 1 on loopback: nothing listens there, so every connect is refused.
  auto p = HttpPool::make("127.0.0.1:1", std::chrono::milliseconds(100));
  ASSERT_TRUE(p);
  auto r = (*p)->post("/v3/kv/range", "{}");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message().find("127.0.0.1:1"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("refused"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace berth::store::etcd
