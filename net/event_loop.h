#pragma once
// One event loop: an epoll instance, an inbox of tasks from other threads, and timers.
//
// Ownership and threads: an EventLoop is created on any thread and then run by exactly one
// thread, its loop thread, until stop(). Only post(), stop() and in_loop_thread() may be
// called from other threads; every other method asserts it runs on the loop thread.
//
// Each pass of run() waits in epoll_wait, dispatches ready descriptors, runs the tasks that
// arrived in the inbox, runs due timers, and last runs the "end of pass" callbacks. Connections
// use the last step to merge everything queued during the pass into one writev.

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "net/mpsc_queue.h"

namespace parley::net {

using Task = std::function<void()>;

// Receives readiness for one descriptor registered with EventLoop::add().
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  // `events` is the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP).
  virtual void on_io(uint32_t events) = 0;
};

using TimerId = uint64_t;

class EventLoop {
 public:
  explicit EventLoop(int index);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs until stop() is called. Binds the calling thread as the loop thread.
  void run();
  // Asks the loop to return from run() after its current pass. Any thread.
  void stop();

  // Queues a task to run on the loop thread. Any thread. Wakes the loop with one eventfd write
  // at most per batch of tasks, however many producers push.
  void post(Task task);

  bool in_loop_thread() const { return std::this_thread::get_id() == thread_id_.load(); }
  void assert_in_loop_thread() const;
  int index() const { return index_; }

  // Registers a descriptor. The handler must outlive the registration: call remove() first.
  void add(int fd, uint32_t events, IoHandler* handler);
  void modify(int fd, uint32_t events, IoHandler* handler);
  void remove(int fd);

  // Runs `task` once after `delay_ms`. Loop thread only. Returns an id for cancel_timer().
  TimerId run_after(int64_t delay_ms, Task task);
  // Runs `task` every `interval_ms` until cancelled.
  TimerId run_every(int64_t interval_ms, Task task);
  void cancel_timer(TimerId id);

  // Registers a callback run once at the end of the current pass (after all events, tasks and
  // timers of the pass). Loop thread only.
  void at_end_of_pass(Task task) { end_of_pass_.push_back(std::move(task)); }

  // Monotonic milliseconds, read once per pass: cheap to call often.
  int64_t now_ms() const { return now_ms_; }

  // The loop whose thread is calling, or nullptr off any loop thread.
  static EventLoop* current();

 private:
  struct Timer {
    int64_t interval_ms;  // 0 for one-shot timers
    Task task;
  };

  void drain_inbox();
  void run_due_timers();
  void run_end_of_pass();
  int next_timeout_ms() const;
  void refresh_now();

  const int index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: producers write to it to end an epoll_wait
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<bool> stopping_{false};
  // Set by the producer that writes wake_fd_, cleared by the loop before it drains, so a batch
  // of posts costs one write and no post is ever left unseen.
  std::atomic<bool> wake_pending_{false};
  MpscQueue<Task> inbox_;

  std::set<std::pair<int64_t, TimerId>> timer_queue_;  // (deadline, id), earliest first
  std::map<TimerId, Timer> timers_;
  TimerId next_timer_id_ = 1;
  std::vector<Task> end_of_pass_;
  int64_t now_ms_ = 0;
};

}  // namespace parley::net
