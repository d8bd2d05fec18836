#pragma once

#include <cstddef>

namespace faceatlas {

/**
 * Squared Euclidean distance between two float vectors of `dim` values, with the widest SIMD this CPU
 * has (AVX-512, AVX2 with FMA, else the compiler's baseline), chosen once at first use. The
 * approximate neighbour search (HNSW) spends nearly all of its time here; hnswlib's own kernels are
 * chosen at compile time, and Debian builds for baseline x86-64 (SSE2 only).
 */
using L2Function = float (*)(const float* a, const float* b, size_t dim);
L2Function l2SquaredFunction();
/** The kernel l2SquaredFunction() returns: "avx512", "avx2" or "baseline". */
const char* l2SquaredKernel();

namespace detail {
float l2SquaredAvx512(const float* a, const float* b, size_t dim);
float l2SquaredAvx2(const float* a, const float* b, size_t dim);
} // namespace detail

} // namespace faceatlas
