// S3Store against OpenStack Swift's s3api (real SigV4 checks) behind an nginx TLS front, the way
// webknossos-libs reads s3://host:port/bucket/key (over https). Objects are uploaded and checked
// independently with boto3; one test, because the server takes seconds to start.
#include "storage/s3_store.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "core/error.hpp"
#include "support/test_support.hpp"
#include "unit/storage/test_servers.hpp"

using namespace wkfs;
using namespace wkfs::storage;
using namespace std::chrono_literals;

namespace {

Bytes random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<std::byte>(rng());
  return b;
}
Bytes slice(const Bytes& b, uint64_t begin, uint64_t end) {
  return Bytes(b.begin() + static_cast<ptrdiff_t>(begin), b.begin() + static_cast<ptrdiff_t>(end));
}
void write_bytes(const std::filesystem::path& p, const Bytes& b) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& n) -> std::optional<std::string> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// boto3 as the independent client: "upload DIR" puts every file of DIR under its relative key,
// "sha256 KEY" prints the stored object's hash, "exists KEY" prints yes/no.
const char* kBoto = R"PY(
import hashlib, os, sys, boto3
from botocore.config import Config
endpoint, ca, cmd, arg = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca, aws_access_key_id="test:tester",
                  aws_secret_access_key="testing", region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}))
if cmd == "upload":
    s3.create_bucket(Bucket="wk-data")
    for root, _, files in os.walk(arg):
        for f in files:
            p = os.path.join(root, f)
            s3.upload_file(p, "wk-data", os.path.relpath(p, arg))
    print("ok")
elif cmd == "sha256":
    print(hashlib.sha256(s3.get_object(Bucket="wk-data", Key=arg)["Body"].read()).hexdigest())
elif cmd == "exists":
    print("yes" if s3.list_objects_v2(Bucket="wk-data", Prefix=arg).get("KeyCount", 0) else "no")
)PY";

class SwiftServer {
 public:
  explicit SwiftServer(const std::filesystem::path& dir) : dir_(dir) {
    std::istringstream in(test::run_command("bash " WKFS_SOURCE_DIR "/tests/servers/swift_s3.sh start '" + dir.string() + "'"));
    in >> http_port >> tls_port;
    if (!tls_port) throw std::runtime_error("swift_s3.sh printed no ports");
  }
  ~SwiftServer() {
    int rc = std::system(("bash " WKFS_SOURCE_DIR "/tests/servers/swift_s3.sh stop '" + dir_.string() + "'").c_str());
    (void)rc;
  }
  std::filesystem::path ca_file() const { return dir_ / "front/cert.pem"; }
  int http_port = 0, tls_port = 0;

 private:
  std::filesystem::path dir_;
};

