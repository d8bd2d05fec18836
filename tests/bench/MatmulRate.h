#pragma once
// The machine's float32 matrix-product rate, the yardstick the benchmarks compare against.
#include "BenchSupport.h"

#include <torch/torch.h>

namespace faceatlas::bench {

/** GFLOP/s of a 4096 x 4096 float32 matrix product on `device`: the median of 5 after a warm-up. */
inline double matmulGflops(const torch::Device& device = torch::kCPU)
{
    torch::NoGradGuard noGrad;
    const auto options = torch::TensorOptions().device(device);
    const auto a = torch::rand({4096, 4096}, options), b = torch::rand({4096, 4096}, options);
    std::vector<double> t;
    for (int i = 0; i < 6; ++i) {
        const auto start = Clock::now();
        auto c = torch::mm(a, b);
        if (device.is_cuda())
            c = c.cpu(); // waits for the GPU
        if (i > 0)
            t.push_back(seconds(start));
    }
    return 2.0 * 4096.0 * 4096.0 * 4096.0 / median(t) / 1e9;
}

} // namespace faceatlas::bench
