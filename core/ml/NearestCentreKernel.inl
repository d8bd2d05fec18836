// The nearest-centre kernel, written once and compiled twice: NearestCentreAvx512.cpp and
// NearestCentreAvx2.cpp include it with their own `Isa` (vector type, loads, fused multiply-add)
// and their own compiler flags. Everything here is in an anonymous namespace, so the two copies
// never meet at link time (a shared inline function would let the linker run AVX-512 code on an
// AVX2 CPU).
#include <algorithm>
#include <cstdint>
#include <limits>

namespace {

/**
 * Dot products of R rows with C centres over `dim` floats. The R x C accumulators and the C centre
 * vectors stay in registers; each row vector is loaded once per step and used C times.
 */
template <int R, int C>
inline void dotTile(const float* const* rows, const float* const* centres, int64_t dim, float (&out)[R][C])
{
    constexpr int W = Isa::width;
    typename Isa::V acc[R][C];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c)
            acc[r][c] = Isa::zero();
    int64_t j = 0;
    for (; j + W <= dim; j += W) {
        typename Isa::V cv[C];
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c)
            cv[c] = Isa::load(centres[c] + j);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const auto x = Isa::load(rows[r] + j);
#pragma GCC unroll 8
            for (int c = 0; c < C; ++c)
                acc[r][c] = Isa::fma(x, cv[c], acc[r][c]);
        }
    }
    if (j < dim) {
        const int tail = static_cast<int>(dim - j);
        typename Isa::V cv[C];
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c)
            cv[c] = Isa::loadTail(centres[c] + j, tail);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const auto x = Isa::loadTail(rows[r] + j, tail);
#pragma GCC unroll 8
            for (int c = 0; c < C; ++c)
                acc[r][c] = Isa::fma(x, cv[c], acc[r][c]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
        for (int c = 0; c < C; ++c)
            out[r][c] = Isa::sum(acc[r][c]);
}

/** NearestKernel::assign for this ISA: tiles of Isa::rows rows against groups of Isa::centres centres. */
void assignNearest(const float* rows, const float* rowNorms, int64_t count, int64_t dim, const float* centres,
                   const float* centreNorms, int64_t k, int64_t padded, std::int64_t* labels, float* distances)
{
    constexpr int R = Isa::rows, C = Isa::centres;
    for (int64_t i = 0; i < count; i += R) {
        const int live = static_cast<int>(std::min<int64_t>(R, count - i));
        const float* rowPtr[R];
        for (int r = 0; r < R; ++r)
            rowPtr[r] = rows + (i + std::min(r, live - 1)) * dim; // a short last tile repeats its last row
        float best[R];
        std::int64_t bestIndex[R];
        for (int r = 0; r < R; ++r) {
            best[r] = std::numeric_limits<float>::infinity();
            bestIndex[r] = 0;
        }
        for (int64_t c0 = 0; c0 < padded; c0 += C) {
            const float* centrePtr[C];
            for (int c = 0; c < C; ++c)
                centrePtr[c] = centres + (c0 + c) * dim;
            float dot[R][C];
            dotTile<R, C>(rowPtr, centrePtr, dim, dot);
            const int liveCentres = static_cast<int>(std::min<int64_t>(C, k - c0));
            for (int r = 0; r < live; ++r)
                for (int c = 0; c < liveCentres; ++c) {
                    // ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2; strict "<" keeps the first centre on a tie.
                    const float d = rowNorms[i + r] - 2.0f * dot[r][c] + centreNorms[c0 + c];
                    if (d < best[r]) {
                        best[r] = d;
                        bestIndex[r] = c0 + c;
                    }
                }
        }
        for (int r = 0; r < live; ++r) {
            labels[i + r] = bestIndex[r];
            distances[i + r] = std::max(best[r], 0.0f);
        }
    }
}

} // namespace
