#pragma once
// A queue of jobs run by background worker threads: jobs go to the back (work in order) or to
// the front (work someone is waiting for), the workers start on first use, and the destructor
// drops what is still queued and joins the workers after their current job.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wkfs {

class WorkQueue {
 public:
  /// A job reports its own errors: one that throws is dropped (the queue cannot know whom to tell).
  using Job = std::function<void()>;

  /// `threads` workers (0 = one per core), started by the first push.
  explicit WorkQueue(unsigned threads);
  /// Drops the queued jobs and joins the workers (each finishes the job it is running).
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  /// Appends jobs, in order; ignored once the queue is stopping.
  void push_back(std::vector<Job> jobs);
  /// Puts jobs before everything queued, in order (jobs[0] runs next); ignored once stopping.
  void push_front(std::vector<Job> jobs);
  /// Blocks until nothing is queued and no job runs.
  void wait_idle();

 private:
  void start_workers_locked();  // mu_ held
  void worker_loop();

  unsigned threads_;
  std::mutex mu_;
  std::condition_variable work_cv_, idle_cv_;
  std::deque<Job> jobs_;
  size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace wkfs
