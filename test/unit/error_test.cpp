// The "ami" error category, through boost::system and std.
#include "ami/error.hpp"

#include <doctest/doctest.h>

#include <boost/system/error_code.hpp>

#include <cstring>
#include <set>
#include <string>
#include <system_error>

namespace {

constexpr int first_error = static_cast<int>(ami::error::line_too_long);
constexpr int last_error = static_cast<int>(ami::error::pbx_removed);

static_assert(first_error == 1, "0 must stay 'no error'");

}  // namespace

TEST_CASE("every enumerator has a distinct name and a message") {
  std::set<std::string> names;
  std::set<std::string> messages;
  for (int v = first_error; v <= last_error; ++v) {
    const auto e = static_cast<ami::error>(v);
    CAPTURE(v);
    const std::string name = ami::error_name(e);
    CHECK_FALSE(name.empty());
    CHECK(name != "unknown");
    CHECK(name.find(' ') == std::string::npos);
    names.insert(name);
    const auto text = ami::make_error_code(e).message();
    CHECK_FALSE(text.empty());
    messages.insert(text);
  }
  const auto count = static_cast<std::size_t>(last_error - first_error + 1);
  CHECK(names.size() == count);
  CHECK(messages.size() == count);
  CHECK(std::string(ami::error_name(ami::error::line_too_long)) == "line_too_long");
  CHECK(std::string(ami::error_name(ami::error::login_failed)) == "login_failed");
  CHECK(std::string(ami::error_name(ami::error::tls_verify_failed)) == "tls_verify_failed");
  CHECK(std::string(ami::error_name(ami::error::slow_consumer)) == "slow_consumer");
  CHECK(std::string(ami::error_name(ami::error::unknown_pbx)) == "unknown_pbx");
  CHECK(std::string(ami::error_name(ami::error::duplicate_pbx)) == "duplicate_pbx");
  CHECK(std::string(ami::error_name(ami::error::pbx_removed)) == "pbx_removed");
}

TEST_CASE("the category is named ami and answers for unknown values") {
  const auto& cat = ami::error_category();
  CHECK(std::string(cat.name()) == "ami");
  CHECK(&cat == &ami::error_category());
  CHECK_FALSE(cat.message(0).empty());
  CHECK_FALSE(cat.message(9999).empty());
  CHECK_FALSE(cat.message(-1).empty());
  CHECK(std::string(ami::error_name(static_cast<ami::error>(9999))) == "unknown");

  // The buffer form truncates and terminates.
  char small[8];
  std::memset(small, 'Z', sizeof small);
  const char* text = cat.message(static_cast<int>(ami::error::login_failed), small, sizeof small);
  CHECK(std::string(text) == cat.message(static_cast<int>(ami::error::login_failed)).substr(0, 7));
  CHECK(small[7] == '\0');
  char large[128];
  CHECK(std::string(cat.message(static_cast<int>(ami::error::login_failed), large, sizeof large)) ==
        cat.message(static_cast<int>(ami::error::login_failed)));
}

TEST_CASE("usable as boost::system::error_code") {
  boost::system::error_code ec = ami::error::login_failed;
  CHECK(ec == ami::error::login_failed);
  CHECK(ec != ami::error::action_failed);
  CHECK(static_cast<bool>(ec));
  CHECK(ec.value() == static_cast<int>(ami::error::login_failed));
  CHECK(ec.category() == ami::error_category());
  CHECK(std::string(ec.category().name()) == "ami");
  CHECK(ec.message() == ami::make_error_code(ami::error::login_failed).message());
  CHECK(ec == ami::make_error_code(ami::error::login_failed));

  // A different category with the same value is a different error.
  const boost::system::error_code other(static_cast<int>(ami::error::login_failed),
                                        boost::system::generic_category());
  CHECK(other != ec);
  CHECK_FALSE(other == ami::error::login_failed);

  ec = ami::error::action_timeout;
  CHECK(ec == ami::error::action_timeout);
  ec.clear();
  CHECK_FALSE(static_cast<bool>(ec));
  CHECK(ec != ami::error::action_timeout);
}

TEST_CASE("usable as std::error_code") {
  std::error_code sec = ami::error::login_failed;
  CHECK(sec == ami::error::login_failed);
  CHECK(sec != ami::error::action_failed);
  CHECK(static_cast<bool>(sec));
  CHECK(sec.value() == static_cast<int>(ami::error::login_failed));
  CHECK(std::string(sec.category().name()) == "ami");
  CHECK(sec.message() == ami::make_error_code(ami::error::login_failed).message());

  // Every route to a std::error_code lands in the same category.
  const std::error_code made = ami::make_std_error_code(ami::error::login_failed);
  CHECK(made == sec);
  CHECK(made.category() == sec.category());
  const boost::system::error_code bec = ami::error::login_failed;
  const std::error_code converted = bec;
  CHECK(converted == sec);
  CHECK(converted == ami::error::login_failed);

  const std::error_code generic(static_cast<int>(ami::error::login_failed),
                                std::generic_category());
  CHECK(generic != sec);
  CHECK_FALSE(generic == ami::error::login_failed);

  for (int v = first_error; v <= last_error; ++v) {
    const auto e = static_cast<ami::error>(v);
    const std::error_code s = e;
    CHECK(s == e);
    CHECK(s.message() == ami::make_error_code(e).message());
  }
}
