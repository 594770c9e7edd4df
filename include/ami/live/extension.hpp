// A hint's extension state (ExtensionStatus, ExtensionStateList).
#pragma once

#include <string>

namespace ami::live {

struct extension {
  std::string exten;
  std::string context;
  std::string hint;  // "PJSIP/100&Custom:dnd100"
  // Asterisk's extension state: -2 removed, -1 deactivated, 0 idle, else a sum of
  // 1 in use, 2 busy, 4 unavailable, 8 ringing, 16 on hold.
  int status = 0;
  std::string status_text;  // "Idle", "InUse", "Ringing", "InUse&Ringing", ...

  friend bool operator==(const extension& a, const extension& b) {
    return a.exten == b.exten && a.context == b.context && a.hint == b.hint &&
           a.status == b.status && a.status_text == b.status_text;
  }
  friend bool operator!=(const extension& a, const extension& b) { return !(a == b); }
};

}  // namespace ami::live
