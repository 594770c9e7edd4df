#include "nats_link.hpp"

#include <nats/nats.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

namespace ami::bridge {

namespace {

std::string status_text(natsStatus s) {
  std::string text = natsStatus_GetText(s);
  const char* detail = nats_GetLastError(nullptr);
  if (detail != nullptr && *detail != '\0' && text != detail) text += std::string(": ") + detail;
  return text;
}

std::int64_t nanos(std::chrono::nanoseconds d) { return static_cast<std::int64_t>(d.count()); }

}  // namespace

// Two connections: the control one (cnats reconnects it; the stream, the lease bucket,
// the action subscriptions and their replies) and the publisher. The publisher is never
// reconnected by cnats: after a loss it is replaced by a new connection, so that nothing
// cnats buffered on the old one can reach the stream after the bridge has started sending
// the unacknowledged messages again, which would store them out of order.
struct nats_link::state {
  natsOptions* opts = nullptr;      // control
  natsOptions* pub_opts = nullptr;  // publisher
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  std::int64_t ack_timeout_ms = 5000;
  std::int64_t max_pending = 1024;

  // The callbacks, reachable from cnats threads until the link goes; the flags below.
  std::mutex mutex;
  std::condition_variable cv;
  callbacks cbs;
  std::vector<ack> acks;
  bool closed = false;      // the control connection's closed callback ran
  bool pub_closed = false;  // the current publisher's closed callback ran
  bool pub_needed = true;   // the publisher thread is to (re)connect
  bool stopping = false;
  bool connected_once = false;

  // The current publisher (replaced by the publisher thread).
  mutable std::mutex pub_mutex;
  natsConnection* pub_nc = nullptr;
  jsCtx* pub_js = nullptr;
  std::uint64_t pub_generation = 0;  // counts the publisher connections made
  std::thread pub_thread;

  void emit_ack(ack a) {
    const std::lock_guard<std::mutex> lock(mutex);
    acks.push_back(std::move(a));
    if (acks.size() == 1 && cbs.acks) cbs.acks();
  }
  void emit_connection(bool up, std::uint64_t generation) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (up) connected_once = true;
    if (cbs.connection) cbs.connection(up, generation);
    cv.notify_all();
  }
  void emit_closed() {
    const std::lock_guard<std::mutex> lock(mutex);
    closed = true;
    cv.notify_all();
  }
  void publisher_closed() {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      pub_closed = true;
      pub_needed = true;
      cv.notify_all();
    }
    emit_connection(false, 0);
  }

  void run_publisher();

  // The publishes a closed context still waits for: taken from cnats and freed (they are
  // the bridge's to send again; the context would keep them, and itself, alive).
  static void drop_pending(jsCtx* js) {
    if (js == nullptr) return;
    natsMsgList pending{};
    if (js_PublishAsyncGetPendingList(&pending, js) == NATS_OK) natsMsgList_Destroy(&pending);
  }

  ~state() {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      cbs = {};
      stopping = true;
      cv.notify_all();
    }
    if (pub_thread.joinable()) pub_thread.join();
    if (pub_nc != nullptr) {
      natsConnection_Close(pub_nc);
      std::unique_lock<std::mutex> lock(mutex);
      cv.wait_for(lock, std::chrono::seconds(5), [this] { return pub_closed; });
    }
    drop_pending(pub_js);
    if (pub_js != nullptr) jsCtx_Destroy(pub_js);
    if (pub_nc != nullptr) natsConnection_Destroy(pub_nc);
    if (nc != nullptr) {
      natsConnection_Close(nc);
      // The closed callback is the connection's last: after it none reaches this object.
      std::unique_lock<std::mutex> lock(mutex);
      cv.wait_for(lock, std::chrono::seconds(5), [this] { return closed; });
    }
    if (kv != nullptr) kvStore_Destroy(kv);
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) natsConnection_Destroy(nc);
    if (pub_opts != nullptr) natsOptions_Destroy(pub_opts);
    if (opts != nullptr) natsOptions_Destroy(opts);
  }
};

