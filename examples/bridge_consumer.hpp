// A consumer of ami-bridge's stream with the NATS C client (cnats): a durable pull consumer
// (several processes with the same durable name share the work), every message printed
// and acknowledged, gap markers pointed out, and one action sent to a PBX through the bridge.
#pragma once

#include <nats/nats.h>

#include <chrono>
#include <cstddef>
#include <ostream>
#include <string>

namespace ami::examples {

struct bridge_consumer_options {
  std::string url = "nats://127.0.0.1:4222";
  std::string stream = "AMI";
  std::string prefix = "ami";
  std::string durable = "example";  // the consumer's name, kept by the server
  std::string action_pbx;           // when set: Ping this PBX through the bridge first
  std::size_t max_messages = 0;     // 0: until the stream stays quiet for `idle`
  std::chrono::milliseconds idle{2000};
};

inline std::string header_of(natsMsg* m, const char* key) {
  const char* v = nullptr;
  return natsMsgHeader_Get(m, key, &v) == NATS_OK && v != nullptr ? v : "";
}

// Returns 0 once done, 1 when NATS or the stream cannot be reached.
inline int run_bridge_consumer(const bridge_consumer_options& o, std::ostream& out,
                               std::ostream& err) {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  natsSubscription* sub = nullptr;
  int rc = 1;
  natsStatus s = natsConnection_ConnectTo(&nc, o.url.c_str());
  if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, nullptr);
  if (s == NATS_OK && !o.action_pbx.empty()) {
    // Actions are plain NATS requests: a JSON object of the action's fields.
    const std::string subject = o.prefix + "." + o.action_pbx + ".action";
    natsMsg* reply = nullptr;
    if (natsConnection_RequestString(&reply, nc, subject.c_str(), R"({"Action":"Ping"})", 5000) ==
        NATS_OK) {
      out << "action reply: "
          << std::string(natsMsg_GetData(reply),
                         static_cast<std::size_t>(natsMsg_GetDataLength(reply)))
          << '\n';
      natsMsg_Destroy(reply);
    } else {
      out << "action: no reply (is a bridge running for " << o.action_pbx << "?)\n";
    }
  }
  if (s == NATS_OK) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = o.stream.c_str();
    so.Config.AckPolicy = js_AckExplicit;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const std::string subject = o.prefix + ".>";
    s = js_PullSubscribe(&sub, js, subject.c_str(), o.durable.c_str(), nullptr, &so, &jerr);
  }
  if (s != NATS_OK) {
    err << "bridge_consumer: " << natsStatus_GetText(s) << '\n';
  } else {
    rc = 0;
    std::size_t seen = 0;
    while (o.max_messages == 0 || seen < o.max_messages) {
      natsMsgList list{};
      jsErrCode jerr = static_cast<jsErrCode>(0);
      s = natsSubscription_Fetch(&list, sub, 64, o.idle.count(), &jerr);
      if (s == NATS_TIMEOUT) break;  // quiet for `idle`
      if (s != NATS_OK) {
        err << "bridge_consumer: fetch: " << natsStatus_GetText(s) << '\n';
        rc = 1;
        break;
      }
      for (int i = 0; i < list.Count; ++i) {
        natsMsg* m = list.Msgs[i];
        const std::string kind = header_of(m, "Ami-Kind");
        out << header_of(m, "Ami-Pbx") << ' ' << kind;
        if (kind == "event") out << " #" << header_of(m, "Ami-Seq");
        out << ' '
            << std::string(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)))
            << '\n';
        // A gap marker: events of that PBX may be missing, resynchronise its state (for
        // example with a status action) before trusting it again.
        if (kind == "gap") out << "  -> resync " << header_of(m, "Ami-Pbx") << '\n';
        natsMsg_Ack(m, nullptr);
        ++seen;
      }
      natsMsgList_Destroy(&list);
    }
    out << seen << " messages\n";
  }
  if (sub != nullptr) natsSubscription_Destroy(sub);
  if (js != nullptr) jsCtx_Destroy(js);
  if (nc != nullptr) {
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
  }
  return rc;
}

}  // namespace ami::examples
