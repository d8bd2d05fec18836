// Compiled with -mavx512f -mfma (core/CMakeLists.txt); runs only where the CPU has AVX-512F.
#include "ml/NearestCentre.h"

// GCC 12's AVX-512 intrinsics pass _mm256_undefined_*() as the unused merge source, which its own
// -Wmaybe-uninitialized then reports inside <immintrin.h> (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

namespace {
struct Isa {
    using V = __m512;
    static constexpr int width = 16;
    static constexpr int rows = 5, centres = 5; // 25 accumulators + 5 centres + 1 row of 32 registers
    static V zero() { return _mm512_setzero_ps(); }
    static V load(const float* p) { return _mm512_loadu_ps(p); }
    static V loadTail(const float* p, int n) { return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p); }
    static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
    static float sum(V v) { return _mm512_reduce_add_ps(v); }
};
} // namespace

#include "ml/NearestCentreKernel.inl"

faceatlas::detail::NearestKernel faceatlas::detail::nearestKernelAvx512()
{
    return {"avx512", Isa::centres, &assignNearest};
}
