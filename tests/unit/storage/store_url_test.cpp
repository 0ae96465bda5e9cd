// StoreUrl against the forms webknossos-libs writes into datasource-properties.json
// (utils.py dump_path: s3 endpoint without scheme, read back as https) and garbage it must refuse.
#include "storage/store_url.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace wkfs;
using namespace wkfs::storage;

TEST(StoreUrl, S3WithPortIsReadOverHttpsPathStyle) {
  StoreUrl u = StoreUrl::parse("s3://127.0.0.1:9443/wk-data/ds/color/1");
  EXPECT_EQ(u.scheme(), StoreUrl::Scheme::S3);
  EXPECT_EQ(u.authority(), "127.0.0.1:9443");
  EXPECT_EQ(u.host(), "127.0.0.1");
  EXPECT_EQ(u.port(), 9443);
  EXPECT_EQ(u.bucket(), "wk-data");
  EXPECT_EQ(u.key(), "ds/color/1");
  EXPECT_EQ(u.endpoint(), "https://127.0.0.1:9443");
  EXPECT_EQ(u.request_url(), "https://127.0.0.1:9443/wk-data/ds/color/1");
  EXPECT_EQ(u.to_string(), "s3://127.0.0.1:9443/wk-data/ds/color/1");
}

TEST(StoreUrl, S3WithoutPortAndBucketOnly) {
  StoreUrl u = StoreUrl::parse("s3://s3.eu-central-1.amazonaws.com/bucket");
  EXPECT_EQ(u.port(), 0);
  EXPECT_EQ(u.bucket(), "bucket");
  EXPECT_EQ(u.key(), "");
  EXPECT_EQ(u.endpoint(), "https://s3.eu-central-1.amazonaws.com");
  EXPECT_EQ(u.to_string(), "s3://s3.eu-central-1.amazonaws.com/bucket");
  EXPECT_EQ(u.join("ds/color").request_url(), "https://s3.eu-central-1.amazonaws.com/bucket/ds/color");
}

TEST(StoreUrl, HttpAndHttpsKeepTheirScheme) {
  StoreUrl h = StoreUrl::parse("http://localhost:8000/data/ds/color/1/");
  EXPECT_EQ(h.scheme(), StoreUrl::Scheme::Http);
  EXPECT_EQ(h.key(), "data/ds/color/1");
  EXPECT_EQ(h.endpoint(), "http://localhost:8000");
  EXPECT_EQ(h.to_string(), "http://localhost:8000/data/ds/color/1");
  StoreUrl s = StoreUrl::parse("https://data-humerus.webknossos.org/data/zarr/Demo/color/1");
  EXPECT_EQ(s.scheme(), StoreUrl::Scheme::Https);
  EXPECT_EQ(s.bucket(), "");
  EXPECT_EQ(s.key(), "data/zarr/Demo/color/1");
}

TEST(StoreUrl, KeysJoinWithSlashAndAreEncodedOnTheWire) {
  StoreUrl u = StoreUrl::parse("s3://host:9000/b/my%20ds");
  EXPECT_EQ(u.key(), "my ds");
  EXPECT_EQ(u.join("color/1/zarr.json").key(), "my ds/color/1/zarr.json");
  EXPECT_EQ(u.join("/c/0/").key(), "my ds/c/0");
  EXPECT_EQ(u.join("a+b/ä").request_url(), "https://host:9000/b/my%20ds/a%2Bb/%C3%A4");
  EXPECT_EQ(u.to_string(), "s3://host:9000/b/my%20ds");
  EXPECT_EQ(StoreUrl::parse(u.to_string()), u);
  EXPECT_EQ(join_key("", "a"), "a");
  EXPECT_EQ(join_key("a", ""), "a");
  EXPECT_EQ(join_key("a", "b/c"), "a/b/c");
}

TEST(StoreUrl, IsUrlTellsUrlsFromLocalPaths) {
  EXPECT_TRUE(StoreUrl::is_url("s3://h/b"));
  EXPECT_TRUE(StoreUrl::is_url("https://h/x"));
  EXPECT_TRUE(StoreUrl::is_url("http://h/x"));
  EXPECT_FALSE(StoreUrl::is_url("../other_ds/color/1"));
  EXPECT_FALSE(StoreUrl::is_url("/abs/path"));
  EXPECT_FALSE(StoreUrl::is_url("gs://bucket/x"));
}

TEST(StoreUrl, GarbageIsRefusedWithTheUrlInTheMessage) {
  for (const char* bad : {"ftp://host/x", "s3://", "s3://host", "s3://host/", "https:///path", "https://host:0/x",
                          "https://host:99999/x", "https://host:abc/x", "https://user:pw@host/x", "https://host/a?b=c",
                          "https://host/a#frag", "https://host/a//b", "https://host/a/../b", "https://host/./a",
                          "s3://host/bu%ket/x", "https://ho st/x", "https://host/a%2", "https://host/a%zz",
                          "s3://host:9000/bucket/a\nb", "https://host/a%00b", "s3://h/b!d/x", "relative/path"}) {
    try {
      StoreUrl::parse(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument) << bad;
      EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(StoreUrl::parse("https://host/a").join("../b"), Error);
  EXPECT_THROW(StoreUrl::parse("https://host/a").join("b//c"), Error);
}