namespace {

std::string header(natsMsg* m, const char* key) {
  const char* v = nullptr;
  if (natsMsgHeader_Get(m, key, &v) != NATS_OK || v == nullptr) return {};
  return v;
}

void on_pub_ack(jsCtx*, natsMsg* msg, jsPubAck*, jsPubAckErr* pae, void* closure) {
  auto* st = static_cast<nats_link::state*>(closure);
  std::string error;
  if (pae != nullptr) {
    error = pae->ErrText != nullptr && *pae->ErrText != '\0' ? pae->ErrText
                                                             : natsStatus_GetText(pae->Err);
  }
  st->emit_ack(
      {header(msg, header_pbx), header(msg, "Nats-Msg-Id"), pae == nullptr, std::move(error)});
  // With an acknowledgement handler the message is the handler's to free.
  natsMsg_Destroy(msg);
}

void on_closed(natsConnection*, void* closure) {
  static_cast<nats_link::state*>(closure)->emit_closed();
}
// The control connection came up after a first failed attempt: wake wait_connected().
void on_control_connected(natsConnection*, void* closure) {
  auto* st = static_cast<nats_link::state*>(closure);
  const std::lock_guard<std::mutex> lock(st->mutex);
  st->cv.notify_all();
}
void on_pub_closed(natsConnection*, void* closure) {
  static_cast<nats_link::state*>(closure)->publisher_closed();
}

}  // namespace

void nats_link::state::run_publisher() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex);
      cv.wait(lock, [this] { return stopping || pub_needed; });
      if (stopping) return;
      pub_needed = false;
    }
    natsConnection* old_nc = nullptr;
    jsCtx* old_js = nullptr;
    {
      const std::lock_guard<std::mutex> lock(pub_mutex);
      std::swap(old_nc, pub_nc);
      std::swap(old_js, pub_js);
    }
    // Closed already (its closed callback asked for this): what it buffered goes with it.
    drop_pending(old_js);
    if (old_js != nullptr) jsCtx_Destroy(old_js);
    if (old_nc != nullptr) natsConnection_Destroy(old_nc);
    for (;;) {
      natsConnection* fresh = nullptr;
      {
        const std::lock_guard<std::mutex> lock(mutex);
        pub_closed = false;
      }
      if (natsConnection_Connect(&fresh, pub_opts) == NATS_OK) {
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 2000;
        jo.PublishAsync.MaxPending = max_pending;
        jo.PublishAsync.AckHandler = on_pub_ack;
        jo.PublishAsync.AckHandlerClosure = this;
        jsCtx* fresh_js = nullptr;
        if (natsConnection_JetStream(&fresh_js, fresh, &jo) == NATS_OK) {
          std::uint64_t generation = 0;
          {
            const std::lock_guard<std::mutex> lock(pub_mutex);
            pub_nc = fresh;
            pub_js = fresh_js;
            generation = ++pub_generation;
          }
          emit_connection(true, generation);
          break;
        }
        natsConnection_Destroy(fresh);
      } else if (fresh != nullptr) {
        natsConnection_Destroy(fresh);
      }
      std::unique_lock<std::mutex> lock(mutex);
      // Between attempts; a stop ends the wait.
      if (cv.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping; })) return;
    }
  }
}

namespace {}  // namespace

