#include "net/event_loop.h"

#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "net/log.h"

namespace parley::net {

namespace {
thread_local EventLoop* t_current_loop = nullptr;

int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

[[noreturn]] void throw_errno(const char* what) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}
}  // namespace

EventLoop::EventLoop(int index) : index_(index) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    throw_errno("epoll_create1");
  }
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    throw_errno("eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the wake-up descriptor
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    throw_errno("epoll_ctl(eventfd)");
  }
  refresh_now();
}

EventLoop::~EventLoop() {
  // Tasks still queued may own resources; running them off-loop would break their contract,
  // so they are destroyed unrun.
  while (inbox_.pop()) {
  }
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

EventLoop* EventLoop::current() { return t_current_loop; }

void EventLoop::assert_in_loop_thread() const {
  assert(in_loop_thread() && "EventLoop method called off its loop thread");
}

void EventLoop::refresh_now() { now_ms_ = monotonic_ms(); }

void EventLoop::run() {
  assert(t_current_loop == nullptr && "one EventLoop per thread");
  t_current_loop = this;
  thread_id_.store(std::this_thread::get_id());
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];

  while (!stopping_.load(std::memory_order_acquire)) {
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, next_timeout_ms());
    if (n < 0 && errno != EINTR) {
      log(LogLevel::kError, "loop ", index_, ": epoll_wait failed: ", std::strerror(errno));
      break;
    }
    refresh_now();
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<IoHandler*>(events[i].data.ptr);
      if (handler == nullptr) {
        uint64_t count = 0;
        ssize_t r = ::read(wake_fd_, &count, sizeof count);
        (void)r;
        continue;
      }
      handler->on_io(events[i].events);
    }
    drain_inbox();
    run_due_timers();
    run_end_of_pass();
  }
  // Last drain so tasks posted before stop() (for example, closing connections) still run.
  drain_inbox();
  run_end_of_pass();
  t_current_loop = nullptr;
}

void EventLoop::stop() {
  stopping_.store(true, std::memory_order_release);
  uint64_t one = 1;
  ssize_t r = ::write(wake_fd_, &one, sizeof one);
  (void)r;
}

void EventLoop::post(Task task) {
  inbox_.push(std::move(task));
  if (!wake_pending_.exchange(true, std::memory_order_acq_rel)) {
    uint64_t one = 1;
    ssize_t r = ::write(wake_fd_, &one, sizeof one);
    (void)r;
  }
}

void EventLoop::drain_inbox() {
  // Clear the flag before draining: a push that lands after the drain sees the flag clear and
  // writes the eventfd, so it is picked up on the next pass.
  wake_pending_.store(false, std::memory_order_release);
  while (auto task = inbox_.pop()) {
    (*task)();
  }
}

void EventLoop::add(int fd, uint32_t events, IoHandler* handler) {
  assert_in_loop_thread();
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw_errno("epoll_ctl(ADD)");
  }
}

void EventLoop::modify(int fd, uint32_t events, IoHandler* handler) {
  assert_in_loop_thread();
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    log(LogLevel::kError, "loop ", index_, ": epoll_ctl(MOD) fd ", fd, ": ", std::strerror(errno));
  }
}

void EventLoop::remove(int fd) {
  assert_in_loop_thread();
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr) != 0) {
    log(LogLevel::kError, "loop ", index_, ": epoll_ctl(DEL) fd ", fd, ": ", std::strerror(errno));
  }
}

TimerId EventLoop::run_after(int64_t delay_ms, Task task) {
  assert_in_loop_thread();
  TimerId id = next_timer_id_++;
  timers_.emplace(id, Timer{0, std::move(task)});
  timer_queue_.emplace(now_ms_ + delay_ms, id);
  return id;
}

TimerId EventLoop::run_every(int64_t interval_ms, Task task) {
  assert_in_loop_thread();
  TimerId id = next_timer_id_++;
  timers_.emplace(id, Timer{interval_ms, std::move(task)});
  timer_queue_.emplace(now_ms_ + interval_ms, id);
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  assert_in_loop_thread();
  // The queue entry stays until it is due; run_due_timers skips ids with no timer.
  timers_.erase(id);
}

int EventLoop::next_timeout_ms() const {
  if (!end_of_pass_.empty()) {
    return 0;
  }
  if (timer_queue_.empty()) {
    return -1;
  }
  int64_t wait = timer_queue_.begin()->first - monotonic_ms();
  if (wait < 0) {
    return 0;
  }
  return static_cast<int>(wait > 60000 ? 60000 : wait);
}

void EventLoop::run_due_timers() {
  while (!timer_queue_.empty() && timer_queue_.begin()->first <= now_ms_) {
    TimerId id = timer_queue_.begin()->second;
    timer_queue_.erase(timer_queue_.begin());
    auto it = timers_.find(id);
    if (it == timers_.end()) {
      continue;  // cancelled
    }
    if (it->second.interval_ms > 0) {
      timer_queue_.emplace(now_ms_ + it->second.interval_ms, id);
      Task task = it->second.task;  // copy: the task may cancel its own timer
      task();
    } else {
      Task task = std::move(it->second.task);
      timers_.erase(it);
      task();
    }
  }
}

void EventLoop::run_end_of_pass() {
  // Callbacks may queue further end-of-pass work (a flush that closes a connection), so loop
  // until the list stays empty.
  while (!end_of_pass_.empty()) {
    std::vector<Task> tasks;
    tasks.swap(end_of_pass_);
    for (auto& task : tasks) {
      task();
    }
  }
}

}  // namespace parley::net
