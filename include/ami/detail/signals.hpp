// Signal types of the client: slots run one after the other and an exception thrown by one
// is reported (client::set_exception_handler) without stopping the others or the reader.
#pragma once

#include "ami/connection_state.hpp"
#include "ami/detail/event_slots.hpp"
#include "ami/message.hpp"

#include <boost/signals2/signal.hpp>
#include <boost/system/error_code.hpp>

#include <exception>

namespace ami::detail {

// Receives the exceptions slots throw. Lives in the client; signals keep a pointer to it.
class slot_exception_sink {
 public:
  virtual void report(std::exception_ptr e) noexcept = 0;

 protected:
  ~slot_exception_sink() = default;
};

// A signals2 combiner that calls every slot and hands exceptions to the sink.
struct guarded_combiner {
  using result_type = void;
  slot_exception_sink* sink = nullptr;

  template <class Iterator>
  void operator()(Iterator first, Iterator last) const {
    for (; first != last; ++first) {
      try {
        *first;
      } catch (...) {
        if (sink != nullptr) sink->report(std::current_exception());
      }
    }
  }
};

// Events: signals2 semantics, a much cheaper emission (see event_slots.hpp).
using event_signal = event_slots;
using state_signal =
    boost::signals2::signal<void(connection_state, const boost::system::error_code&),
                            guarded_combiner>;
using transition_signal = boost::signals2::signal<void(const state_transition&), guarded_combiner>;

}  // namespace ami::detail
