#include "ml/Runtime.h"

#include "util/Parallel.h"

#include <algorithm>
#include <ATen/Parallel.h>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <exception>
#include <limits>
#include <malloc.h>
#include <mutex>
#include <thread>
#include <torch/cuda.h>
#include <torch/version.h>
#include <vector>

namespace faceatlas {

namespace {

void setBlasThreads(int threads)
{
    using SetFn = void (*)(int);
    if (auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
        set(threads);
}

std::atomic_bool g_budgetSet{false};

} // namespace

int configureTorchThreads(int requested)
{
    if (requested <= 0 && g_budgetSet.exchange(true))
        return at::get_num_threads(); // set at start-up (or by --threads): kept
    g_budgetSet = true;
    const int threads = resolveThreadCount(requested);
    if (at::get_num_threads() != threads)
        at::set_num_threads(threads);
    setBlasThreads(threads);
    return at::get_num_threads();
}

void parallelOnMathThreads(std::size_t count, int workers, const std::function<void(std::size_t, int)>& fn)
{
    workers = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(std::max(1, workers)), count));
    if (workers <= 1) {
        for (std::size_t i = 0; i < count; ++i)
            fn(i, 0);
        return;
    }
    std::atomic<std::size_t> next{0};
    std::atomic_bool failed{false};
    std::exception_ptr error;
    std::mutex errorMutex;
    const auto work = [&](int worker) {
        // LibTorch's thread count is OpenMP's, and OpenMP keeps it per thread: this worker reads the
        // budget first (as every new thread does) and then uses one math thread, the others unchanged.
        at::internal::lazy_init_num_threads();
        using SetFn = void (*)(int);
        static const auto setOpenMpThreads = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
        if (setOpenMpThreads)
            setOpenMpThreads(1);
        try {
            for (std::size_t i; !failed.load(std::memory_order_relaxed) && (i = next++) < count;)
                fn(i, worker);
        } catch (...) {
            std::lock_guard<std::mutex> lock(errorMutex);
            if (!error)
                error = std::current_exception();
            failed = true;
        }
    };
    // Threads of their own that end here, so that no thread's settings outlive the call (workers
    // that wait do not spin either).
    std::vector<std::thread> pool;
    pool.reserve(static_cast<std::size_t>(workers));
    for (int w = 0; w < workers; ++w)
        pool.emplace_back(work, w);
    for (auto& thread : pool)
        thread.join();
    if (error)
        std::rethrow_exception(error);
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

} // namespace faceatlas