TEST(S3StoreSwift, GetHeadListPutRemoveAndErrorsThroughTheTlsFront) {
  test::TempDir dir;
  SwiftServer swift(dir / "swift");
  const std::string endpoint = "https://127.0.0.1:" + std::to_string(swift.tls_port);
  std::ofstream(dir / "boto.py") << kBoto;
  auto boto = [&](const std::string& cmd, const std::string& arg) {
    std::string out = test::run_command("/usr/bin/python3 " + (dir / "boto.py").string() + " " + endpoint + " " +
                                        swift.ca_file().string() + " " + cmd + " '" + arg + "'");
    return out.substr(0, out.find('\n'));
  };

  Bytes big = random_bytes(1 << 20, 7), props = random_bytes(300, 8);
  write_bytes(dir / "up/ds/big.bin", big);
  write_bytes(dir / "up/ds/datasource-properties.json", props);
  write_bytes(dir / "up/ds/color/1/zarr.json", random_bytes(10, 9));
  write_bytes(dir / "up/ds/color/2-2-1/zarr.json", random_bytes(10, 10));
  for (int i = 0; i < 20; ++i) write_bytes(dir / ("up/ds/many/o" + std::to_string(100 + i)), random_bytes(5, 11));
  write_bytes(dir / "up/other/x", random_bytes(5, 12));
  ASSERT_EQ(boto("upload", (dir / "up").string()), "ok");

  // Credentials as webknossos-libs finds them for this location.
  StoreUrl url = StoreUrl::parse("s3://127.0.0.1:" + std::to_string(swift.tls_port) + "/wk-data/ds");
  std::string suffix = "127_0_0_1_" + std::to_string(swift.tls_port) + "__WK_DATA";
  auto creds = find_s3_credentials(url, env_of({{"AWS_ACCESS_KEY_ID__" + suffix, "test:tester"},
                                                {"AWS_SECRET_ACCESS_KEY__" + suffix, "testing"}}),
                                   dir.path());
  ASSERT_TRUE(creds);
  HttpOptions o;
  o.ca_file = swift.ca_file().string();
  o.backoff_initial = 20ms;
  auto client = std::make_shared<HttpClient>(o);
  S3Store store(url, client, creds, "us-east-1");

  {
    SCOPED_TRACE("get whole, span, suffix, head, get_if_changed");
    GetResult whole = store.get("big.bin");
    EXPECT_EQ(whole.data, big);
    EXPECT_EQ(store.get("big.bin", ByteRange::span(12345, 4000)).data, slice(big, 12345, 16345));
    GetResult suffix_r = store.get("big.bin", ByteRange::suffix(4096));
    EXPECT_EQ(suffix_r.data, slice(big, big.size() - 4096, big.size()));
    EXPECT_EQ(suffix_r.size, big.size());
    EXPECT_EQ(store.get("big.bin", ByteRange::span(big.size() - 3, 10)).data, slice(big, big.size() - 3, big.size()));
    HeadResult h = store.head("big.bin");
    EXPECT_EQ(h.size, big.size());
    EXPECT_EQ(h.version, whole.version);
    EXPECT_FALSE(store.get_if_changed("big.bin", whole.version).has_value());
    EXPECT_EQ(store.get("datasource-properties.json").data, props);
  }
  {
    SCOPED_TRACE("list with delimiter and continuation tokens");
    ListResult top = store.list("", "/");
    std::vector<std::string> keys;
    for (auto& e : top.objects) keys.push_back(e.key);
    EXPECT_EQ(keys, (std::vector<std::string>{"big.bin", "datasource-properties.json"}));
    EXPECT_EQ(top.prefixes, (std::vector<std::string>{"color/", "many/"}));
    EXPECT_EQ(top.objects[0].size, big.size());
    EXPECT_EQ(store.list("color/", "/").prefixes, (std::vector<std::string>{"color/1/", "color/2-2-1/"}));
    store.set_list_page_size(7);
    uint64_t before = client->stats().requests;
    ListResult many = store.list("many/");
    EXPECT_EQ(many.objects.size(), 20u);
    EXPECT_EQ(many.objects.front().key, "many/o100");
    EXPECT_EQ(many.objects.back().key, "many/o119");
    EXPECT_EQ(client->stats().requests - before, 3u) << "20 keys in pages of 7";
    EXPECT_EQ(store.list("many/", "/").objects.size(), 20u);
  }
  {
    SCOPED_TRACE("put and remove, checked with boto3");
    Bytes fresh = random_bytes(70000, 13);
    store.put("new/a b+c.bin", fresh);
    EXPECT_EQ(boto("sha256", "ds/new/a b+c.bin"),
              SigV4Signer::sha256_hex(fresh));
    EXPECT_EQ(store.get("new/a b+c.bin").data, fresh);
    store.remove("new/a b+c.bin");
    EXPECT_EQ(boto("exists", "ds/new/a b+c.bin"), "no");
    store.remove("new/a b+c.bin");  // again: no error
  }
  {
    SCOPED_TRACE("missing key");
    try {
      store.get("nope.bin", ByteRange::suffix(10));
      ADD_FAILURE() << "expected ENOENT";
    } catch (const Error& e) {
      EXPECT_EQ(to_errno(e), ENOENT);
      EXPECT_NE(std::string(e.what()).find(endpoint + "/wk-data/ds/nope.bin"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("404"), std::string::npos) << e.what();
    }
  }
  {
    SCOPED_TRACE("wrong secret");
    S3Store wrong(url, client, S3Credentials{"test:tester", "not-the-secret", "", "test"}, "us-east-1");
    try {
      wrong.get("big.bin", ByteRange::span(0, 10));
      ADD_FAILURE() << "a wrong secret must be refused";
    } catch (const Error& e) {
      EXPECT_EQ(to_errno(e), EACCES) << e.what();
      EXPECT_NE(std::string(e.what()).find("403"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("SignatureDoesNotMatch"), std::string::npos) << e.what();
    }
    EXPECT_THROW(wrong.put("x", Bytes(3)), Error);
  }
  {
    SCOPED_TRACE("256 ranged GETs from 16 threads");
    std::atomic<int> wrong{0};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < 16; ++t)
      pool.emplace_back([&, t] {
        std::mt19937 rng(t);
        for (int i = 0; i < 16; ++i) {
          uint64_t len = 1 + rng() % 4096, off = rng() % (big.size() - len);
          try {
            if (store.get("big.bin", ByteRange::span(off, len)).data != slice(big, off, off + len)) wrong++;
          } catch (const std::exception&) {
            wrong++;
          }
        }
      });
    for (auto& th : pool) th.join();
    EXPECT_EQ(wrong.load(), 0);
    std::cout << "[ measure ] Swift s3api via TLS front: 256 ranged GETs from 16 threads in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count()
              << " ms\n";
  }
}

}  // namespace