namespace {

// What both connections share: the servers, the name, credentials, TLS, timeouts.
natsStatus make_options(natsOptions** out, const nats_config& cfg, const std::string& name) {
  natsStatus s = natsOptions_Create(out);
  if (s != NATS_OK) return s;
  natsOptions* o = *out;
  std::vector<const char*> servers;
  for (const auto& url : cfg.servers) servers.push_back(url.c_str());
  s = natsOptions_SetServers(o, servers.data(), static_cast<int>(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetName(o, name.c_str());
  if (s == NATS_OK && !cfg.user.empty()) {
    s = natsOptions_SetUserInfo(o, cfg.user.c_str(), cfg.password.c_str());
  }
  if (s == NATS_OK && !cfg.token.empty()) s = natsOptions_SetToken(o, cfg.token.c_str());
  if (s == NATS_OK && !cfg.credentials_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(o, cfg.credentials_file.c_str(), nullptr);
  }
  if (s == NATS_OK && !cfg.nkey_seed_file.empty()) {
    s = natsOptions_SetUserCredentialsFromFiles(o, nullptr, cfg.nkey_seed_file.c_str());
  }
  if (s == NATS_OK && (cfg.tls || !cfg.ca_file.empty())) s = natsOptions_SetSecure(o, true);
  if (s == NATS_OK && !cfg.ca_file.empty()) {
    s = natsOptions_LoadCATrustedCertificates(o, cfg.ca_file.c_str());
  }
  if (s == NATS_OK) s = natsOptions_SetTimeout(o, 2000);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(o, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(o, 2);
  return s;
}

}  // namespace

std::unique_ptr<nats_link> nats_link::connect(const nats_config& cfg, std::size_t max_pending,
                                              std::chrono::milliseconds ack_timeout, callbacks cbs,
                                              std::string& problem) {
  auto st = std::make_unique<state>();
  st->cbs = std::move(cbs);
  st->ack_timeout_ms = ack_timeout.count();
  auto fail = [&](const char* what, natsStatus s) {
    problem = std::string(what) + ": " + status_text(s);
    return nullptr;
  };
  natsStatus s = make_options(&st->opts, cfg, cfg.name);
  // Reconnect for ever, quickly: the bridge buffers meanwhile.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(st->opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(st->opts, 100);
  if (s == NATS_OK) s = natsOptions_SetReconnectJitter(st->opts, 50, 50);
  if (s == NATS_OK) {
    s = natsOptions_SetRetryOnFailedConnect(st->opts, true, on_control_connected, st.get());
  }
  if (s == NATS_OK) s = natsOptions_SetClosedCB(st->opts, on_closed, st.get());
  if (s != NATS_OK) return fail("NATS options", s);
  // The publisher: the same servers and credentials, never reconnected by cnats.
  s = make_options(&st->pub_opts, cfg, cfg.name + "-publisher");
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(st->pub_opts, false);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(st->pub_opts, on_pub_closed, st.get());
  if (s != NATS_OK) return fail("NATS options", s);

  s = natsConnection_Connect(&st->nc, st->opts);
  // With retry on a failed connect, NATS_NOT_YET_CONNECTED: on_control_connected tells.
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) return fail("NATS connect", s);

  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 2000;
  s = natsConnection_JetStream(&st->js, st->nc, &jo);
  if (s != NATS_OK) return fail("JetStream", s);
  st->max_pending = static_cast<std::int64_t>(max_pending);
  st->pub_thread = std::thread([raw = st.get()] { raw->run_publisher(); });
  return std::unique_ptr<nats_link>(new nats_link(std::move(st)));
}

nats_link::nats_link(std::unique_ptr<state> s) : s_(std::move(s)) {}

nats_link::~nats_link() {
  // Let the acknowledgements of what is in flight arrive before the context goes.
  if (connected()) wait_published(std::chrono::seconds(1));
}

bool nats_link::connected() const {
  const std::lock_guard<std::mutex> lock(s_->pub_mutex);
  return s_->pub_nc != nullptr && natsConnection_Status(s_->pub_nc) == NATS_CONN_STATUS_CONNECTED;
}

std::uint64_t nats_link::generation() const {
  const std::lock_guard<std::mutex> lock(s_->pub_mutex);
  return s_->pub_generation;
}

bool nats_link::wait_connected(std::chrono::steady_clock::time_point until) {
  std::unique_lock<std::mutex> lock(s_->mutex);
  return s_->cv.wait_until(lock, until, [this] {
    return s_->connected_once && natsConnection_Status(s_->nc) == NATS_CONN_STATUS_CONNECTED;
  });
}

std::optional<std::string> nats_link::ensure_stream(const stream_config& sc,
                                                    const std::vector<std::string>& subjects) {
  std::vector<const char*> subs;
  for (const auto& x : subjects) subs.push_back(x.c_str());
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = sc.name.c_str();
  cfg.Subjects = subs.data();
  cfg.SubjectsLen = static_cast<int>(subs.size());
  cfg.Retention = sc.retention == retention_policy::interest    ? js_InterestPolicy
                  : sc.retention == retention_policy::workqueue ? js_WorkQueuePolicy
                                                                : js_LimitsPolicy;
  cfg.Storage = sc.storage == storage_kind::memory ? js_MemoryStorage : js_FileStorage;
  cfg.Replicas = sc.replicas;
  cfg.MaxAge = nanos(sc.max_age);
  cfg.MaxBytes = sc.max_bytes;
  cfg.Duplicates = nanos(sc.duplicate_window);

  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, s_->js, sc.name.c_str(), nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    si = nullptr;
    // It exists: bring its subjects and limits to the configuration (an update keeps the
    // messages; the server refuses what cannot change, such as the storage).
    s = js_UpdateStream(&si, s_->js, &cfg, nullptr, &jerr);
  } else if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
    s = js_AddStream(&si, s_->js, &cfg, nullptr, &jerr);
  }
  if (si != nullptr) jsStreamInfo_Destroy(si);
  if (s != NATS_OK) return "stream " + sc.name + ": " + status_text(s);
  return std::nullopt;
}

