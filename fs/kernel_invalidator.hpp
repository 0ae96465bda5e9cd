#pragma once
// Telling the kernel to forget what it caches of a node or a name. The core reports through the
// KernelNotifier interface (tests record the calls); KernelInvalidator sends them to libfuse from a
// thread of its own, because the kernel takes inode locks that a request handler may hold.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include "fs/entry.hpp"
#include "fs/fuse_api.hpp"

namespace wkfs::mount {

class KernelNotifier {
 public:
  virtual ~KernelNotifier() = default;
  /// Drop the attributes and cached pages of a node.
  virtual void inode(Ino ino) = 0;
  /// Drop the name `name` in folder `parent` (the dentry).
  virtual void entry(Ino parent, const std::string& name) = 0;
  /// True while an inode notification for `ino` is queued or being sent.
  virtual bool pending(Ino ino) = 0;
};

class KernelInvalidator final : public KernelNotifier {
 public:
  /// Starts the thread; call after the session is mounted (and the daemon forked).
  explicit KernelInvalidator(fuse_session* session);
  /// Stops and joins the thread; queued notifications are dropped (the mount is going).
  ~KernelInvalidator() override;
  KernelInvalidator(const KernelInvalidator&) = delete;
  KernelInvalidator& operator=(const KernelInvalidator&) = delete;

  void inode(Ino ino) override;
  void entry(Ino parent, const std::string& name) override;
  bool pending(Ino ino) override;

 private:
  struct Job {
    Ino ino;           // the node, or the parent folder of an entry
    std::string name;  // empty: an inode notification
  };
  void push(Job job);
  void loop();

  fuse_session* session_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::unordered_multiset<Ino> inodes_;  // inode jobs not yet sent
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace wkfs::mount
