// AsyncAGI component tests: a scripted server that answers the AGI action and sends
// AsyncAGIStart / AsyncAGIExec / AsyncAGIEnd in Asterisk's form.
#pragma once

#include "ami/testing/server.hpp"
#include "ami/url.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace ami::test {

inline std::string env_block(const std::string& channel, const std::string& extra = {}) {
  return "agi_request: async\nagi_channel: " + channel +
         "\nagi_language: en\nagi_type: Local\nagi_uniqueid: 1796294749.95\n"
         "agi_callerid: 5552000\nagi_calleridname: AGI Caller\nagi_context: default\n"
         "agi_extension: 800\nagi_priority: 1\n" +
         extra + "\n";
}

// Answers `Action: AGI` like Asterisk: Success, then AsyncAGIExec with the reply from the
// script (by command line; "200 result=0" when unscripted). A command whose reply is
// "hold" is acknowledged but not answered.
struct scripted_agi {
  explicit scripted_agi(ami::testing::server& srv, std::string id_key = "CommandId")
      : srv_(srv), key(std::move(id_key)) {
    srv.on_action("AGI", [this](ami::testing::session& s, const ami::message& a) {
      const in_handler running(*this);
      const std::string channel(a.get("Channel").value_or(""));
      const std::string command(a.get("Command").value_or(""));
      const std::string id(a.get("CommandID").value_or(""));
      std::string answer = "200 result=0\n";
      {
        const std::lock_guard<std::mutex> lock(mutex);
        commands.push_back(command);
        ids.push_back(id);
        if (gone.count(channel) != 0) {
          s.respond(
              a, {{"Response", "Error"}, {"Message", "Channel " + channel + " does not exist."}});
          return true;
        }
        if (const auto it = replies.find(command); it != replies.end()) answer = it->second;
      }
      s.respond(a, {{"Response", "Success"}, {"Message", "Added AGI command to queue"}});
      if (answer == "hold") return true;
      s.send({{"Event", "AsyncAGIExec"},
              {"Privilege", "agi,all"},
              {"Channel", channel},
              {"Result", result_field(answer)},
              {key, id}});
      return true;
    });
  }

  // The Result header: URL-encoded like Asterisk's, verbatim with raw_result or a "raw:"
  // prefix.
  std::string result_field(const std::string& answer) const {
    if (answer.rfind("raw:", 0) == 0) return answer.substr(4);
    return raw_result ? answer : ami::percent_encode(answer);
  }

  // The server thread may still be answering an action when the test ends: unregister, then
  // wait (bounded) until no handler runs.
  ~scripted_agi() {
    srv_.on_action("AGI", {});
    std::unique_lock<std::mutex> lock(mutex);
    idle.wait_for(lock, std::chrono::seconds(10), [&] { return running_handlers == 0; });
  }
  scripted_agi(const scripted_agi&) = delete;
  scripted_agi& operator=(const scripted_agi&) = delete;

  std::vector<std::string> sent() {
    const std::lock_guard<std::mutex> lock(mutex);
    return commands;
  }

  struct in_handler {
    explicit in_handler(scripted_agi& a) : agi(a) {
      const std::lock_guard<std::mutex> lock(agi.mutex);
      ++agi.running_handlers;
    }
    in_handler(const in_handler&) = delete;
    in_handler& operator=(const in_handler&) = delete;
    ~in_handler() {
      const std::lock_guard<std::mutex> lock(agi.mutex);
      --agi.running_handlers;
      agi.idle.notify_all();
    }
    scripted_agi& agi;
  };

  ami::testing::server& srv_;
  std::mutex mutex;
  std::condition_variable idle;
  int running_handlers = 0;
  std::string key;
  bool raw_result = false;
  std::map<std::string, std::string> replies;
  std::set<std::string> gone;
  std::vector<std::string> commands;
  std::vector<std::string> ids;
};

inline void start_agi(ami::testing::server& srv, const std::string& channel,
                      const std::string& env = {}) {
  srv.push_event({{"Event", "AsyncAGIStart"},
                  {"Privilege", "agi,all"},
                  {"Channel", channel},
                  {"Env", ami::percent_encode(env.empty() ? env_block(channel) : env)}});
}

inline void end_agi(ami::testing::server& srv, const std::string& channel, const char* name) {
  srv.push_event({{"Event", name}, {"Privilege", "agi,all"}, {"Channel", channel}});
}

}  // namespace ami::test
