#include "network/links.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace berth::network {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(Links, DefinesDockersVariables) {
  LinkPeer p{"db",
             "10.88.0.5",
             {{5432, "tcp"}, {80, "tcp"}, {53, "udp"}},
             {"PATH=/bin", "POSTGRES_USER=app", "EMPTY="}};
  auto env = linkEnv("web", p);
  EXPECT_TRUE(has(env, "DB_NAME=/web/db"));
  EXPECT_TRUE(has(env, "DB_PORT=udp://10.88.0.5:53"));  // the lowest port
  EXPECT_TRUE(has(env, "DB_PORT_80_TCP=tcp://10.88.0.5:80"));
  EXPECT_TRUE(has(env, "DB_PORT_80_TCP_ADDR=10.88.0.5"));
  EXPECT_TRUE(has(env, "DB_PORT_80_TCP_PORT=80"));
  EXPECT_TRUE(has(env, "DB_PORT_80_TCP_PROTO=tcp"));
  EXPECT_TRUE(has(env, "DB_PORT_53_UDP_PROTO=udp"));
  EXPECT_TRUE(has(env, "DB_PORT_5432_TCP_ADDR=10.88.0.5"));
  EXPECT_TRUE(has(env, "DB_ENV_POSTGRES_USER=app"));
  EXPECT_TRUE(has(env, "DB_ENV_EMPTY="));
  EXPECT_FALSE(has(env, "DB_ENV_PATH=/bin"));
}

TEST(Links, AliasBecomesAVariablePrefix) {
  auto env = linkEnv("c", {"my-db.1", "10.0.0.2", {}, {}});
  ASSERT_EQ(env.size(), 1u);
  EXPECT_EQ(env[0], "MY_DB_1_NAME=/c/my-db.1");
}

}  // namespace
}  // namespace berth::network
