// Compiled with -mavx2 -mfma (core/CMakeLists.txt); runs only where the CPU has AVX2 and FMA.
#include "ml/NearestCentre.h"

#include <immintrin.h>

namespace {
struct Isa {
    using V = __m256;
    static constexpr int width = 8;
    static constexpr int rows = 4, centres = 3; // 12 accumulators + 3 centres + 1 row of 16 registers
    static V zero() { return _mm256_setzero_ps(); }
    static V load(const float* p) { return _mm256_loadu_ps(p); }
    static V loadTail(const float* p, int n)
    {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane));
    }
    static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
    static float sum(V v)
    {
        const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        const __m128 pair = _mm_add_ps(half, _mm_movehl_ps(half, half));
        return _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps(pair, pair, 1)));
    }
};
} // namespace

#include "ml/NearestCentreKernel.inl"

faceatlas::detail::NearestKernel faceatlas::detail::nearestKernelAvx2()
{
    return {"avx2", Isa::centres, &assignNearest};
}
