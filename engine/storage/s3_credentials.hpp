#pragma once
// S3 credentials found the way webknossos-libs finds them (webknossos/utils.py
// _detect_aws_credentials, then tensorstore's default AWS chain):
//  1. AWS_ACCESS_KEY_ID__<HOST>__<BUCKET>[__<KEYPART>...] and AWS_SECRET_ACCESS_KEY__<same>, where
//     '.', ':' and '-' become '_' and the name is upper-cased; the longest key prefix wins;
//  2. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
//  3. the profile AWS_PROFILE (else [default]) of AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "storage/store_url.hpp"

namespace wkfs::storage {

struct S3Credentials {
  std::string access_key;     // may contain ':' (Swift's "account:user")
  std::string secret_key;
  std::string session_token;  // empty unless temporary credentials
  std::string source;         // where they came from, for messages (never the secret)
};

/// Reads one environment variable; nullopt if unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment.
EnvLookup process_env();

/// The per-location variable suffixes to try, longest first: "HOST_9000__BUCKET__DS", "HOST_9000__BUCKET".
std::vector<std::string> credential_env_suffixes(const StoreUrl& url);

/// Credentials for `url` (an s3:// URL), or nullopt (then requests go unsigned). `home` holds .aws/.
std::optional<S3Credentials> find_s3_credentials(const StoreUrl& url, const EnvLookup& env,
                                                 const std::filesystem::path& home);
/// As above with the process environment and $HOME.
std::optional<S3Credentials> find_s3_credentials(const StoreUrl& url);

/// AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1.
std::string find_s3_region(const EnvLookup& env);

}  // namespace wkfs::storage
