#include "fs/properties_editor.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "dataset/properties.hpp"

namespace wkfs::mount {

PropertiesEditor::PropertiesEditor(fs::path rel, UniqueFd fd, std::string text, bool truncated, Commit commit)
    : OpenFile(std::move(rel)), fd_(std::move(fd)), commit_(std::move(commit)), buffer_(std::move(text)),
      dirty_(truncated) {}

size_t PropertiesEditor::read(char* buf, size_t size, off_t off) {
  std::lock_guard lock(mutex_);
  return read_text_at(buffer_, buf, size, off);
}

size_t PropertiesEditor::write(const char* buf, size_t size, off_t off) {
  std::lock_guard lock(mutex_);
  if (rejected_) fail(ErrorKind::InvalidArgument, "an earlier write made " + rel().string() + " invalid");
  size_t end = static_cast<size_t>(off) + size;
  if (buffer_.size() < end) buffer_.resize(end);
  std::memcpy(buffer_.data() + off, buf, size);
  dirty_ = true;
  try {
    check_so_far(buffer_);
  } catch (const Error&) {
    rejected_ = true;
    dirty_ = false;
    throw;
  }
  return size;
}

void PropertiesEditor::truncate(off_t size) {
  std::lock_guard lock(mutex_);
  buffer_.resize(static_cast<size_t>(size));
  dirty_ = true;
}

std::optional<struct stat> PropertiesEditor::attr() const {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) fail_errno("fstat " + rel().string());
  std::lock_guard lock(mutex_);
  st.st_size = static_cast<off_t>(buffer_.size());
  return st;
}

void PropertiesEditor::commit() {
  std::string text;
  {
    std::lock_guard lock(mutex_);
    if (!dirty_ || rejected_) return;
    if (buffer_.empty()) return;  // the shell's dup2 + close before anything was written
    dirty_ = false;
    text = buffer_;
  }
  commit_(text);
}

void PropertiesEditor::fsync(bool) {
  try {
    commit();
  } catch (const std::exception& e) {
    // A refused document stays refused; a full disk may be freed before the next try.
    const auto* w = dynamic_cast<const Error*>(&e);
    if (!w || w->sys_errno() != 0) {
      std::lock_guard lock(mutex_);
      dirty_ = true;
    }
    throw;
  }
}

void PropertiesEditor::check_so_far(const std::string& text) {
  // nlohmann's parser says where it stopped: at the end of the input means "not finished yet".
  // Telling the two apart by byte position, not by the wording of its message.
  try {
    auto parsed = Json::parse(text);
    (void)parsed;
  } catch (const Json::parse_error& e) {
    if (e.byte >= text.size()) return;
    fail(ErrorKind::InvalidArgument, std::string("datasource-properties.json is not valid JSON: ") + e.what());
  }
  auto props = DatasetProperties::parse(text);
  (void)props;
}

}  // namespace wkfs::mount
