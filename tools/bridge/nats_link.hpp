// The one file around the NATS C client (cnats): a connection with its JetStream context,
// the stream and the lease bucket, pipelined asynchronous publishing, request
// subscriptions and the key-value calls of the lease. Callbacks come on cnats threads; the
// bridge posts them onto its own executor.
#pragma once

#include "config.hpp"
#include "outbox.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ami::bridge {

// The NATS headers of every message the bridge publishes.
inline constexpr const char* header_pbx = "Ami-Pbx";
inline constexpr const char* header_session = "Ami-Session";
inline constexpr const char* header_seq = "Ami-Seq";
inline constexpr const char* header_kind = "Ami-Kind";  // event, state or gap
inline constexpr const char* header_bridge = "Ami-Bridge";

class nats_link {
 public:
  // The outcome of one publish.
  struct ack {
    std::string pbx;
    std::string msg_id;
    bool ok = false;
    std::string error;  // when not ok
  };

  struct callbacks {
    // Outcomes are waiting in take_acks() (called when the first one arrives after a
    // take_acks(), so a burst of acknowledgements costs one wake-up); on a cnats thread.
    std::function<void()> acks;
    // The publishing connection went down (false) or a new one is up (true, with its
    // generation); on a cnats thread.
    std::function<void(bool up, std::uint64_t generation)> connection;
  };

  // Connects (retrying in the background when no server answers yet). `max_pending` bounds
  // cnats's own queue of unacknowledged publishes; `ack_timeout` fails a publish that got
  // no acknowledgement. On failure returns null with `problem` set.
  static std::unique_ptr<nats_link> connect(const nats_config& cfg, std::size_t max_pending,
                                            std::chrono::milliseconds ack_timeout, callbacks cbs,
                                            std::string& problem);
  ~nats_link();
  nats_link(const nats_link&) = delete;
  nats_link& operator=(const nats_link&) = delete;

  bool connected() const;
  // The current publishing connection's number (1 for the first, 0 before it).
  std::uint64_t generation() const;
  // Waits for the first connection (cnats retries in the background) until `until`.
  bool wait_connected(std::chrono::steady_clock::time_point until);

  // Creates the stream when it is missing, else makes sure it holds `subjects`.
  std::optional<std::string> ensure_stream(const stream_config& s,
                                           const std::vector<std::string>& subjects);

  // Publishes without waiting on the publishing connection `generation` (the one the
  // caller was told about); the outcome comes through callbacks::acks. False when the
  // message was not taken (that connection is gone): it stays the caller's to send again.
  bool publish(std::uint64_t generation, const std::string& pbx, const std::string& bridge_id,
               const outbound& m);
  // The outcomes that arrived since the last call, in arrival order.
  std::vector<ack> take_acks();
  // Waits up to `timeout` for every publish to be acknowledged (js_PublishAsyncComplete).
  bool wait_published(std::chrono::milliseconds timeout);

  // A subscription to requests; `on_request(body, reply_subject)` runs on a cnats thread.
  // Destroying the returned handle unsubscribes and waits until no callback runs.
  class subscription;
  std::unique_ptr<subscription> subscribe(
      const std::string& subject, const std::string& queue,
      std::function<void(std::string body, std::string reply)> on_request);
  // Sends a reply (plain NATS publish).
  void reply(const std::string& subject, std::string_view body);

  // ---- key-value (blocking calls: the lease runs them on its own thread)

  std::optional<std::string> ensure_bucket(const std::string& bucket,
                                           std::chrono::milliseconds ttl);
  struct kv_entry {
    std::string value;
    std::uint64_t revision = 0;
  };
  // The key's entry; empty when missing, deleted or expired; `problem` on failure.
  std::optional<kv_entry> kv_get(const std::string& key, std::string& problem);
  // Creates the key (only when missing); its revision, or 0 (taken, or the problem).
  std::uint64_t kv_create(const std::string& key, std::string_view value, std::string& problem);
  // Updates the key if its revision is still `last`; the new revision, or 0.
  std::uint64_t kv_update(const std::string& key, std::string_view value, std::uint64_t last,
                          std::string& problem);

  struct state;

 private:
  explicit nats_link(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

// A request subscription; destroying it unsubscribes and waits for its callbacks to end.
class nats_link::subscription {
 public:
  struct state;
  explicit subscription(std::unique_ptr<state> s);
  ~subscription();
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;

 private:
  std::unique_ptr<state> s_;
};

}  // namespace ami::bridge
