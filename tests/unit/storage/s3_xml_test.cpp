// The ListObjectsV2 page parser on pages shaped like Swift's s3api answers and on garbage: a page
// it cannot read is a Corrupt error naming the URL, never another exception (fuzz_s3_xml).
#include "storage/s3_xml.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"

using namespace wkfs;
using namespace wkfs::storage;

namespace {
const std::string kUrl = "https://127.0.0.1:9443/wk-data?list-type=2";

std::string page(const std::string& contents) {
  return R"(<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)"
         "<Name>wk-data</Name><IsTruncated>true</IsTruncated><NextContinuationToken>tok/1=</NextContinuationToken>" +
         contents + "</ListBucketResult>";
}
}  // namespace

TEST(S3Xml, APageGivesKeysSizesPrefixesAndTheToken) {
  auto p = parse_list_objects_v2(page("<Contents><Key>ds/color/1/zarr.json</Key><Size>1234</Size></Contents>"
                                      "<Contents><Key>ds/a b</Key><Size>18446744073709551615</Size></Contents>"
                                      "<CommonPrefixes><Prefix>ds/color/</Prefix></CommonPrefixes>"),
                                 kUrl);
  ASSERT_EQ(p.result.objects.size(), 2u);
  EXPECT_EQ(p.result.objects[0].key, "ds/color/1/zarr.json");
  EXPECT_EQ(p.result.objects[0].size, 1234u);
  EXPECT_EQ(p.result.objects[1].key, "ds/a b");
  EXPECT_EQ(p.result.objects[1].size, UINT64_MAX);
  ASSERT_EQ(p.result.prefixes.size(), 1u);
  EXPECT_EQ(p.result.prefixes[0], "ds/color/");
  EXPECT_TRUE(p.truncated);
  EXPECT_EQ(p.next_continuation_token, "tok/1=");
}

TEST(S3Xml, ASizeThatIsNotASizeIsCorruptNamingTheUrl) {
  for (const std::string size : {"", "x", "-1", "12x", " 12", "18446744073709551616", "1e3"}) {
    SCOPED_TRACE(size);
    try {
      parse_list_objects_v2(page("<Contents><Key>k</Key><Size>" + size + "</Size></Contents>"), kUrl);
      ADD_FAILURE() << "parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
      EXPECT_NE(std::string(e.what()).find(kUrl), std::string::npos) << e.what();
    }
  }
}

TEST(S3Xml, GarbageAndOtherDocumentsAreCorrupt) {
  for (const std::string body : {"", "<", "not xml", "<Error><Code>NoSuchBucket</Code></Error>", "<ListBucketResult"}) {
    SCOPED_TRACE(body);
    EXPECT_THROW(parse_list_objects_v2(body, kUrl), Error);
  }
  EXPECT_EQ(s3_error_detail("<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>"), "NoSuchKey: gone");
  EXPECT_EQ(s3_error_detail("garbage"), "");
}
