#include "fs/kernel_invalidator.hpp"

namespace wkfs::mount {

KernelInvalidator::KernelInvalidator(fuse_session* session) : session_(session), thread_([this] { loop(); }) {}

KernelInvalidator::~KernelInvalidator() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void KernelInvalidator::inode(Ino ino) { push({ino, {}}); }

bool KernelInvalidator::pending(Ino ino) {
  std::lock_guard lock(mutex_);
  return inodes_.count(ino) != 0;
}

void KernelInvalidator::entry(Ino parent, const std::string& name) { push({parent, name}); }

void KernelInvalidator::push(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (job.name.empty()) inodes_.insert(job.ino);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void KernelInvalidator::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    // Runs outside request handlers: the kernel takes inode locks that a handler may hold.
    if (job.name.empty())
      fuse_lowlevel_notify_inval_inode(session_, job.ino, 0, 0);
    else
      fuse_lowlevel_notify_inval_entry(session_, job.ino, job.name.c_str(), job.name.size());
    lock.lock();
    if (job.name.empty()) inodes_.erase(inodes_.find(job.ino));
  }
}

}  // namespace wkfs::mount
