// Our SigV4 signer against botocore's (Debian python3-botocore under /usr/bin/python3) with the
// same fixed clock: the expected Authorization comes from botocore at test time.
#include "storage/sigv4_signer.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.hpp"
#include "unit/storage/test_servers.hpp"

using namespace wkfs;
using namespace wkfs::storage;

namespace {

// Signs with botocore's S3SigV4Auth at a fixed time; prints the headers it added as JSON.
const char* kOracle = R"PY(
import datetime, json, sys
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
spec = json.load(open(sys.argv[1]))
fixed = datetime.datetime(*spec["time"])
class FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return fixed
botocore.auth.datetime.datetime = FixedDatetime
creds = Credentials(spec["access_key"], spec["secret_key"], spec.get("token") or None)
req = AWSRequest(method=spec["method"], url=spec["url"], params=[tuple(p) for p in spec["params"]], headers=spec["headers"],
                 data=bytes.fromhex(spec["body_hex"]))
botocore.auth.S3SigV4Auth(creds, "s3", spec["region"]).add_auth(req)
print(json.dumps({k.lower(): v for k, v in req.headers.items()}))
)PY";

struct Case {
  std::string method, scheme_host, path;  // path percent-encoded as sent
  std::vector<std::pair<std::string, std::string>> query;
  HttpHeaders extra_headers;
  std::string body;
  S3Credentials creds;
  std::string region;
};

void check_against_botocore(const Case& c) {
  test::TempDir tmp;
  nlohmann::json spec;
  spec["time"] = {2026, 11, 24, 13, 5, 9};
  spec["method"] = c.method;
  spec["url"] = c.scheme_host + c.path;
  spec["params"] = nlohmann::json::array();
  for (auto& [k, v] : c.query) spec["params"].push_back({k, v});
  spec["headers"] = nlohmann::json::object();
  for (auto& [k, v] : c.extra_headers) spec["headers"][k] = v;
  std::string body_hex;
  for (unsigned char ch : c.body) {
    char b[3];
    snprintf(b, sizeof b, "%02x", ch);
    body_hex += b;
  }
  spec["body_hex"] = body_hex;
  spec["access_key"] = c.creds.access_key;
  spec["secret_key"] = c.creds.secret_key;
  spec["token"] = c.creds.session_token;
  spec["region"] = c.region;
  std::ofstream(tmp / "spec.json") << spec.dump();
  std::ofstream(tmp / "oracle.py") << kOracle;
  auto expected = nlohmann::json::parse(
      test::run_command("/usr/bin/python3 " + (tmp / "oracle.py").string() + " " + (tmp / "spec.json").string()));

  // botocore decides the payload hash (body hash over http, UNSIGNED-PAYLOAD over https).
  std::string payload = expected["x-amz-content-sha256"];
  auto body_bytes = std::as_bytes(std::span(c.body.data(), c.body.size()));
  if (c.scheme_host.starts_with("http://")) {
    EXPECT_EQ(payload, SigV4Signer::sha256_hex(body_bytes));
  }

  SigV4Request r;
  r.method = c.method;
  r.canonical_uri = c.path;
  r.query = c.query;
  std::string host = c.scheme_host.substr(c.scheme_host.find("://") + 3);
  r.headers.emplace_back("Host", host);
  for (auto& h : c.extra_headers) r.headers.push_back(h);
  r.payload_hash = payload;
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 24;
  tm.tm_hour = 13;
  tm.tm_min = 5;
  tm.tm_sec = 9;
  auto now = std::chrono::system_clock::from_time_t(timegm(&tm));
  HttpHeaders got = SigV4Signer(c.creds, c.region).sign(r, now);
  std::map<std::string, std::string> mine;
  for (auto& [k, v] : got) mine[k == "Authorization" ? "authorization" : k] = v;
  EXPECT_EQ(mine["x-amz-date"], expected["x-amz-date"].get<std::string>());
  EXPECT_EQ(mine["authorization"], expected["authorization"].get<std::string>())
      << "canonical request:\n" << SigV4Signer(c.creds, c.region).canonical_request(r, mine["x-amz-date"]);
  if (!c.creds.session_token.empty()) {
    EXPECT_EQ(mine["x-amz-security-token"], expected["x-amz-security-token"].get<std::string>());
  }
}

TEST(SigV4Signer, GetObjectMatchesBotocore) {
  check_against_botocore({"GET", "https://127.0.0.1:9443", "/bucket/ds/color/1/c/0/0/0", {}, {}, "",
                          {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", ""}, "us-east-1"});
}

TEST(SigV4Signer, SwiftStyleAccessKeyWithColon) {
  check_against_botocore({"HEAD", "https://s3.example.org", "/wk-data/ds/datasource-properties.json", {}, {}, "",
                          {"test:tester", "testing", "", ""}, "us-east-1"});
}

TEST(SigV4Signer, ListQueryIsCanonicalized) {
  check_against_botocore({"GET", "http://127.0.0.1:8080", "/bucket",
                          {{"list-type", "2"}, {"prefix", "ds/color 1/"}, {"delimiter", "/"},
                           {"continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="}},
                          {},
                          "",
                          {"AKID", "secret", "", ""},
                          "eu-central-1"});
}

TEST(SigV4Signer, PutWithBodySessionTokenAndEncodedKey) {
  check_against_botocore({"PUT", "http://localhost:9000", "/bucket/ds/a%20b/%C3%A4%2Bc.json",
                          {},
                          {{"Content-Type", "application/json"}, {"x-amz-meta-note", "  two   spaces "}},
                          "{\"hello\": [1, 2, 3]}",
                          {"ASIAEXAMPLE", "s3cr3t", "FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN==", ""},
                          "us-west-2"});
}

TEST(SigV4Signer, EmptyQueryValueAndDeleteOverHttps) {
  check_against_botocore({"DELETE", "https://127.0.0.1:9443", "/bucket/ds/x", {{"uploads", ""}, {"a", "b=c&d"}}, {}, "",
                          {"AKID", "secret", "", ""}, "us-east-1"});
}

TEST(SigV4Signer, CanonicalQuerySortsAndEncodes) {
  EXPECT_EQ(SigV4Signer::canonical_query({{"prefix", "ds/"}, {"list-type", "2"}, {"delimiter", "/"}}),
            "delimiter=%2F&list-type=2&prefix=ds%2F");
}

}  // namespace
