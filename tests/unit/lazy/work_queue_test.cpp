// The background job queue: order of front and back pushes, wait_idle, workers started on first
// use, a throwing job that does not stop its worker, and a destructor that drops what is queued
// but waits for what runs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "lazy/work_queue.hpp"

using namespace wkfs;
using namespace std::chrono_literals;

namespace {

// Threads of this process (Linux: one entry per task).
size_t thread_count() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// A job that blocks its worker until open() is called; started() says it is running.
struct Gate {
  std::atomic<bool> running{false}, open_{false};
  WorkQueue::Job job() {
    return [this] {
      running = true;
      while (!open_) std::this_thread::sleep_for(1ms);
    };
  }
  void wait_running() const {
    while (!running) std::this_thread::sleep_for(1ms);
  }
  void open() { open_ = true; }
};

}  // namespace

TEST(WorkQueue, FrontJobsRunBeforeBackJobsEachInTheGivenOrder) {
  WorkQueue q(1);  // one worker: the order it runs jobs in is the queue's order
  std::mutex mu;
  std::vector<std::string> ran;
  auto record = [&](std::string name) -> WorkQueue::Job {
    return [&, name] {
      std::lock_guard lock(mu);
      ran.push_back(name);
    };
  };
  Gate gate;
  q.push_back({gate.job()});
  gate.wait_running();  // the worker is busy: everything below waits in the queue
  q.push_back({record("b1"), record("b2")});
  q.push_front({record("f1"), record("f2")});
  q.push_back({record("b3")});
  q.push_front({record("f0")});
  gate.open();
  q.wait_idle();
  EXPECT_EQ(ran, (std::vector<std::string>{"f0", "f1", "f2", "b1", "b2", "b3"}));
}

TEST(WorkQueue, WaitIdleWaitsForQueuedAndRunningJobs) {
  WorkQueue q(3);
  std::atomic<int> done{0};
  std::vector<WorkQueue::Job> jobs;
  for (int i = 0; i < 40; ++i)
    jobs.push_back([&] {
      std::this_thread::sleep_for(2ms);
      ++done;
    });
  q.push_back(std::move(jobs));
  q.wait_idle();
  EXPECT_EQ(done.load(), 40);
  q.wait_idle();  // idle already: returns at once
  EXPECT_EQ(done.load(), 40);
}

TEST(WorkQueue, WaitIdleOnAnUnusedQueueReturns) {
  WorkQueue q(2);
  q.wait_idle();
  SUCCEED();
}

TEST(WorkQueue, WorkersStartOnFirstPush) {
  const size_t before = thread_count();
  WorkQueue q(3);
  EXPECT_EQ(thread_count(), before);  // a queue nobody uses costs no threads
  q.push_back({[] {}});
  q.wait_idle();
  EXPECT_EQ(thread_count(), before + 3);
  q.push_back({[] {}});  // not a second set
  q.wait_idle();
  EXPECT_EQ(thread_count(), before + 3);
}

TEST(WorkQueue, AThrowingJobDoesNotStopItsWorker) {
  WorkQueue q(1);
  std::atomic<int> after{0};
  q.push_back({[] { throw std::runtime_error("job failed"); }, [&] { ++after; }, [] { throw 42; }, [&] { ++after; }});
  q.wait_idle();
  EXPECT_EQ(after.load(), 2);
}

TEST(WorkQueue, DestructorDropsQueuedJobsAndJoinsRunningOnes) {
  auto q = std::make_unique<WorkQueue>(1);
  Gate gate;
  std::atomic<bool> running_finished{false};
  std::atomic<int> dropped_ran{0};
  auto token = std::make_shared<int>(0);  // held by every queued job: tells when they are gone
  q->push_back({[&, job = gate.job()] {
    job();
    std::this_thread::sleep_for(20ms);
    running_finished = true;
  }});
  gate.wait_running();
  std::vector<WorkQueue::Job> queued;
  for (int i = 0; i < 5; ++i) queued.push_back([&, token] {
      (void)token;
      ++dropped_ran;
    });
  q->push_back(std::move(queued));
  ASSERT_EQ(token.use_count(), 6);
  std::thread destroy([&] { q.reset(); });
  while (token.use_count() > 1) std::this_thread::sleep_for(1ms);  // the destructor dropped them
  EXPECT_FALSE(running_finished.load());  // and still waits for the running job
  gate.open();
  destroy.join();
  EXPECT_TRUE(running_finished.load());
  EXPECT_EQ(dropped_ran.load(), 0);
}
