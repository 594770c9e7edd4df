// The pending side of an asynchronous operation, as the pure session logic sees it.
#pragma once

#include "ami/response.hpp"

#include <boost/system/error_code.hpp>

#include <memory>

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
