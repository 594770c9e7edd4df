# Runs ami-decode for one test case and checks its exit status and output.
#   cmake -DTOOL=<ami-decode> -DDATA=<test/data> -DWORK=<scratch dir> -DCASE=<name> -P this
# Cases: server, client, stdin, two_files, malformed, garbage, summary, summary_malformed,
# usage, unreadable, help.

cmake_minimum_required(VERSION 3.21)

foreach(var TOOL DATA WORK CASE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

function(fail what)
  message(FATAL_ERROR "decode ${CASE}: ${what}\n--- stdout ---\n${out}\n--- stderr ---\n${err}")
endfunction()

# Runs the tool; sets out, err and rc in the caller.
macro(run_tool)
  cmake_parse_arguments(RUN "" "STDIN" "ARGS" ${ARGN})
  if(RUN_STDIN)
    execute_process(COMMAND ${TOOL} ${RUN_ARGS} INPUT_FILE ${RUN_STDIN} OUTPUT_VARIABLE out
                    ERROR_VARIABLE err RESULT_VARIABLE rc)
  else()
    execute_process(COMMAND ${TOOL} ${RUN_ARGS} OUTPUT_VARIABLE out ERROR_VARIABLE err
                    RESULT_VARIABLE rc)
  endif()
endmacro()

function(expect_exit code)
  if(NOT rc STREQUAL "${code}")
    fail("exit status ${rc}, expected ${code}")
  endif()
endfunction()

# Messages in a capture: one per blank line, plus the banner on the server side.
# Read as hex: file(READ) as text drops carriage returns. The pattern only matches at byte
# boundaries because every other token is one whole byte.
function(count_messages file with_banner out_var)
  file(READ ${file} hex HEX)
  string(REGEX MATCHALL "(0d0a0d0a|..)" tokens "${hex}")
  list(FILTER tokens INCLUDE REGEX "^0d0a0d0a$")
  list(LENGTH tokens n)
  if(with_banner)
    math(EXPR n "${n} + 1")
  endif()
  set(${out_var} ${n} PARENT_SCOPE)
endfunction()

# Splits the output into lines LINE_0 .. LINE_<n-1> and LINE_COUNT in the caller, checking
# that each line is a JSON object with a known kind. Lists are avoided: JSON text holds
# ';' and brackets, which CMake lists would mangle.
function(read_lines)
  set(rest "${out}")
  set(i 0)
  while(NOT rest STREQUAL "")
    string(FIND "${rest}" "\n" nl)
    if(nl EQUAL -1)
      fail("the last line has no line end")
    endif()
    string(SUBSTRING "${rest}" 0 ${nl} line)
    math(EXPR nl "${nl} + 1")
    string(SUBSTRING "${rest}" ${nl} -1 rest)
    string(JSON kind ERROR_VARIABLE json_error GET "${line}" kind)
    if(json_error)
      fail("line ${i} is not a JSON object with a kind (${json_error}): ${line}")
    endif()
    if(NOT kind MATCHES "^(banner|action|response|event|text|error)$")
      fail("line ${i} has an unknown kind '${kind}'")
    endif()
    set(LINE_${i} "${line}" PARENT_SCOPE)
    math(EXPR i "${i} + 1")
  endwhile()
  set(LINE_COUNT ${i} PARENT_SCOPE)
endfunction()

function(expect_line_count n)
  if(NOT LINE_COUNT EQUAL n)
    fail("${LINE_COUNT} output lines, expected ${n}")
  endif()
endfunction()

function(expect_line index regex)
  if(NOT DEFINED LINE_${index})
    fail("no line ${index}")
  endif()
  if(NOT "${LINE_${index}}" MATCHES "${regex}")
    fail("line ${index} does not match ${regex}: ${LINE_${index}}")
  endif()
endfunction()

function(expect_text text)
  string(FIND "${out}" "${text}" pos)
  if(pos EQUAL -1)
    fail("the output lacks ${text}")
  endif()
endfunction()

function(expect_no_kind kind)
  string(FIND "${out}" "{\"kind\":\"${kind}\"" pos)
  if(NOT pos EQUAL -1)
    fail("the output holds a ${kind} line")
  endif()
endfunction()

set(banner_13 [=[^{"kind":"banner","banner":"Asterisk Call Manager/13\.0\.0","version":"13\.0\.0","fields":\[\]}$]=])
set(login_action [=[^{"kind":"action","fields":\[\["Action","Login"\],\["Username","admin"\]]=])
set(server ${DATA}/session1.raw)
set(client ${DATA}/session1.sent.raw)

if(CASE STREQUAL "server")
  run_tool(ARGS ${server})
  expect_exit(0)
  read_lines()
  count_messages(${server} TRUE n)
  expect_line_count(${n})
  expect_line(0 "${banner_13}")
  expect_line(1 [=[^{"kind":"response","fields":\[\["Response","Success"\],\["ActionID","1"\]]=])
  expect_line(2 [=[^{"kind":"event","fields":\[\["Event","FullyBooted"\]]=])
  expect_no_kind(error)
  expect_no_kind(action)

elseif(CASE STREQUAL "client")
  run_tool(ARGS ${client})
  expect_exit(0)
  read_lines()
  count_messages(${client} FALSE n)
  expect_line_count(${n})
  expect_line(0 "${login_action}")
  expect_no_kind(banner)
  expect_no_kind(error)

elseif(CASE STREQUAL "stdin")
  run_tool(STDIN ${server})
  expect_exit(0)
  read_lines()
  count_messages(${server} TRUE n)
  expect_line_count(${n})
  expect_line(0 "${banner_13}")
  set(first_run "${out}")
  run_tool(ARGS - STDIN ${server})
  if(NOT out STREQUAL first_run)
    fail("'-' and no argument give different output")
  endif()

elseif(CASE STREQUAL "two_files")
  # The side is decided per file: the client capture after the server one still decodes.
  run_tool(ARGS ${server} ${client})
  expect_exit(0)
  read_lines()
  count_messages(${server} TRUE n_server)
  count_messages(${client} FALSE n_client)
  math(EXPR n "${n_server} + ${n_client}")
  expect_line_count(${n})
  expect_line(0 "${banner_13}")
  expect_line(${n_server} "${login_action}")

elseif(CASE STREQUAL "malformed")
  # Valid messages (one with control characters and invalid UTF-8, a legacy Command answer,
  # a text message), then a message cut off by the end of the file. A byte that is not
  # UTF-8 (0xff) comes out as the code point of its value (U+00FF, "ÿ").
  run_tool(ARGS ${DATA}/malformed.raw)
  expect_exit(1)
  read_lines()
  expect_line_count(6)
  expect_line(0 "${banner_13}")
  expect_line(1 [=[^{"kind":"response",]=])
  expect_line(2 [=[\["Data","tab\\there ctl\\u0001 badÿ utf8 é quote\\" backslash\\\\ end"\]]=])
  expect_line(3 [=[^{"kind":"response","fields":\[\["Response","Follows"\],\["Privilege","Command"\],\["ActionID","5"\]\],"output":\["line one","line \\"two\\""\]}$]=])
  expect_line(4 [=[^{"kind":"text","fields":\[\],"lines":\["support has 0 calls .*","   No Members"\]}$]=])
  expect_line(5 [=[^{"kind":"error","error":"incomplete_message"}$]=])

elseif(CASE STREQUAL "garbage")
  # Overlong garbage lines (over the parser's 64 KiB line limit), one inside a message and
  # one between messages: an error line for each, and the messages after them decode.
  string(ASCII 1 255 junk_bytes)
  string(REPEAT "junk ${junk_bytes} " 12000 junk)
  file(MAKE_DIRECTORY ${WORK})
  set(input ${WORK}/garbage.raw)
  file(WRITE ${input} "Asterisk Call Manager/13.0.0\r\n"
                      "Response: Success\r\nActionID: 1\r\n${junk}\r\nMessage: lost\r\n\r\n"
                      "Event: FullyBooted\r\nPrivilege: system,all\r\n\r\n"
                      "${junk}\r\n\r\n"
                      "Response: Success\r\nActionID: 2\r\nPing: Pong\r\n\r\n")
  run_tool(ARGS ${input})
  expect_exit(1)
  read_lines()
  expect_line_count(5)
  expect_line(0 "${banner_13}")
  expect_line(1 [=[^{"kind":"error","error":"line_too_long"}$]=])
  expect_line(2 [=[^{"kind":"event","fields":\[\["Event","FullyBooted"\],\["Privilege","system,all"\]\]}$]=])
  expect_line(3 [=[^{"kind":"error","error":"line_too_long"}$]=])
  expect_line(4 [=[^{"kind":"response","fields":\[\["Response","Success"\],\["ActionID","2"\],\["Ping","Pong"\]\]}$]=])

elseif(CASE STREQUAL "summary")
  run_tool(ARGS --summary ${server})
  expect_exit(0)
  string(JSON messages GET "${out}" messages)
  count_messages(${server} TRUE n)
  if(NOT messages EQUAL n)
    fail("summary counts ${messages} messages, expected ${n}")
  endif()
  expect_text([=["kinds":{"banner":1,"action":0,"response":11,"event":33,"text":0}]=])
  expect_text([=["DeviceStateChange":5,]=])
  expect_text([=["FullyBooted":1,]=])
  expect_text([=["OriginateResponse":1,]=])
  expect_text([=["errors":{}}]=])

elseif(CASE STREQUAL "summary_malformed")
  run_tool(ARGS --summary ${DATA}/malformed.raw)
  expect_exit(1)
  expect_text([=[{"messages":5,"kinds":{"banner":1,"action":0,"response":2,"event":1,"text":1},"events":{"UserEvent":1},"errors":{"incomplete_message":1}}]=])

elseif(CASE STREQUAL "usage")
  run_tool(ARGS --no-such-option ${server})
  expect_exit(2)
  if(NOT out STREQUAL "")
    fail("a usage error printed output")
  endif()
  if(NOT err MATCHES "unknown option --no-such-option")
    fail("stderr does not name the bad option")
  endif()

elseif(CASE STREQUAL "unreadable")
  # A missing file is reported and the next file still decodes.
  run_tool(ARGS ${WORK}/no-such-file.raw ${server})
  expect_exit(2)
  if(NOT err MATCHES "cannot open .*no-such-file.raw")
    fail("stderr does not name the missing file")
  endif()
  read_lines()
  count_messages(${server} TRUE n)
  expect_line_count(${n})

elseif(CASE STREQUAL "help")
  run_tool(ARGS --help)
  expect_exit(0)
  expect_text("Usage: ami-decode [--summary] [FILE...]")
  expect_text("--summary")

else()
  message(FATAL_ERROR "unknown case ${CASE}")
endif()
