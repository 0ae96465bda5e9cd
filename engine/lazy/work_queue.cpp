#include "lazy/work_queue.hpp"

#include <algorithm>

namespace wkfs {

WorkQueue::WorkQueue(unsigned threads)
    : threads_(threads ? threads : std::max(1u, std::thread::hardware_concurrency())) {}

WorkQueue::~WorkQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void WorkQueue::start_workers_locked() {
  if (!workers_.empty()) return;  // started on first use: a mount of many datasets idles cheaply
  for (unsigned i = 0; i < threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void WorkQueue::push_back(std::vector<Job> jobs) {
  if (jobs.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    start_workers_locked();
    for (auto& j : jobs) jobs_.push_back(std::move(j));
  }
  work_cv_.notify_all();
}

void WorkQueue::push_front(std::vector<Job> jobs) {
  if (jobs.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    start_workers_locked();
    for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) jobs_.push_front(std::move(*it));
  }
  work_cv_.notify_all();
}

void WorkQueue::wait_idle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return jobs_.empty() && running_ == 0; });
}

void WorkQueue::worker_loop() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    try {
      job();
    } catch (...) {  // see Job: the job had its chance to report it
    }
    job = nullptr;  // what it holds goes before the queue counts it done
    {
      std::lock_guard lock(mu_);
      --running_;
    }
    idle_cv_.notify_all();
  }
}

}  // namespace wkfs
