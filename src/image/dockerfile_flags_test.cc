#include "image/dockerfile_flags.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

std::string mountError(const std::string& spec) {
  auto m = parseRunMount(spec);
  return m.ok() ? "parsed without error" : m.error().message();
}

TEST(RunMount, CacheTakesTheReferenceDefaults) {
  auto m = parseRunMount("type=cache,target=/root/.cache");
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->type, MountType::kCache);
  EXPECT_EQ(m->target, "/root/.cache");
  EXPECT_EQ(m->id, "/root/.cache");  // the id defaults to the target
  EXPECT_EQ(m->sharing, CacheSharing::kShared);
  EXPECT_TRUE(m->read_write);
  EXPECT_EQ(m->mode, 0755u);

  m = parseRunMount("type=cache,dst=/c,id=pip,sharing=locked,ro,mode=0700,uid=1000,gid=100");
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->target, "/c");
  EXPECT_EQ(m->id, "pip");
  EXPECT_EQ(m->sharing, CacheSharing::kLocked);
  EXPECT_FALSE(m->read_write);
  EXPECT_EQ(m->mode, 0700u);
  EXPECT_EQ(m->uid, 1000u);
  EXPECT_EQ(m->gid, 100u);
}

TEST(RunMount, BindIsTheDefaultTypeAndReadOnly) {
  auto m = parseRunMount("target=/src,from=build,source=/out");
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->type, MountType::kBind);
  EXPECT_EQ(m->from, "build");
  EXPECT_EQ(m->source, "/out");
  EXPECT_FALSE(m->read_write);
  m = parseRunMount("type=bind,destination=/src,src=.,readwrite=true");
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->target, "/src");
  EXPECT_EQ(m->source, ".");
  EXPECT_TRUE(m->read_write);
}

TEST(RunMount, TmpfsAndSecrets) {
  auto t = parseRunMount("type=tmpfs,target=/scratch,size=64m");
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->size, 64u << 20);

  auto s = parseRunMount("type=secret,id=token");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->target, "/run/secrets/token");
  EXPECT_EQ(s->mode, 0400u);
  EXPECT_FALSE(s->required);
  s = parseRunMount("type=secret,target=/etc/npmrc,required");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->id, "npmrc");
  EXPECT_TRUE(s->required);
  s = parseRunMount("type=secret,id=token,env=TOKEN");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->env, "TOKEN");
  EXPECT_EQ(s->target, "");  // only the variable
}

TEST(RunMount, ErrorsNameTheSpecAndTheKey) {
  EXPECT_EQ(mountError("type=cache,target=/c,sharing=sometimes"),
            "--mount 'type=cache,target=/c,sharing=sometimes': sharing must be shared, private "
            "or locked");
  EXPECT_EQ(mountError("type=cache"), "--mount 'type=cache': the mount needs target=PATH");
  EXPECT_EQ(mountError("type=tmpfs,target=/t,rw"),
            "--mount 'type=tmpfs,target=/t,rw': unknown option 'rw' for this mount type");
  EXPECT_EQ(mountError("type=volume,target=/v"),
            "--mount 'type=volume,target=/v': unknown mount type 'volume' (use bind, cache, "
            "tmpfs or secret)");
  EXPECT_EQ(mountError("target"), "--mount 'target': 'target' needs a value (target=VALUE)");
  EXPECT_EQ(mountError("type=bind,target=/a,target=/b"),
            "--mount 'type=bind,target=/a,target=/b': 'target' given twice");
  EXPECT_EQ(mountError("type=secret"),
            "--mount 'type=secret': a secret mount needs id=ID (or a target to take it from)");
  EXPECT_EQ(parseRunMount("type=ssh").error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(parseRunMount("type=cache,target=/c,from=build").error().code(),
            ErrorCode::kUnsupported);
  EXPECT_NE(mountError("type=cache,target=/c,uid=me").find("uid must be a number"),
            std::string::npos);
}

TEST(Chmod, OctalOnly) {
  EXPECT_EQ(*parseChmod("755"), 0755u);
  EXPECT_EQ(*parseChmod("0640"), 0640u);
  EXPECT_EQ(*parseChmod("4755"), 04755u);
  EXPECT_EQ(parseChmod("u+x").error().message(),
            "mode 'u+x': use an octal mode such as 755 or 0644");
  EXPECT_FALSE(parseChmod("").ok());
  EXPECT_FALSE(parseChmod("8").ok());
  EXPECT_FALSE(parseChmod("17777").ok());
}

}  // namespace
}  // namespace berth::image
