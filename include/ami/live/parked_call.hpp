// A call waiting in a parking lot of res_parking (ParkedCall events and the ParkedCalls list).
#pragma once

#include "ami/live/clock.hpp"

#include <string>

namespace ami::live {

struct parked_call {
  std::string parkee_channel;
  std::string parkee_uniqueid;  // the key
  std::string parking_lot;      // Parkinglot ("default")
  int parking_space = 0;
  std::string parker_dial_string;  // where a timed-out call goes back to ("PJSIP/100")
  time_point parked_at{};          // now minus ParkingDuration when first seen
  time_point expires{};            // when Asterisk gives it back (now plus ParkingTimeout)

  friend bool operator==(const parked_call& a, const parked_call& b) {
    return a.parkee_channel == b.parkee_channel && a.parkee_uniqueid == b.parkee_uniqueid &&
           a.parking_lot == b.parking_lot && a.parking_space == b.parking_space &&
           a.parker_dial_string == b.parker_dial_string && a.parked_at == b.parked_at &&
           a.expires == b.expires;
  }
  friend bool operator!=(const parked_call& a, const parked_call& b) { return !(a == b); }
};

}  // namespace ami::live
