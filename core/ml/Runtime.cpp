#include "ml/Runtime.h"

#include "util/Parallel.h"

#include <algorithm>
#include <ATen/Parallel.h>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <limits>
#include <malloc.h>
#include <torch/cuda.h>
#include <torch/version.h>

namespace faceatlas {

int configureTorchThreads(int requested)
{
    const int threads = resolveThreadCount(requested);
    if (at::get_num_threads() != threads)
        at::set_num_threads(threads);
    return at::get_num_threads();
}

void configureAllocator()
{
    const char* choice = std::getenv("FACEATLAS_MALLOC");
    if (choice && std::strcmp(choice, "default") == 0)
        return;
    // The same as MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=16G: big tensors come from the heap
    // and stay there for the next step.
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
    mallopt(M_TOP_PAD, 64 << 20);
}

bool cudaAvailable()
{
    return torch::cuda::is_available();
}

std::string torchDescription()
{
    std::string text = "LibTorch " TORCH_VERSION;
    if (cudaAvailable())
        text += " (CUDA available, " + std::to_string(torch::cuda::device_count()) + " GPU)";
    else
        text += " (CPU)";
    return text;
}

std::string blasDescription()
{
    using NameFn = char* (*)();
    const auto core = reinterpret_cast<NameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    const auto config = reinterpret_cast<NameFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
    if (!core)
        return "BLAS: not OpenBLAS (or not loaded)";
    const std::string name = core();
    std::string text = "BLAS: " + std::string(config ? config() : "OpenBLAS") + ", " + name + " kernels";
    // OpenBLAS 0.3.21 falls back to its SSE3 kernels on CPUs it does not know (Xeon family 6
    // model 207 here): matrix products, and so the dense layers, run 3-5x below the CPU's rate.
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
#if defined(__x86_64__)
    __builtin_cpu_init();
    const bool oldKernels = lower == "prescott" || lower == "core2" || lower == "nehalem" || lower == "penryn"
                            || lower == "dunnington" || lower == "atom" || lower == "katmai" || lower == "northwood";
    if (oldKernels && __builtin_cpu_supports("avx512f"))
        text += " on a CPU with AVX-512 (OpenBLAS did not recognise it; OPENBLAS_CORETYPE=SkylakeX runs matrix "
                "products about 5x faster)";
    else if (oldKernels && __builtin_cpu_supports("avx2"))
        text += " on a CPU with AVX2 (OpenBLAS did not recognise it; OPENBLAS_CORETYPE=Haswell runs matrix "
                "products several times faster)";
#endif
    return text;
}

namespace {
void setBlasThreads(int threads)
{
    using SetFn = void (*)(int);
    if (auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(threads);
}
} // namespace

SingleThreadedMath::SingleThreadedMath()
    : m_torch(at::get_num_threads())
{
    using GetFn = int (*)();
    if (auto get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
        m_blas = get();
    setBlasThreads(1);
    at::set_num_threads(1);
}

SingleThreadedMath::~SingleThreadedMath()
{
    at::set_num_threads(m_torch);
    if (m_blas > 0)
        setBlasThreads(m_blas);
}

} // namespace faceatlas
