// Credential lookup in webknossos-libs' order: per-location variables (longest key prefix first,
// '.', ':' and '-' as '_', upper-case), then AWS_ACCESS_KEY_ID, then the profile file.
#include "storage/s3_credentials.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "support/test_support.hpp"

using namespace wkfs;
using namespace wkfs::storage;

namespace {
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}
const StoreUrl kUrl = StoreUrl::parse("s3://s3.my-host.org:9000/wk-bucket/ds-1/color/1");
}  // namespace

TEST(S3Credentials, SuffixesAreLongestFirstWithPunctuationAsUnderscore) {
  EXPECT_EQ(credential_env_suffixes(kUrl),
            (std::vector<std::string>{"S3_MY_HOST_ORG_9000__WK_BUCKET__DS_1__COLOR__1",
                                      "S3_MY_HOST_ORG_9000__WK_BUCKET__DS_1__COLOR",
                                      "S3_MY_HOST_ORG_9000__WK_BUCKET__DS_1", "S3_MY_HOST_ORG_9000__WK_BUCKET"}));
}

TEST(S3Credentials, LongestPerLocationVariableWins) {
  test::TempDir home;
  auto c = find_s3_credentials(kUrl,
                               env_of({{"AWS_ACCESS_KEY_ID__S3_MY_HOST_ORG_9000__WK_BUCKET", "bucket-key"},
                                       {"AWS_SECRET_ACCESS_KEY__S3_MY_HOST_ORG_9000__WK_BUCKET", "bucket-secret"},
                                       {"AWS_ACCESS_KEY_ID__S3_MY_HOST_ORG_9000__WK_BUCKET__DS_1", "test:tester"},
                                       {"AWS_SECRET_ACCESS_KEY__S3_MY_HOST_ORG_9000__WK_BUCKET__DS_1", "testing"},
                                       {"AWS_ACCESS_KEY_ID", "generic"},
                                       {"AWS_SECRET_ACCESS_KEY", "generic-secret"}}),
                               home.path());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key, "test:tester");
  EXPECT_EQ(c->secret_key, "testing");
  EXPECT_EQ(c->source, "AWS_ACCESS_KEY_ID__S3_MY_HOST_ORG_9000__WK_BUCKET__DS_1");
}

TEST(S3Credentials, APerLocationIdWithoutItsSecretIsSkipped) {
  test::TempDir home;
  auto c = find_s3_credentials(kUrl,
                               env_of({{"AWS_ACCESS_KEY_ID__S3_MY_HOST_ORG_9000__WK_BUCKET__DS_1", "lonely"},
                                       {"AWS_ACCESS_KEY_ID", "generic"},
                                       {"AWS_SECRET_ACCESS_KEY", "generic-secret"},
                                       {"AWS_SESSION_TOKEN", "tok"}}),
                               home.path());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key, "generic");
  EXPECT_EQ(c->session_token, "tok");
}

TEST(S3Credentials, ProfileFileDefaultAndNamedProfile) {
  test::TempDir home;
  std::filesystem::create_directories(home / ".aws");
  std::ofstream(home / ".aws/credentials") << "# comment\n[default]\naws_access_key_id = DEF\naws_secret_access_key = "
                                              "defsecret\n\n[swift]\naws_access_key_id=test:tester\n"
                                              "aws_secret_access_key=testing\naws_session_token = t0k\n";
  auto d = find_s3_credentials(kUrl, env_of({}), home.path());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->access_key, "DEF");
  EXPECT_EQ(d->secret_key, "defsecret");
  auto s = find_s3_credentials(kUrl, env_of({{"AWS_PROFILE", "swift"}}), home.path());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->access_key, "test:tester");
  EXPECT_EQ(s->session_token, "t0k");
  EXPECT_FALSE(find_s3_credentials(kUrl, env_of({{"AWS_PROFILE", "missing"}}), home.path()));
}

TEST(S3Credentials, NoneFoundMeansUnsigned) {
  test::TempDir home;
  EXPECT_FALSE(find_s3_credentials(kUrl, env_of({}), home.path()));
}

TEST(S3Credentials, RegionFromEnvironmentElseUsEast1) {
  EXPECT_EQ(find_s3_region(env_of({})), "us-east-1");
  EXPECT_EQ(find_s3_region(env_of({{"AWS_DEFAULT_REGION", "eu-west-1"}})), "eu-west-1");
  EXPECT_EQ(find_s3_region(env_of({{"AWS_REGION", "eu-central-1"}, {"AWS_DEFAULT_REGION", "eu-west-1"}})),
            "eu-central-1");
}
