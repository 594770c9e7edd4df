#include "ami/proto/byte_masks.hpp"

#include <cstring>
#include <initializer_list>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AMI_X86_MASKS 1
#include <immintrin.h>
#endif

namespace ami::proto::detail {
namespace {

// A byte of 0x80 where the byte of `x` equals the byte repeated in `pattern`, 0 elsewhere
// (exact: no carry crosses from one byte into the next).
std::uint64_t equal_bytes(std::uint64_t x, std::uint64_t pattern) noexcept {
  constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL;
  const std::uint64_t t = x ^ pattern;
  return ~(((t & low7) + low7) | t | low7);
}

// The top bit of each byte of `m` (only bits 7, 15, ... set) gathered into 8 bits; byte i of
// the word (in memory order, little-endian) becomes bit i.
unsigned gather_top_bits(std::uint64_t m) noexcept {
  return static_cast<unsigned>(((m >> 7) * 0x0102040810204080ULL) >> 56);
}

byte_masks masks_portable(const char* p) noexcept {
  constexpr std::uint64_t lf = 0x0a0a0a0a0a0a0a0aULL;
  constexpr std::uint64_t colon = 0x3a3a3a3a3a3a3a3aULL;
  byte_masks out;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  for (unsigned i = 0; i < mask_block; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, sizeof w);
    out.lf |= std::uint64_t{gather_top_bits(equal_bytes(w, lf))} << i;
    out.colon |= std::uint64_t{gather_top_bits(equal_bytes(w, colon))} << i;
  }
#else
  for (unsigned i = 0; i < mask_block; ++i) {
    out.lf |= std::uint64_t{p[i] == '\n'} << i;
    out.colon |= std::uint64_t{p[i] == ':'} << i;
  }
#endif
  return out;
}

#if defined(AMI_X86_MASKS)

std::uint64_t bits16(__m128i v, __m128i pattern) noexcept {
  return static_cast<std::uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, pattern)));
}

byte_masks masks_sse2(const char* p) noexcept {
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i colon = _mm_set1_epi8(':');
  byte_masks out;
  for (unsigned i = 0; i < mask_block; i += 16) {
    __m128i v;
    std::memcpy(&v, p + i, sizeof v);  // an unaligned load
    out.lf |= bits16(v, lf) << i;
    out.colon |= bits16(v, colon) << i;
  }
  return out;
}

__attribute__((target("avx2"))) std::uint64_t bits32(__m256i v, __m256i pattern) noexcept {
  return static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, pattern)));
}

__attribute__((target("avx2"))) byte_masks masks_avx2(const char* p) noexcept {
  const __m256i lf = _mm256_set1_epi8('\n');
  const __m256i colon = _mm256_set1_epi8(':');
  __m256i lo;
  __m256i hi;
  std::memcpy(&lo, p, sizeof lo);
  std::memcpy(&hi, p + 32, sizeof hi);
  byte_masks out;
  out.lf = bits32(lo, lf) | bits32(hi, lf) << 32;
  out.colon = bits32(lo, colon) | bits32(hi, colon) << 32;
  return out;
}

__attribute__((target("avx512f,avx512bw"))) byte_masks masks_avx512(const char* p) noexcept {
  const __m512i v = _mm512_loadu_si512(p);
  byte_masks out;
  out.lf = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n'));
  out.colon = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(':'));
  return out;
}

#endif

}  // namespace

bool mask_impl_supported(mask_impl m) noexcept {
#if defined(AMI_X86_MASKS)
  switch (m) {
    case mask_impl::portable:
    case mask_impl::sse2: return true;
    case mask_impl::avx2: __builtin_cpu_init(); return __builtin_cpu_supports("avx2");
    case mask_impl::avx512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  }
  return false;
#else
  return m == mask_impl::portable;
#endif
}

mask_fn mask_function(mask_impl m) noexcept {
  if (!mask_impl_supported(m)) return masks_portable;
  switch (m) {
    case mask_impl::portable: return masks_portable;
#if defined(AMI_X86_MASKS)
    case mask_impl::sse2: return masks_sse2;
    case mask_impl::avx2: return masks_avx2;
    case mask_impl::avx512: return masks_avx512;
#else
    case mask_impl::sse2:
    case mask_impl::avx2:
    case mask_impl::avx512: break;
#endif
  }
  return masks_portable;
}

mask_impl best_mask_impl() noexcept {
  static const mask_impl best = [] {
    for (const auto m : {mask_impl::avx512, mask_impl::avx2, mask_impl::sse2}) {
      if (mask_impl_supported(m)) return m;
    }
    return mask_impl::portable;
  }();
  return best;
}

}  // namespace ami::proto::detail
