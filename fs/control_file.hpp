#pragma once
// The control files: a command written to DATASET/.wkfs-ctl or LAYER/.wkfs-ctl runs through the
// command table (control/), and reading the file gives the reply of the last command written to it
// (through this handle, else through any handle of that file). The write fails with the command's
// errno, so shells see errors too.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "control/command_table.hpp"
#include "fs/mount_tree.hpp"
#include "fs/open_file.hpp"

namespace wkfs::mount {

/// Runs the commands of every control file of a mount and keeps each file's last reply.
class ControlChannel {
 public:
  /// A path argument as a backing path: (argument, control file's folder rel, --cwd or "").
  using ResolvePath = std::function<fs::path(const std::string&, const fs::path&, const std::string&)>;
  /// Called after a command succeeded: the dataset (and layer) it ran on changed.
  using Changed = std::function<void(const Location&, const std::optional<std::string>& layer)>;

  ControlChannel(MountTree& tree, std::shared_ptr<control::CommandTable> commands, bool read_only,
                 ResolvePath resolve, Changed changed);

  /// What a command did: the reply line, and for a failed one its errno and message.
  struct Outcome {
    std::string reply;
    int err = 0;
    std::string message;
  };
  /// Runs one command written to the control file at `ctl_rel` and keeps its reply as the file's last.
  Outcome run(const fs::path& ctl_rel, std::string text);
  /// The last reply of the control file at `ctl_rel`, or an empty success reply.
  std::string last_reply(const fs::path& ctl_rel) const;
  const control::CommandTable& commands() const { return *commands_; }

 private:
  MountTree& tree_;
  std::shared_ptr<control::CommandTable> commands_;
  bool read_only_;
  ResolvePath resolve_;
  Changed changed_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> last_;  // control file rel path -> last reply line
};

/// An open control file.
class ControlFile final : public OpenFile {
 public:
  ControlFile(fs::path rel, ControlChannel& channel) : OpenFile(std::move(rel)), channel_(channel) {}
  size_t read(char* buf, size_t size, off_t off) override;
  /// One write is one command (a trailing newline is dropped).
  size_t write(const char* buf, size_t size, off_t off) override;

 private:
  ControlChannel& channel_;
  std::mutex mutex_;
  std::optional<std::string> reply_;
};

}  // namespace wkfs::mount
