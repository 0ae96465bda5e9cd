#pragma once
// A cap on the bytes that concurrent chunk computations may hold at once.
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace wkfs {

class MemoryBudget {
 public:
  explicit MemoryBudget(size_t cap_bytes) : cap_(cap_bytes) {}

  /// Holds `bytes` of the budget until destroyed; a request larger than the cap takes all of it.
  class Reservation {
   public:
    Reservation(MemoryBudget& b, size_t bytes);
    ~Reservation();
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;

   private:
    MemoryBudget& budget_;
    size_t bytes_;
  };

  size_t cap() const { return cap_; }
  size_t in_use() const;
  /// Highest in_use() seen.
  size_t peak() const;

 private:
  size_t cap_;
  size_t used_ = 0, peak_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace wkfs
