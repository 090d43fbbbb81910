#include "scheduler/model.h"

#include <gtest/gtest.h>

namespace berth::scheduler {
namespace {

TEST(ModelTest, ParsesEveryOperatorAndPrintsItBack) {
  for (const char* text : {"node.labels.zone==east", "node.labels.zone!=east",
                           "node.labels.zone in (east,west)", "node.labels.disk not in (hdd)",
                           "node.labels.gpu exists", "node.role==manager", "node.hostname!=a"}) {
    auto c = parseConstraint(text);
    ASSERT_TRUE(c.ok()) << text << ": " << c.error().message();
    EXPECT_EQ(toString(*c), text);
  }
  auto spaced = parseConstraint("  node.labels.zone in ( east , west )  ");
  ASSERT_TRUE(spaced.ok());
  EXPECT_EQ(spaced->op, ConstraintOp::kIn);
  EXPECT_EQ(spaced->values, (std::vector<std::string>{"east", "west"}));
  EXPECT_EQ(parseConstraint("node.name==a")->key, "node.hostname");
}

TEST(ModelTest, RefusesMalformedConstraintsSayingWhy) {
  auto no_op = parseConstraint("node.labels.zone east");
  ASSERT_FALSE(no_op.ok());
  EXPECT_EQ(no_op.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(no_op.error().message().find("no operator"), std::string::npos);
  auto bad_key = parseConstraint("zone==east");
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.error().message().find("unknown key 'zone'"), std::string::npos);
  EXPECT_FALSE(parseConstraint("node.labels.zone==").ok());
  EXPECT_FALSE(parseConstraint("node.labels.zone in east").ok());
  EXPECT_FALSE(parseConstraint("node.labels.zone in (a,,b)").ok());
}

TEST(ModelTest, SelectorsPickByServiceLabelOrId) {
  TaskSpec t;
  t.service = "web";
  t.labels["tier"] = "front";
  EXPECT_TRUE(picks({Selector::Kind::kService, "web", ""}, t, "web.1"));
  EXPECT_FALSE(picks({Selector::Kind::kService, "db", ""}, t, "web.1"));
  EXPECT_TRUE(picks({Selector::Kind::kLabel, "tier", "front"}, t, "web.1"));
  EXPECT_FALSE(picks({Selector::Kind::kLabel, "tier", "back"}, t, "web.1"));
  EXPECT_TRUE(picks({Selector::Kind::kTask, "web.1", ""}, t, "web.1"));
  EXPECT_FALSE(picks({Selector::Kind::kTask, "web.2", ""}, t, "web.1"));
}

}  // namespace
}  // namespace berth::scheduler
