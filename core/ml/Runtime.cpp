#include "ml/Runtime.h"

#include "util/Parallel.h"

#include <ATen/Parallel.h>
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
