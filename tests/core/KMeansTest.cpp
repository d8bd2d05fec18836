#include "ml/KMeans.h"
#include "ml/ClusterJob.h"
#include "ml/NearestCentre.h"
#include "util/Error.h"

#include <gtest/gtest.h>

using namespace faceatlas;

namespace {

/** n points around k well-separated centres in d dimensions; truth[i] is the planted cluster. */
torch::Tensor planted(int n, int k, int d, std::vector<int>& truth, std::uint64_t seed = 0)
{
    torch::manual_seed(seed);
    const auto centres = torch::randn({k, d}) * 10;
    auto data = torch::randn({n, d});
    truth.resize(n);
    for (int i = 0; i < n; ++i) {
        truth[i] = i % k;
        data[i] += centres[truth[i]];
    }
    return data;
}

} // namespace

TEST(KMeansTest, RecoversPlantedClusters)
{
    std::vector<int> truth;
    const auto data = planted(600, 5, 16, truth);
    KMeansParams p;
    p.k = 5;
    p.chunkRows = 100; // several distance blocks
    const KMeansResult r = kmeans(data, p);
    std::vector<int> labels(r.labels.begin(), r.labels.end());
    EXPECT_GT(adjustedRandIndex(labels, truth), 0.99);
    EXPECT_NEAR(normalizedMutualInfo(labels, truth), 1.0, 1e-6);
    EXPECT_EQ(r.sizes.size(), 5u);
}

TEST(KMeansTest, InertiaNeverRisesAndSameSeedSameClusters)
{
    std::vector<int> truth;
    const auto data = torch::randn({800, 8}); // no structure: many iterations
    KMeansParams p;
    p.k = 7;
    p.tolerance = 0;
    p.maxIterations = 30;
    p.seed = 4;
    const KMeansResult a = kmeans(data, p), b = kmeans(data, p);
    ASSERT_GE(a.inertiaHistory.size(), 2u);
    for (size_t i = 1; i < a.inertiaHistory.size(); ++i)
        EXPECT_LE(a.inertiaHistory[i], a.inertiaHistory[i - 1] * (1 + 1e-6)) << "iteration " << i;
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_TRUE(torch::equal(a.centroids, b.centroids));
    p.seed = 5;
    EXPECT_NE(kmeans(data, p).labels, a.labels);
}

TEST(KMeansTest, MatchesBruteForceReference)
{
    torch::manual_seed(2);
    const auto data = torch::randn({50, 3});
    KMeansParams p;
    p.k = 3;
    const KMeansResult r = kmeans(data, p);
    // Every point sits with its nearest centroid, each centroid is its members' mean, inertia adds up.
    double inertia = 0;
    for (int i = 0; i < 50; ++i) {
        int nearest = 0;
        double best = 1e30;
        for (int c = 0; c < 3; ++c) {
            const double d = (data[i] - r.centroids[c]).pow(2).sum().item<double>();
            if (d < best) {
                best = d;
                nearest = c;
            }
        }
        EXPECT_EQ(r.labels[i], nearest);
        inertia += best;
    }
    EXPECT_NEAR(r.inertia, inertia, 1e-3 * inertia);
    for (int c = 0; c < 3; ++c) {
        auto sum = torch::zeros({3});
        int count = 0;
        for (int i = 0; i < 50; ++i)
            if (r.labels[i] == c) {
                sum += data[i];
                ++count;
            }
        EXPECT_TRUE(torch::allclose(sum / count, r.centroids[c], 1e-4, 1e-4));
    }
}

namespace {

/** Checks one kernel against double-precision brute force on shapes that hit every tail. */
void checkKernelAgainstBruteForce(const faceatlas::detail::NearestKernel& kernel)
{
    SCOPED_TRACE(kernel.name);
    torch::manual_seed(7);
    for (const int64_t dim : {1, 5, 8, 16, 17, 40, 361}) {
        for (const int64_t k : {1, 2, 3, 5, 7, 13, 25}) {
            for (const int64_t count : {1, 4, 6, 11}) {
                SCOPED_TRACE("dim " + std::to_string(dim) + ", k " + std::to_string(k) + ", rows "
                             + std::to_string(count));
                const auto rows = torch::randn({count, dim}), centres = torch::randn({k, dim});
                const int64_t padded = (k + kernel.groupSize - 1) / kernel.groupSize * kernel.groupSize;
                auto paddedCentres = torch::zeros({padded, dim});
                paddedCentres.narrow(0, 0, k).copy_(centres);
                const auto rowNorms = rows.pow(2).sum(1).contiguous(), centreNorms = centres.pow(2).sum(1).contiguous();
                std::vector<std::int64_t> labels(static_cast<size_t>(count), -1);
                std::vector<float> distances(static_cast<size_t>(count), -1);
                kernel.assign(rows.data_ptr<float>(), rowNorms.data_ptr<float>(), count, dim,
                              paddedCentres.data_ptr<float>(), centreNorms.data_ptr<float>(), k, padded, labels.data(),
                              distances.data());
                const auto exact = torch::cdist(rows.to(torch::kDouble), centres.to(torch::kDouble)).pow(2);
                for (int64_t i = 0; i < count; ++i) {
                    const auto sorted = std::get<0>(exact[i].sort());
                    const double best = sorted[0].item<double>();
                    EXPECT_NEAR(distances[i], best, 1e-4 * (1 + best));
                    // The label is the nearest centre, unless the runner-up is within rounding of it.
                    const double gap = k > 1 ? sorted[1].item<double>() - best : 1.0;
                    if (gap > 1e-3 * (1 + best)) {
                        EXPECT_EQ(labels[i], exact[i].argmin().item<int64_t>());
                    }
                }
            }
        }
    }
}

} // namespace