bool nats_link::publish(std::uint64_t generation, const std::string& pbx,
                        const std::string& bridge_id, const outbound& m) {
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, m.subject.c_str(), nullptr, m.payload.data(),
                                static_cast<int>(m.payload.size()));
  if (s != NATS_OK) return false;
  const char* kind = m.kind == outbound_kind::event   ? "event"
                     : m.kind == outbound_kind::state ? "state"
                                                      : "gap";
  s = natsMsgHeader_Set(msg, "Nats-Msg-Id", m.msg_id.c_str());
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, header_pbx, pbx.c_str());
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, header_kind, kind);
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, header_bridge, bridge_id.c_str());
  if (s == NATS_OK && !m.session.empty()) {
    s = natsMsgHeader_Set(msg, header_session, m.session.c_str());
  }
  if (s == NATS_OK && m.seq != 0) {
    s = natsMsgHeader_Set(msg, header_seq, std::to_string(m.seq).c_str());
  }
  if (s != NATS_OK) {
    natsMsg_Destroy(msg);
    return false;
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = s_->ack_timeout_ms;
  {
    const std::lock_guard<std::mutex> lock(s_->pub_mutex);
    // Only on the connection the caller was told about (and rewound its buffer for).
    s = s_->pub_js != nullptr && s_->pub_generation == generation
            ? js_PublishMsgAsync(s_->pub_js, &msg, &po)
            : NATS_NOT_YET_CONNECTED;
  }
  // On success cnats owns the message (and set `msg` to null).
  if (msg != nullptr) natsMsg_Destroy(msg);
  return s == NATS_OK;
}

std::vector<nats_link::ack> nats_link::take_acks() {
  std::vector<ack> out;
  const std::lock_guard<std::mutex> lock(s_->mutex);
  out.swap(s_->acks);
  return out;
}

bool nats_link::wait_published(std::chrono::milliseconds timeout) {
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout.count();
  const std::lock_guard<std::mutex> lock(s_->pub_mutex);
  return s_->pub_js != nullptr && js_PublishAsyncComplete(s_->pub_js, &po) == NATS_OK;
}

// ---- subscriptions

struct nats_link::subscription::state {
  std::function<void(std::string, std::string)> on_request;
  natsSubscription* sub = nullptr;
  std::mutex mutex;
  std::condition_variable cv;
  bool complete = false;
};

nats_link::subscription::subscription(std::unique_ptr<state> s) : s_(std::move(s)) {}

nats_link::subscription::~subscription() {
  natsSubscription_Unsubscribe(s_->sub);
  // The completion callback runs once no message callback can run any more.
  std::unique_lock<std::mutex> lock(s_->mutex);
  s_->cv.wait_for(lock, std::chrono::seconds(5), [this] { return s_->complete; });
  lock.unlock();
  natsSubscription_Destroy(s_->sub);
}

