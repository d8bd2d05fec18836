// k-means at the capstone's size: N = 175,000 codes of D = 2,888, k = 25, one start, 20 Lloyd
// iterations. Reads the peers' data (kmeans_data.py) when given a file, else draws the same kind.
#include "MatmulRate.h"
#include "ml/KMeans.h"
#include "ml/NearestCentre.h"
#include "ml/Runtime.h"
#include "util/MappedFile.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <torch/torch.h>

using namespace faceatlas;
using namespace faceatlas::bench;

int main(int argc, char** argv)
{
    if (argc > 1 && std::strcmp(argv[1], "--cuda-available") == 0) { // for tests/bench/gpu-check.sh
        std::puts(cudaAvailable() ? "yes" : "no");
        return 0;
    }
    configureAllocator();
    configureTorchThreads(0);
    torch::NoGradGuard noGrad;
    const int64_t d = 2888, k = 25;
    const char* file = argc > 1 ? argv[1] : nullptr;
    const int64_t n = argc > 2 ? std::atoll(argv[2]) : 175000;
    const double peak = matmulGflops(cudaAvailable() && !std::getenv("BENCH_CPU") ? torch::kCUDA : torch::kCPU);
    std::printf("%s\nnearest-centre kernel: %s\n", blasDescription().c_str(),
                NearestCentres::kernel() ? NearestCentres::kernel() : "none (matrix products)");
    const long rssBefore = usage().ru_maxrss;
    MappedFile mapped;
    torch::Tensor data;
    if (file && std::strcmp(file, "-") != 0) {
        mapped = MappedFile::openReadOnly(file, /*populate=*/true);
        const int64_t rows = static_cast<int64_t>(mapped.size() / (d * sizeof(float)));
        data = torch::from_blob(const_cast<std::uint8_t*>(mapped.data()), {rows, d}, torch::kFloat);
        std::printf("data: %s (%lld x %lld, the peers' generator)\n", file, static_cast<long long>(rows),
                    static_cast<long long>(d));
    } else {
        // 25 overlapping blobs: centres ~ N(0, 0.1^2) per dimension, unit Gaussian noise (as the peers).
        torch::manual_seed(0);
        const auto centres = torch::randn({k, d}) * 0.1;
        const auto labels = torch::randint(k, {n}, torch::kLong);
        data = torch::randn({n, d});
        for (int64_t s = 0; s < n; s += 10000)
            data.narrow(0, s, std::min<int64_t>(10000, n - s)) +=
                centres.index_select(0, labels.narrow(0, s, std::min<int64_t>(10000, n - s)));
        std::printf("data: drawn in process (%lld x %lld)\n", static_cast<long long>(n), static_cast<long long>(d));
    }
    const double codesGb = data.numel() * 4.0 / 1e9;
    KMeansParams p;
    p.k = static_cast<int>(k);
    p.restarts = 1;
    p.maxIterations = 20;
    p.tolerance = 0;
    p.seed = 0;
    if (const char* chunk = std::getenv("KMEANS_CHUNK_ROWS"))
        p.chunkRows = std::atoll(chunk);
    // On a GPU machine the codes go to the GPU (not timed), as `faceatlas-cli cluster --device auto` does.
    const torch::Device device = cudaAvailable() && !std::getenv("BENCH_CPU") ? torch::kCUDA : torch::kCPU;
    if (device.is_cuda()) {
        data = data.to(device);
        std::printf("device: cuda (BENCH_CPU=1 for the CPU)\n");
    }
    const auto start = Clock::now();
    const KMeansResult r = kmeans(data, p);
    const double total = seconds(start);
    const double perIteration = r.iterationSeconds / r.iterations;
    const double gflops = 2.0 * data.size(0) * k * d / perIteration / 1e9;
    std::printf("k-means k=%lld, 1 start, %d Lloyd iterations, %d threads\n", static_cast<long long>(k), r.iterations,
                at::get_num_threads());
    std::printf("  k-means++ init      %7.2f s\n", r.initSeconds);
    std::printf("  per iteration       %7.3f s  (%.1f GFLOP/s in the distances = %.0f%% of the 4096^2 matrix product's "
                "%.1f GFLOP/s in this run)\n",
                perIteration, gflops, 100.0 * gflops / peak, peak);
    std::printf("  whole fit           %7.2f s  (scikit-learn on the same machine: see peers/kmeans.py)\n", total);
    std::printf("  inertia             %.6e\n", r.inertia);
    std::printf("  peak memory         %.2f GB resident, codes %.2f GB (%.2fx; before the fit %.2f GB)\n",
                usage().ru_maxrss / 1e6, codesGb, usage().ru_maxrss / 1e6 / codesGb, rssBefore / 1e6);
    return 0;
}
