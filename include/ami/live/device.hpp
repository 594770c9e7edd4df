// A device's state (DeviceStateChange, DeviceStateList).
#pragma once

#include "ami/live/device_state.hpp"

#include <string>

namespace ami::live {

struct device {
  std::string device;  // "PJSIP/100", "Queue:support_avail", "Custom:night"
  device_state state = device_state::unknown;
};

inline bool operator==(const device& a, const device& b) {
  return a.device == b.device && a.state == b.state;
}
inline bool operator!=(const device& a, const device& b) { return !(a == b); }

}  // namespace ami::live