namespace {

void on_request_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* sub = static_cast<nats_link::subscription::state*>(closure);
  std::string body(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  const char* reply = natsMsg_GetReply(msg);
  std::string to = reply != nullptr ? reply : "";
  natsMsg_Destroy(msg);
  sub->on_request(std::move(body), std::move(to));
}

void on_sub_complete(void* closure) {
  auto* sub = static_cast<nats_link::subscription::state*>(closure);
  const std::lock_guard<std::mutex> lock(sub->mutex);
  sub->complete = true;
  sub->cv.notify_all();
}

}  // namespace

std::unique_ptr<nats_link::subscription> nats_link::subscribe(
    const std::string& subject, const std::string& queue,
    std::function<void(std::string, std::string)> on_request) {
  auto sub = std::make_unique<subscription::state>();
  sub->on_request = std::move(on_request);
  natsStatus s = natsConnection_QueueSubscribe(&sub->sub, s_->nc, subject.c_str(), queue.c_str(),
                                               on_request_msg, sub.get());
  if (s == NATS_OK) s = natsSubscription_SetOnCompleteCB(sub->sub, on_sub_complete, sub.get());
  if (s != NATS_OK) {
    if (sub->sub != nullptr) natsSubscription_Destroy(sub->sub);
    return nullptr;
  }
  return std::make_unique<subscription>(std::move(sub));
}

void nats_link::reply(const std::string& subject, std::string_view body) {
  if (subject.empty()) return;
  natsConnection_Publish(s_->nc, subject.c_str(), body.data(), static_cast<int>(body.size()));
}

// ---- key-value

std::optional<std::string> nats_link::ensure_bucket(const std::string& bucket,
                                                    std::chrono::milliseconds ttl) {
  if (s_->kv != nullptr) return std::nullopt;
  natsStatus s = js_KeyValue(&s_->kv, s_->js, bucket.c_str());
  if (s == NATS_OK) return std::nullopt;
  kvConfig kc;
  kvConfig_Init(&kc);
  kc.Bucket = bucket.c_str();
  kc.History = 1;
  kc.TTL = nanos(ttl);  // nanoseconds, as the stream's MaxAge
  s = js_CreateKeyValue(&s_->kv, s_->js, &kc);
  if (s == NATS_OK) return std::nullopt;
  const std::string created = status_text(s);
  // Another bridge may have created it meanwhile.
  if (js_KeyValue(&s_->kv, s_->js, bucket.c_str()) == NATS_OK) return std::nullopt;
  return "lease bucket " + bucket + ": " + created;
  return std::nullopt;
}

std::optional<nats_link::kv_entry> nats_link::kv_get(const std::string& key, std::string& problem) {
  kvEntry* e = nullptr;
  const natsStatus s = kvStore_Get(&e, s_->kv, key.c_str());
  if (s == NATS_NOT_FOUND) return std::nullopt;
  if (s != NATS_OK) {
    problem = status_text(s);
    return std::nullopt;
  }
  kv_entry out;
  out.value.assign(static_cast<const char*>(kvEntry_Value(e)),
                   static_cast<std::size_t>(kvEntry_ValueLen(e)));
  out.revision = kvEntry_Revision(e);
  kvEntry_Destroy(e);
  return out;
}

std::uint64_t nats_link::kv_create(const std::string& key, std::string_view value,
                                   std::string& problem) {
  std::uint64_t rev = 0;
  const natsStatus s =
      kvStore_Create(&rev, s_->kv, key.c_str(), value.data(), static_cast<int>(value.size()));
  if (s != NATS_OK) problem = status_text(s);
  return s == NATS_OK ? rev : 0;
}

std::uint64_t nats_link::kv_update(const std::string& key, std::string_view value,
                                   std::uint64_t last, std::string& problem) {
  std::uint64_t rev = 0;
  const natsStatus s =
      kvStore_Update(&rev, s_->kv, key.c_str(), value.data(), static_cast<int>(value.size()), last);
  if (s != NATS_OK) problem = status_text(s);
  return s == NATS_OK ? rev : 0;
}

}  // namespace ami::bridge
