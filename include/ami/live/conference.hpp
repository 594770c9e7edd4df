// A ConfBridge room (Confbridge* events and the ConfbridgeListRooms list) and its users.
#pragma once

#include <string>
#include <vector>

namespace ami::live {

struct conference {
  std::string conference;  // the room's name, the key
  int parties = 0;         // users in the room, waiting ones too
  int marked = 0;          // marked users (from the list; events do not report it)
  bool locked = false;
  bool muted = false;
  // The users' channel uniqueids, sorted. The list action reports only counts: after a
  // sync the users are the channels whose application is ConfBridge(<room>,...).
  std::vector<std::string> users;
};

inline bool operator==(const conference& a, const conference& b) {
  return a.conference == b.conference && a.parties == b.parties && a.marked == b.marked &&
         a.locked == b.locked && a.muted == b.muted && a.users == b.users;
}
inline bool operator!=(const conference& a, const conference& b) { return !(a == b); }

}  // namespace ami::live
