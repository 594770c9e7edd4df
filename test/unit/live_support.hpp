// Building AMI events for the live model's tests: literal wire text, parsed and owned.
#pragma once

#include "../support/test_data.hpp"
#include "ami/live/reducer.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

namespace ami::live::test {

// One message from its headers, "Name: value" lines without the trailing blank line.
inline ami::message wire(const std::string& headers) {
  ami::proto::parser_options o;
  o.expect_banner = false;
  auto parsed = ami::test::parse_all(headers + "\r\n", o);
  REQUIRE(parsed.size() == 1);
  REQUIRE_FALSE(parsed[0].is_error);
  return parsed[0].msg;
}

// A channel snapshot block with the given prefix, as Asterisk writes it.
inline std::string snapshot(const std::string& prefix, const std::string& name,
                            const std::string& uniqueid, const std::string& linkedid, int state = 0,
                            const std::string& cid = "", const std::string& exten = "s") {
  static const char* const names[] = {"Down",    "Rsrvd", "OffHook", "Dialing",         "Ring",
                                      "Ringing", "Up",    "Busy",    "Dialing Offhook", "Pre-ring"};
  const std::string p = prefix;
  return p + "Channel: " + name + "\r\n" + p + "ChannelState: " + std::to_string(state) + "\r\n" +
         p + "ChannelStateDesc: " + names[state] + "\r\n" + p + "CallerIDNum: " + cid + "\r\n" + p +
         "CallerIDName: \r\n" + p + "ConnectedLineNum: \r\n" + p + "ConnectedLineName: \r\n" + p +
         "Language: en\r\n" + p + "AccountCode: \r\n" + p + "Context: default\r\n" + p +
         "Exten: " + exten + "\r\n" + p + "Priority: 1\r\n" + p + "Uniqueid: " + uniqueid + "\r\n" +
         p + "Linkedid: " + linkedid + "\r\n";
}

inline std::string bridge_block(const std::string& prefix, const std::string& id,
                                int channels = 0) {
  const std::string p = prefix;
  return p + "BridgeUniqueid: " + id + "\r\n" + p + "BridgeType: basic\r\n" + p +
         "BridgeTechnology: simple_bridge\r\n" + p + "BridgeCreator: <unknown>\r\n" + p +
         "BridgeName: <unknown>\r\n" + p + "BridgeNumChannels: " + std::to_string(channels) +
         "\r\n" + p + "BridgeVideoSourceMode: none\r\n";
}

inline std::string member_block(const std::string& queue, const std::string& iface, int status,
                                int paused = 0, int penalty = 0, int calls_taken = 0) {
  return "Queue: " + queue + "\r\nMemberName: " + iface + " name\r\nInterface: " + iface +
         "\r\nStateInterface: " + iface +
         "\r\nMembership: dynamic\r\nPenalty: " + std::to_string(penalty) +
         "\r\nCallsTaken: " + std::to_string(calls_taken) +
         "\r\nLastCall: 0\r\nLastPause: 0\r\nLoginTime: 1796293723\r\nInCall: 0\r\nStatus: " +
         std::to_string(status) + "\r\nPaused: " + std::to_string(paused) +
         "\r\nPausedReason: \r\nRinginuse: 1\r\nWrapuptime: 0\r\n";
}

inline ami::live::time_point at(int seconds) {
  return ami::live::time_point{} + std::chrono::seconds(1800000000LL + seconds);
}

// The messages of a capture of test/data, server side.
inline std::vector<ami::message> capture(const std::string& name) {
  ami::proto::parser_options o;
  o.expect_banner = true;
  std::vector<ami::message> out;
  for (auto& r : ami::test::parse_all(ami::test::read_data(name), o)) {
    if (!r.is_error) out.push_back(std::move(r.msg));
  }
  return out;
}

}  // namespace ami::live::test
