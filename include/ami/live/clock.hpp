// The clock of the live model. The reducer never reads it: whoever feeds events passes the
// time they arrived, so the logic stays deterministic and testable.
#pragma once

#include <chrono>

namespace ami::live {

using clock = std::chrono::system_clock;
using time_point = clock::time_point;

}  // namespace ami::live
