#pragma once
// A cap on the remote block fetches running in the background for all open files of one remote
// tree (read-ahead and the parallel parts of a large read): one count for all handles, so many
// open files cannot start more threads and requests than the connection pool serves anyway.
// A fetch that gets no slot is not started ahead; a block a read needs then runs in the reader.
#include <cstddef>
#include <memory>
#include <mutex>

namespace wkfs::mount {

class FetchSlots {
 public:
  /// At most `capacity` slots taken at once.
  explicit FetchSlots(size_t capacity) : free_(capacity) {}
  FetchSlots(const FetchSlots&) = delete;
  FetchSlots& operator=(const FetchSlots&) = delete;

  /// A taken slot; given back on destruction.
  class Slot {
   public:
    explicit Slot(FetchSlots* owner) : owner_(owner) {}
    ~Slot() {
      if (owner_) owner_->give_back();
    }
    Slot(Slot&& o) noexcept : owner_(o.owner_) { o.owner_ = nullptr; }
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    FetchSlots* owner_;
  };

  /// A slot if one is free now (never waits), else null.
  std::unique_ptr<Slot> try_take() {
    std::lock_guard lock(mutex_);
    if (free_ == 0) return nullptr;
    --free_;
    return std::make_unique<Slot>(this);
  }

 private:
  void give_back() {
    std::lock_guard lock(mutex_);
    ++free_;
  }
  std::mutex mutex_;
  size_t free_;
};

}  // namespace wkfs::mount
