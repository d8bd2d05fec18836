// The GPU path checked against the CPU: the same weights give the same outputs, and k-means on the
// GPU finds the clustering the CPU finds. They skip, saying why, where LibTorch has no CUDA device
// (tests/bench/gpu-check.sh runs them on a GPU machine).
#include "ml/KMeans.h"
#include "ml/Models.h"
#include "ml/Runtime.h"

#include <gtest/gtest.h>

using namespace faceatlas;

namespace {

bool skipWithoutCuda()
{
    return !cudaAvailable();
}

} // namespace

TEST(DeviceTest, ModelsGiveTheCpuOutputsOnTheGpu)
{
    if (skipWithoutCuda())
        GTEST_SKIP() << "LibTorch sees no CUDA device here (" << torchDescription() << ")";
    torch::NoGradGuard noGrad;
    torch::manual_seed(4);
    const auto images = torch::rand({6, 3, 64, 64});
    for (ModelKind kind : {ModelKind::AgeCapstone, ModelKind::Age, ModelKind::Autoencoder}) {
        SCOPED_TRACE(modelKindName(kind));
        auto model = createModel(kind, 64);
        model->eval();
        const auto onCpu = model->run(images, nullptr).output;
        model->to(torch::kCUDA);
        const auto onGpu = model->run(images.to(torch::kCUDA), nullptr).output.cpu();
        ASSERT_EQ(onCpu.sizes(), onGpu.sizes());
        // cuDNN's convolutions use TF32 by default on Ampere and later (LibTorch 1.13): allow its rounding.
        EXPECT_LT((onCpu - onGpu).abs().max().item<double>(), 2e-2 * (1 + onCpu.abs().max().item<double>()));
    }
}

TEST(DeviceTest, KMeansOnTheGpuFindsTheCpuClusters)
{
    if (skipWithoutCuda())
        GTEST_SKIP() << "LibTorch sees no CUDA device here (" << torchDescription() << ")";
    torch::manual_seed(5);
    const int n = 4000, k = 9, d = 300;
    const auto centres = torch::randn({k, d}) * 4;
    const auto truth = torch::randint(k, {n}, torch::kLong);
    const auto data = torch::randn({n, d}) + centres.index_select(0, truth);
    KMeansParams p;
    p.k = k;
    p.seed = 3;
    const KMeansResult cpu = kmeans(data, p);
    const KMeansResult gpu = kmeans(data.to(torch::kCUDA), p);
    std::vector<int> a(cpu.labels.begin(), cpu.labels.end()), b(gpu.labels.begin(), gpu.labels.end());
    EXPECT_GT(adjustedRandIndex(a, b), 0.999);
    EXPECT_NEAR(gpu.inertia, cpu.inertia, 1e-3 * cpu.inertia);
    EXPECT_TRUE(gpu.centroids.device().is_cpu());
}
