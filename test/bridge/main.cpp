// The bridge tests' main: doctest, then cnats's global resources freed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <nats/nats.h>

int main(int argc, char** argv) {
  doctest::Context ctx(argc, argv);
  const int rc = ctx.run();
  nats_CloseAndWait(5000);
  return rc;
}