#if defined(__x86_64__)
TEST(NearestCentresTest, Avx512KernelMatchesBruteForce)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f"))
        GTEST_SKIP() << "this CPU has no AVX-512F, so its kernel cannot run here";
    checkKernelAgainstBruteForce(faceatlas::detail::nearestKernelAvx512());
}

TEST(NearestCentresTest, Avx2KernelMatchesBruteForce)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        GTEST_SKIP() << "this CPU has no AVX2 with FMA, so its kernel cannot run here";
    checkKernelAgainstBruteForce(faceatlas::detail::nearestKernelAvx2());
}
#endif

TEST(NearestCentresTest, KMeansLabelsAreTheNearestFinalCentresAtCodeWidth)
{
    // The kernel's path through k-means (contiguous CPU rows, 2,888 wide as the autoencoder's codes,
    // blocks of a few rows with a short last one), checked against the final centres by brute force.
    std::vector<int> truth;
    const auto data = planted(203, 7, 2888, truth, 3) * 0.05;
    KMeansParams p;
    p.k = 7;
    p.chunkRows = 9;
    const KMeansResult r = kmeans(data, p);
    const auto exact = torch::cdist(data.to(torch::kDouble), r.centroids.to(torch::kDouble)).pow(2);
    const auto nearest = exact.argmin(1);
    double inertia = 0;
    for (int64_t i = 0; i < data.size(0); ++i) {
        EXPECT_EQ(r.labels[static_cast<size_t>(i)], nearest[i].item<int64_t>()) << "row " << i;
        inertia += exact[i][nearest[i]].item<double>();
    }
    EXPECT_NEAR(r.inertia, inertia, 1e-4 * inertia);
    std::vector<int> labels(r.labels.begin(), r.labels.end());
    EXPECT_GT(adjustedRandIndex(labels, truth), 0.99);
}

TEST(KMeansTest, BadInputsAreClearErrors)
{
    KMeansParams p;
    p.k = 1;
    EXPECT_THROW(kmeans(torch::randn({10, 2}), p), Error);
    p.k = 11;
    EXPECT_THROW(kmeans(torch::randn({10, 2}), p), Error);
    p.k = 2;
    auto bad = torch::randn({10, 2});
    bad[3][1] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(kmeans(bad, p), Error);
    bad[3][1] = std::numeric_limits<float>::infinity();
    EXPECT_THROW(kmeans(bad, p), Error);
}

TEST(ClusterMetricsTest, HandComputedValues)
{
    // Identical partitions up to renaming: NMI = ARI = 1.
    EXPECT_NEAR(normalizedMutualInfo({0, 0, 1, 1}, {1, 1, 0, 0}), 1.0, 1e-12);
    EXPECT_NEAR(adjustedRandIndex({0, 0, 1, 1}, {1, 1, 0, 0}), 1.0, 1e-12);
    // a = {0,0,1,1}, b = {0,1,0,1}: independent -> NMI 0; ARI = (0 - 1*... ) = -0.5
    EXPECT_NEAR(normalizedMutualInfo({0, 0, 1, 1}, {0, 1, 0, 1}), 0.0, 1e-12);
    EXPECT_NEAR(adjustedRandIndex({0, 0, 1, 1}, {0, 1, 0, 1}), -0.5, 1e-12);
    // sklearn: adjusted_rand_score([0,0,1,2],[0,0,1,1]) = 0.5714285714285715
    EXPECT_NEAR(adjustedRandIndex({0, 0, 1, 2}, {0, 0, 1, 1}), 0.5714285714285715, 1e-12);
    // sklearn: normalized_mutual_info_score([0,0,1,2],[0,0,1,1]) = 0.8
    EXPECT_NEAR(normalizedMutualInfo({0, 0, 1, 2}, {0, 0, 1, 1}), 0.8, 1e-12);

    // Two tight pairs far apart: silhouette near 1; Davies-Bouldin near 0.
    const auto data = torch::tensor({0.0f, 0.0f, 0.0f, 1.0f, 100.0f, 0.0f, 100.0f, 1.0f}).view({4, 2});
    const std::vector<std::int32_t> labels{0, 0, 1, 1};
    const double s = silhouetteScore(data, labels, 2, 0, 1);
    // a = 1, b = mean distance to the far pair ~ 100.0025: s = 1 - 1/b
    EXPECT_NEAR(s, 1.0 - 1.0 / ((100.0 + std::sqrt(100.0 * 100.0 + 1.0)) / 2.0), 1e-6);
    const auto centres = torch::tensor({0.0f, 0.5f, 100.0f, 0.5f}).view({2, 2});
    EXPECT_NEAR(daviesBouldin(data, labels, centres), (0.5 + 0.5) / 100.0, 1e-6);
}
