#pragma once

#include <cstdint>
#include <vector>

namespace faceatlas {

/**
 * Nearest centre of each row, by squared Euclidean distance, with our own SIMD kernels (AVX-512 or
 * AVX2 with FMA, chosen once from the CPU's features).
 *
 * Why not a BLAS matrix product: k-means has few centres (25 for 2,888-wide codes), so the product
 * is a thin one that BLAS packs and runs far below its peak; and OpenBLAS 0.3.21 (Debian 12) does
 * not know recent Xeons (family 6 model 207) and falls back to its SSE3 "Prescott" kernels, 5x
 * slower than this CPU can go. The kernel reads each row once per centre group while it is in the
 * first-level cache, keeps 4 rows x 6 centres of partial dot products in registers, and never
 * writes the distance matrix.
 *
 * Lifetime: the object copies the centres (padded to the kernel's group size) and their squared
 * norms; it holds no pointer to the caller's data. assign() only reads its arguments and may run
 * on several threads at once.
 */
class NearestCentres {
public:
    /** `centres` is k x dim, row-major. */
    NearestCentres(const float* centres, int64_t k, int64_t dim);

    /** The kernel this CPU runs: "avx512", "avx2", or nullptr when it has neither (use a matrix product). */
    static const char* kernel();
    bool available() const { return kernel() != nullptr; }

    /**
     * For `count` rows (row-major, `dim` floats apart) and their squared norms: each row's nearest
     * centre (the first one on a tie) and its squared distance, clamped at 0. Needs available().
     */
    void assign(const float* rows, const float* rowNorms, int64_t count, std::int64_t* labels, float* distances) const;

    int64_t k() const { return k_; }
    int64_t dim() const { return dim_; }

private:
    int64_t k_, dim_, padded_;
    std::vector<float> centres_; // padded_ x dim_, the padding rows zero
    std::vector<float> norms_;   // k_
};

namespace detail {
/** One ISA's kernel: the same contract as NearestCentres::assign, centres padded to `groupSize()`. */
struct NearestKernel {
    const char* name;
    int groupSize; // centres per register tile
    void (*assign)(const float* rows, const float* rowNorms, int64_t count, int64_t dim, const float* centres,
                   const float* centreNorms, int64_t k, int64_t padded, std::int64_t* labels, float* distances);
};
NearestKernel nearestKernelAvx512();
NearestKernel nearestKernelAvx2();
} // namespace detail

} // namespace faceatlas
