#include "ml/NearestCentre.h"

#include "util/Error.h"

#include <cstdlib>
#include <cstring>

namespace faceatlas {

namespace {

/**
 * The kernel for this CPU, chosen once. FACEATLAS_NEAREST_KERNEL=avx2 or =none forces a smaller one
 * (for tests and for comparing against the matrix product); it can never pick one the CPU lacks.
 */
const detail::NearestKernel* chosenKernel()
{
    static const detail::NearestKernel* chosen = []() -> const detail::NearestKernel* {
#if FACEATLAS_X86_KERNELS
        static detail::NearestKernel avx512 = detail::nearestKernelAvx512(), avx2 = detail::nearestKernelAvx2();
        const char* force = std::getenv("FACEATLAS_NEAREST_KERNEL");
        const bool allow512 = !force || std::strcmp(force, "avx512") == 0;
        const bool allow2 = allow512 || std::strcmp(force, "avx2") == 0;
        __builtin_cpu_init();
        if (allow512 && __builtin_cpu_supports("avx512f"))
            return &avx512;
        if (allow2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            return &avx2;
#endif
        return nullptr;
    }();
    return chosen;
}

} // namespace

const char* NearestCentres::kernel()
{
    const auto* k = chosenKernel();
    return k ? k->name : nullptr;
}

NearestCentres::NearestCentres(const float* centres, int64_t k, int64_t dim)
    : k_(k)
    , dim_(dim)
    , padded_(k)
{
    if (k < 1 || dim < 1)
        throw Error("nearest centre: needs at least one centre and one dimension");
    if (const auto* kernel = chosenKernel())
        padded_ = (k + kernel->groupSize - 1) / kernel->groupSize * kernel->groupSize;
    centres_.assign(static_cast<size_t>(padded_ * dim), 0.0f);
    std::memcpy(centres_.data(), centres, static_cast<size_t>(k * dim) * sizeof(float));
    norms_.resize(static_cast<size_t>(k));
    for (int64_t c = 0; c < k; ++c) {
        double s = 0;
        for (int64_t j = 0; j < dim; ++j)
            s += static_cast<double>(centres[c * dim + j]) * centres[c * dim + j];
        norms_[static_cast<size_t>(c)] = static_cast<float>(s);
    }
}

void NearestCentres::assign(const float* rows, const float* rowNorms, int64_t count, std::int64_t* labels,
                            float* distances) const
{
    const auto* kernel = chosenKernel();
    if (!kernel)
        throw Error("nearest centre: this CPU has no AVX2 or AVX-512 kernel");
    kernel->assign(rows, rowNorms, count, dim_, centres_.data(), norms_.data(), k_, padded_, labels, distances);
}

} // namespace faceatlas
