#include "storage/s3_credentials.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

namespace wkfs::storage {

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

namespace {

std::string env_name_part(std::string s) {
  for (char& c : s) {
    if (c == '.' || c == ':' || c == '-') c = '_';
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The [profile] section of an AWS credentials file (INI: key = value).
std::optional<S3Credentials> from_profile_file(const std::filesystem::path& file, const std::string& profile) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  S3Credentials c;
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      in_section = line == "[" + profile + "]";
      continue;
    }
    if (!in_section) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key = value;
    if (key == "aws_secret_access_key") c.secret_key = value;
    if (key == "aws_session_token") c.session_token = value;
  }
  if (c.access_key.empty() || c.secret_key.empty()) return std::nullopt;
  c.source = file.string() + " [" + profile + "]";
  return c;
}

}  // namespace

std::vector<std::string> credential_env_suffixes(const StoreUrl& url) {
  std::vector<std::string> parts{url.authority(), url.bucket()};
  const std::string& key = url.key();
  for (size_t start = 0; !key.empty() && start <= key.size();) {
    size_t end = std::min(key.find('/', start), key.size());
    parts.push_back(key.substr(start, end - start));
    start = end + 1;
  }
  std::vector<std::string> out;
  for (size_t n = parts.size(); n >= 2; --n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += (i ? "__" : "") + env_name_part(parts[i]);
    out.push_back(s);
  }
  return out;
}

std::optional<S3Credentials> find_s3_credentials(const StoreUrl& url, const EnvLookup& env,
                                                 const std::filesystem::path& home) {
  for (const std::string& suffix : credential_env_suffixes(url)) {
    auto id = env("AWS_ACCESS_KEY_ID__" + suffix), secret = env("AWS_SECRET_ACCESS_KEY__" + suffix);
    if (id && secret) return S3Credentials{*id, *secret, "", "AWS_ACCESS_KEY_ID__" + suffix};
  }
  auto id = env("AWS_ACCESS_KEY_ID"), secret = env("AWS_SECRET_ACCESS_KEY");
  if (id && secret && !id->empty()) return S3Credentials{*id, *secret, env("AWS_SESSION_TOKEN").value_or(""), "AWS_ACCESS_KEY_ID"};
  std::filesystem::path file = env("AWS_SHARED_CREDENTIALS_FILE").value_or((home / ".aws" / "credentials").string());
  std::string profile = env("AWS_PROFILE").value_or("default");
  if (profile.empty()) profile = "default";
  return from_profile_file(file, profile);
}

std::optional<S3Credentials> find_s3_credentials(const StoreUrl& url) {
  EnvLookup env = process_env();
  return find_s3_credentials(url, env, env("HOME").value_or("/root"));
}

std::string find_s3_region(const EnvLookup& env) {
  if (auto r = env("AWS_REGION"); r && !r->empty()) return *r;
  if (auto r = env("AWS_DEFAULT_REGION"); r && !r->empty()) return *r;
  return "us-east-1";
}

}  // namespace wkfs::storage
