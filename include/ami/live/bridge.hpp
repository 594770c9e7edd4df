// A bridge (the bridge snapshot headers) and the channels in it.
#pragma once

#include <string>
#include <vector>

namespace ami::live {

struct bridge {
  std::string bridge_uniqueid;
  std::string bridge_type;        // "basic", "holding", ...
  std::string bridge_technology;  // "simple_bridge", "softmix", ...
  std::string bridge_creator;
  std::string bridge_name;
  std::string bridge_video_source_mode;  // "none", "talker", "single"
  std::vector<std::string> channels;     // uniqueids, in the order they entered

  friend bool operator==(const bridge& a, const bridge& b) {
    return a.bridge_uniqueid == b.bridge_uniqueid && a.bridge_type == b.bridge_type &&
           a.bridge_technology == b.bridge_technology && a.bridge_creator == b.bridge_creator &&
           a.bridge_name == b.bridge_name &&
           a.bridge_video_source_mode == b.bridge_video_source_mode && a.channels == b.channels;
  }
  friend bool operator!=(const bridge& a, const bridge& b) { return !(a == b); }
};

}  // namespace ami::live
