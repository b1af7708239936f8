#pragma once
// A lock-free multi-producer single-consumer FIFO queue (Dmitry Vyukov's intrusive node
// design, written here with std::atomic). Any thread may push; only one thread at a time may
// pop, which in parley is the loop that owns the queue.
//
// Why this shape: push is one atomic exchange plus one store, so producers on other loops never
// block each other or the consumer. The cost is that pop can briefly see a half-linked push
// (the exchange done, the link not yet stored); pop then reports "empty" and the consumer finds
// the element on its next drain, which the wake-up protocol of EventLoop guarantees.

#include <atomic>
#include <optional>
#include <utility>

namespace parley::net {

template <typename T>
class MpscQueue {
 public:
  MpscQueue() : head_(&stub_), tail_(&stub_) {}
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  ~MpscQueue() {
    while (pop()) {
    }
  }

  // Appends a value. Safe from any thread.
  void push(T value) {
    Node* node = new Node(std::move(value));
    Node* prev = head_.exchange(node, std::memory_order_acq_rel);
    // Between the exchange and this store the list is broken; pop() treats that as empty.
    prev->next.store(node, std::memory_order_release);
  }

  // Removes the oldest value. Consumer thread only. Returns nullopt when the queue is empty or
  // a concurrent push has not finished linking its node yet.
  std::optional<T> pop() {
    Node* tail = tail_;
    Node* next = tail->next.load(std::memory_order_acquire);
    if (tail == &stub_) {
      if (next == nullptr) {
        return std::nullopt;
      }
      tail_ = next;
      tail = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail_ = next;
      return take(tail);
    }
    if (tail != head_.load(std::memory_order_acquire)) {
      return std::nullopt;  // a producer is between its exchange and its link
    }
    // `tail` is the last node: put the stub behind it so that it can be unlinked.
    stub_.next.store(nullptr, std::memory_order_relaxed);
    Node* prev = head_.exchange(&stub_, std::memory_order_acq_rel);
    prev->next.store(&stub_, std::memory_order_release);
    next = tail->next.load(std::memory_order_acquire);
    if (next != nullptr) {
      tail_ = next;
      return take(tail);
    }
    return std::nullopt;
  }

 private:
  struct Node {
    Node() = default;
    explicit Node(T v) : value(std::move(v)) {}
    std::atomic<Node*> next{nullptr};
    std::optional<T> value;  // empty only in the stub
  };

  static std::optional<T> take(Node* node) {
    std::optional<T> value(std::move(node->value));
    delete node;
    return value;
  }

  // The stub has no value; it keeps the list non-empty so producers never see a null head.
  std::atomic<Node*> head_;  // producers' end
  Node* tail_;               // consumer's end
  Node stub_;
};

}  // namespace parley::net
