#include "ml/L2Distance.h"

#include <cstdlib>
#include <cstring>

namespace faceatlas {

namespace {

float l2SquaredBaseline(const float* a, const float* b, size_t dim)
{
    float sum = 0;
    for (size_t i = 0; i < dim; ++i)
        sum += (a[i] - b[i]) * (a[i] - b[i]);
    return sum;
}

struct Choice {
    L2Function function = l2SquaredBaseline;
    const char* name = "baseline";
};

Choice choose()
{
    Choice c;
#if FACEATLAS_X86_KERNELS
    // FACEATLAS_NEAREST_KERNEL=avx2|none narrows the choice, as for k-means' kernel (ml/NearestCentre.cpp).
    const char* only = std::getenv("FACEATLAS_NEAREST_KERNEL");
    const bool allow512 = !only || std::strcmp(only, "avx512") == 0;
    const bool allow2 = !only || std::strcmp(only, "avx512") == 0 || std::strcmp(only, "avx2") == 0;
    __builtin_cpu_init();
    if (allow512 && __builtin_cpu_supports("avx512f"))
        return {detail::l2SquaredAvx512, "avx512"};
    if (allow2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return {detail::l2SquaredAvx2, "avx2"};
#endif
    return c;
}

const Choice& chosen()
{
    static const Choice c = choose();
    return c;
}

} // namespace

L2Function l2SquaredFunction()
{
    return chosen().function;
}

const char* l2SquaredKernel()
{
    return chosen().name;
}

} // namespace faceatlas
