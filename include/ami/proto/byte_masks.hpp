// Internal to the parser: where the line ends and colons are in a block of 64 bytes, as two
// bit masks, computed with the widest vector instructions the CPU has (chosen once at run
// time) or with plain integer code where there are none.
#pragma once

#include <cstdint>

namespace ami::proto::detail {

// Bit i is set when byte i of the block is '\n' (lf) or ':' (colon).
struct byte_masks {
  std::uint64_t lf = 0;
  std::uint64_t colon = 0;
};

constexpr unsigned mask_block = 64;

enum class mask_impl {
  portable,  // 8 bytes at a time in general-purpose registers (any CPU)
  sse2,      // x86-64 baseline
  avx2,      // x86-64, when the CPU reports it
  avx512,    // x86-64 with AVX-512BW, when the CPU reports it
};

// Reads exactly mask_block bytes from `p` (no alignment needed).
using mask_fn = byte_masks (*)(const char* p) noexcept;

bool mask_impl_supported(mask_impl m) noexcept;
// The function for `m`; the portable one when this build or CPU lacks `m`.
mask_fn mask_function(mask_impl m) noexcept;
// The fastest supported implementation on this CPU.
mask_impl best_mask_impl() noexcept;

}  // namespace ami::proto::detail
