# Warning flags and sanitizers shared by every target of the project.

function(ami_target_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
      -Wsign-conversion -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
      -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # g++ 12 at -O2/-O3 reports uninitialised reads inside Boost.Function and
      # std::optional that cannot happen (known false positives); clang checks the rest.
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
    if(AMI_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  endif()
endfunction()

if(AMI_SANITIZE)
  string(REPLACE ";" "," _ami_san "${AMI_SANITIZE}")
  add_compile_options(-fsanitize=${_ami_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_ami_san})
endif()

# Targets whose sources all include Asio and the client share one precompiled header: it
# roughly halves their build time (CI has two cores). AMI_PCH=OFF turns it off.
option(AMI_PCH "Precompile the Asio-heavy headers of tests and tools" ON)
function(ami_asio_pch target)
  if(AMI_PCH)
    target_precompile_headers(${target} PRIVATE <boost/asio.hpp> <boost/signals2.hpp>
                              <string> <vector> <memory> <functional>)
  endif()
endfunction()

# clang 14 cannot emit coroutine frames compiled with UBSan ("Cannot represent a difference
# across sections"): C++20 coroutine targets keep ASan/TSan but leave UBSan out.
function(ami_coroutine_sanitizer_workaround target)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND "undefined" IN_LIST AMI_SANITIZE)
    target_compile_options(${target} PRIVATE -fno-sanitize=undefined)
  endif()
endfunction()
