// open_store picks the store kind from the location as the library writes it.
#include "storage/open_store.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "storage/http_store.hpp"
#include "storage/local_store.hpp"
#include "storage/s3_store.hpp"
#include "support/test_support.hpp"

using namespace wkfs;
using namespace wkfs::storage;

TEST(OpenStore, KindFollowsTheLocation) {
  test::TempDir dir;
  StoreContext ctx{std::make_shared<HttpClient>(), ""};
  auto local = open_store(dir.path().string(), ctx);
  EXPECT_NE(dynamic_cast<LocalStore*>(local.get()), nullptr);
  auto http = open_store("https://example.org/data/ds", ctx);
  EXPECT_NE(dynamic_cast<HttpStore*>(http.get()), nullptr);
  EXPECT_EQ(http->describe(), "https://example.org/data/ds");
  auto s3 = open_store("s3://127.0.0.1:9000/bucket/ds/color/1", ctx);
  EXPECT_NE(dynamic_cast<S3Store*>(s3.get()), nullptr);
  EXPECT_EQ(s3->describe(), "s3://127.0.0.1:9000/bucket/ds/color/1");
}

TEST(OpenStore, UnknownSchemesAndBadUrlsAreRefused) {
  StoreContext ctx{std::make_shared<HttpClient>(), ""};
  try {
    open_store("gs://bucket/ds", ctx);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
  }
  EXPECT_THROW(open_store("s3://host", ctx), Error);
}
