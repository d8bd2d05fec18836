#include "ml/Runtime.h"

#include "util/Parallel.h"

#include <ATen/Parallel.h>
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

} // namespace faceatlas
