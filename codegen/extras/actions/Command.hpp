// extra: hand-written members of ami::actions::command, pasted in by codegen/generate.py.
#include "ami/message.hpp"

  // The answer's output as lines, whatever the server's format: the "Response: Follows"
  // body of Asterisk 13 and older, or the Output fields of Asterisk 14 and newer.
  static std::vector<std::string_view> output_lines(const ami::message& response) {
    return response.output();
  }
