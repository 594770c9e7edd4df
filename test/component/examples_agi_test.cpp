// The AGI example (examples/agi_digits.hpp) against the simulated PBX answering AsyncAGI.
#include "../../examples/agi_digits.hpp"
#include "agi_async_support.hpp"
#include "run_with_deadline.hpp"

#include "ami/testing/server.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;

TEST_CASE("examples: agi_digits stores the caller's digits and returns the call") {
  ami::testing::server srv;
  ami::test::scripted_agi script(srv);
  script.replies = {{"GET DATA enter-ext-of-person 5000 4", "200 result=77 (timeout)\n"}};
  srv.start();
  const auto url = srv.url() + "?timeout=5";
  const std::string chan = "Local/800@default-00000003;2";
  std::thread caller([&] {
    if (srv.wait_for_logins(1, 10s)) ami::test::start_agi(srv, chan);
  });
  const auto r = ami::test::run_with_deadline(
      [url](std::ostream& out, std::ostream&) { return ami_examples::run_agi_digits(url, out); },
      20s);
  caller.join();
  REQUIRE(r.status);
  CHECK(*r.status == 0);
  CHECK(r.out.find("call on " + chan + " from 5552000") != std::string::npos);
  CHECK(r.out.find("digits: 77 (timed out)") != std::string::npos);
  CHECK(script.sent() == std::vector<std::string>{"ANSWER", "GET DATA enter-ext-of-person 5000 4",
                                                  "SET VARIABLE IVR_DIGITS 77", "ASYNCAGI BREAK"});
}
