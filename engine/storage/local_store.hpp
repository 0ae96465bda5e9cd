#pragma once
// A Store over a local folder: keys are relative paths below it; puts replace files atomically.
#include <filesystem>

#include "storage/store.hpp"

namespace wkfs::storage {

class LocalStore : public Store {
 public:
  explicit LocalStore(std::filesystem::path root);

  GetResult get(const std::string& key, ByteRange range = ByteRange::whole()) override;
  std::optional<GetResult> get_if_changed(const std::string& key, const Version& version,
                                          ByteRange range = ByteRange::whole()) override;
  HeadResult head(const std::string& key) override;
  ListResult list(const std::string& prefix, const std::string& delimiter = "") override;
  void put(const std::string& key, ByteSpan data) override;
  void remove(const std::string& key) override;
  std::string describe() const override { return root_.string(); }

 private:
  std::filesystem::path path_of(const std::string& key) const;
  std::filesystem::path root_;
};

}  // namespace wkfs::storage
