#include "lazy/memory_budget.hpp"

#include <algorithm>

namespace wkfs {

MemoryBudget::Reservation::Reservation(MemoryBudget& b, size_t bytes)
    : budget_(b), bytes_(std::min(bytes, b.cap_)) {
  std::unique_lock lock(b.mu_);
  b.cv_.wait(lock, [&] { return b.used_ + bytes_ <= b.cap_; });
  b.used_ += bytes_;
  b.peak_ = std::max(b.peak_, b.used_);
}

MemoryBudget::Reservation::~Reservation() {
  {
    std::lock_guard lock(budget_.mu_);
    budget_.used_ -= bytes_;
  }
  budget_.cv_.notify_all();
}

size_t MemoryBudget::in_use() const {
  std::lock_guard lock(mu_);
  return used_;
}

size_t MemoryBudget::peak() const {
  std::lock_guard lock(mu_);
  return peak_;
}

}  // namespace wkfs
