// The pending side of an asynchronous operation, as the pure session logic sees it.
#pragma once

#include "ami/response.hpp"

#include <boost/system/error_code.hpp>

#include <memory>
#include <utility>

namespace ami::detail {

class operation {
 public:
  operation() = default;
  operation(const operation&) = delete;
  operation& operator=(const operation&) = delete;
  virtual ~operation() = default;

  // Delivers the outcome. Called at most once, on the client's executor. Implementations
  // hand the result to the user's handler through its executor; the handler never runs
  // inside this call.
  virtual void complete(const boost::system::error_code& ec, response r) = 0;
  // The same, called from the client's I/O completions only (never from inside an
  // initiating function): the handler may run inside this call when its executor is the one
  // running here, which saves a trip through the scheduler per action. It may throw what
  // the handler throws.
  virtual void complete_here(const boost::system::error_code& ec, response r) {
    complete(ec, std::move(r));
  }
};

using operation_ptr = std::unique_ptr<operation>;

// An operation that finished, with its outcome, waiting to be completed by the caller of
// the pure logic. `op` may be null (internal actions such as Login whose answer only
// matters to the session).
struct finished_op {
  operation_ptr op;
  boost::system::error_code ec;
  response resp;
};

}  // namespace ami::detail
