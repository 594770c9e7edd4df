// The parser's 64-byte line-end and colon masks: every implementation this CPU supports
// (and the portable one, which any CPU runs) against a byte-by-byte reference.
#include "ami/proto/byte_masks.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

using ami::proto::detail::byte_masks;
using ami::proto::detail::mask_block;
using ami::proto::detail::mask_impl;

namespace {

byte_masks reference(const unsigned char* p) {
  byte_masks m;
  for (unsigned i = 0; i < mask_block; ++i) {
    if (p[i] == '\n') m.lf |= std::uint64_t{1} << i;
    if (p[i] == ':') m.colon |= std::uint64_t{1} << i;
  }
  return m;
}

std::vector<mask_impl> supported() {
  std::vector<mask_impl> out;
  for (const auto m : {mask_impl::portable, mask_impl::sse2, mask_impl::avx2, mask_impl::avx512}) {
    if (ami::proto::detail::mask_impl_supported(m)) out.push_back(m);
  }
  return out;
}

}  // namespace

TEST_CASE("byte masks: every supported implementation matches the reference") {
  const auto impls = supported();
  REQUIRE_FALSE(impls.empty());
  CHECK(impls.front() == mask_impl::portable);
  CHECK(ami::proto::detail::mask_impl_supported(ami::proto::detail::best_mask_impl()));

  // Unaligned blocks: a buffer larger than one block, read at every offset.
  std::vector<unsigned char> buf(mask_block * 3);
  std::uint64_t state = 0x2545F4914F6CDD1DULL;
  const auto next_byte = [&state] {
    state ^= state << 13U;
    state ^= state >> 7U;
    state ^= state << 17U;
    // Mostly the bytes that matter and their near misses (high bit set, one bit off).
    static const unsigned char picks[] = {'\n', ':',  '\r', ' ',  'a',  0x8a, 0xba, 0x0b,
                                          0x3b, 0x00, 0xff, 0x1a, 0x2a, 0x0e, 0x38, 0x7a};
    return (state & 0x100U) != 0 ? picks[state % sizeof picks]
                                 : static_cast<unsigned char>(state >> 24U);
  };
  for (int round = 0; round < 50; ++round) {
    for (auto& b : buf) b = next_byte();
    for (std::size_t off = 0; off + mask_block <= buf.size(); ++off) {
      const byte_masks want = reference(buf.data() + off);
      for (const auto impl : impls) {
        const auto fn = ami::proto::detail::mask_function(impl);
        const byte_masks got = fn(reinterpret_cast<const char*>(buf.data() + off));
        if (got.lf != want.lf || got.colon != want.colon) {
          FAIL_CHECK("implementation " << static_cast<int>(impl) << " differs at offset " << off);
        }
      }
    }
  }

  // Every byte value in every position, alone in a block of zeros and in a block of '\n'.
  for (const int fill : {0, int{'\n'}, int{':'}}) {
    for (unsigned pos = 0; pos < mask_block; ++pos) {
      for (int v = 0; v < 256; ++v) {
        std::string block(mask_block, static_cast<char>(fill));
        block[pos] = static_cast<char>(v);
        const byte_masks want = reference(reinterpret_cast<const unsigned char*>(block.data()));
        for (const auto impl : impls) {
          const byte_masks got = ami::proto::detail::mask_function(impl)(block.data());
          if (got.lf != want.lf || got.colon != want.colon) {
            FAIL_CHECK("implementation " << static_cast<int>(impl) << ", byte " << v << " at "
                                         << pos << " in a block of " << fill);
          }
        }
      }
    }
  }
}
