#include "ml/Projection.h"
#include "ml/Projections.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

using namespace faceatlas;

namespace {

/** `clusters` well-separated Gaussian blobs in `dim` dimensions, `perCluster` points each, labels in order. */
torch::Tensor blobs(int clusters, int perCluster, int dim, std::vector<int>& labels, double spread = 8.0)
{
    torch::manual_seed(7);
    const auto centres = torch::randn({clusters, dim}) * spread;
    auto x = torch::randn({clusters * perCluster, dim});
    labels.clear();
    for (int c = 0; c < clusters; ++c) {
        x.narrow(0, c * perCluster, perCluster) += centres[c];
        labels.insert(labels.end(), perCluster, c);
    }
    return x;
}

/** For each point, the share of its `k` nearest 2-D neighbours (itself excluded) in its own cluster. */
double sameClusterShare(const torch::Tensor& map, const std::vector<int>& labels, int k)
{
    const auto d = torch::cdist(map, map);
    d.diagonal().fill_(std::numeric_limits<float>::infinity());
    const auto idx = std::get<1>(d.topk(k, 1, false)).contiguous();
    const auto acc = idx.accessor<int64_t, 2>();
    double same = 0;
    for (int64_t i = 0; i < map.size(0); ++i)
        for (int j = 0; j < k; ++j)
            same += labels[static_cast<size_t>(acc[i][j])] == labels[static_cast<size_t>(i)];
    return same / static_cast<double>(map.size(0) * k);
}

} // namespace

TEST(ProjectionTest, PcaRecoversTheTopVarianceDirections)
{
    // Known construction: variances 25 and 9 along two orthonormal directions of a random basis,
    // 1 along the rest, plus an offset that PCA must remove.
    torch::manual_seed(3);
    const int64_t n = 4000, d = 32;
    const auto basis = std::get<0>(torch::linalg_qr(torch::randn({d, d})));
    auto scales = torch::ones({d});
    scales[0] = 5;
    scales[1] = 3;
    const auto x = (torch::randn({n, d}) * scales).mm(basis.t()) + 4.0;
    torch::Tensor dirs;
    const auto map = pca2d(x, &dirs);
    ASSERT_EQ(map.sizes(), (std::vector<int64_t>{n, 2}));
    ASSERT_EQ(dirs.sizes(), (std::vector<int64_t>{d, 2}));
    // The directions are the first two basis vectors, up to sign.
    EXPECT_GT(std::abs(dirs.select(1, 0).dot(basis.select(1, 0)).item<double>()), 0.99);
    EXPECT_GT(std::abs(dirs.select(1, 1).dot(basis.select(1, 1)).item<double>()), 0.98);
    // The map is centred and carries the two variances, the larger first.
    EXPECT_LT(map.mean(0).abs().max().item<double>(), 0.3);
    EXPECT_NEAR(map.select(1, 0).var().item<double>(), 25.0, 2.0);
    EXPECT_NEAR(map.select(1, 1).var().item<double>(), 9.0, 1.0);
    // Signs are fixed: the same data shifted gives the same map.
    EXPECT_TRUE(torch::allclose(pca2d(x + 100.0), map, 1e-2, 1e-2));
}

TEST(ProjectionTest, PcaRejectsBadInput)
{
    EXPECT_THROW(pca2d(torch::randn({1, 4})), Error);
    auto x = torch::randn({10, 4});
    x[3][2] = std::nanf("");
    EXPECT_THROW(pca2d(x), Error);
    EXPECT_THROW(pca2d(torch::randn({10, 4}, torch::kDouble)), Error);
}

TEST(ProjectionTest, ExactKnnMatchesCdist)
{
    torch::manual_seed(5);
    // Sizes that are not multiples of the blocks, and more rows than one column block.
    const auto x = torch::randn({17000, 6});
    const int k = 7;
    const KnnGraph g = exactKnn(x, k);
    ASSERT_FALSE(g.cancelled);
    ASSERT_EQ(g.indices.sizes(), (std::vector<int64_t>{17000, k}));
    for (int64_t row : {0L, 1L, 8191L, 16383L, 16384L, 16999L}) {
        const auto d = (x - x[row]).pow(2).sum(1).sqrt();
        d[row] = std::numeric_limits<float>::infinity();
        const auto top = d.topk(k, 0, false);
        EXPECT_TRUE(torch::allclose(g.distances[row], std::get<0>(top), 1e-3, 1e-3)) << row;
        for (int j = 0; j < k; ++j)
            EXPECT_NE(g.indices[row][j].item<int64_t>(), row);
    }
    EXPECT_THROW(exactKnn(x.narrow(0, 0, 5), 5), Error);
    for (int64_t row = 0; row < 17000; row += 97) {
        const auto d = (x - x[row]).pow(2).sum(1).sqrt();
        d[row] = std::numeric_limits<float>::infinity();
        EXPECT_TRUE(torch::allclose(g.distances[row], std::get<0>(d.topk(k, 0, false)), 1e-3, 1e-3)) << row;
    }
}

TEST(ProjectionTest, ExactKnnDoesNotDependOnTheThreadCount)
{
    // Duplicated rows make ties at distance 0: the lists must still agree exactly.
    torch::manual_seed(6);
    auto x = torch::randn({9000, 12});
    x.narrow(0, 4500, 4500).copy_(x.narrow(0, 0, 4500));
    const int threads = at::get_num_threads();
    at::set_num_threads(1);
    const KnnGraph one = exactKnn(x, 9);
    at::set_num_threads(std::max(2, threads));
    const KnnGraph two = exactKnn(x, 9);
    at::set_num_threads(threads);
    EXPECT_TRUE(torch::equal(one.indices, two.indices));
    EXPECT_TRUE(torch::equal(one.distances, two.distances));
    // Each row's twin is its nearest neighbour, at distance 0.
    EXPECT_EQ(one.indices[10][0].item<int64_t>(), 4510);
    EXPECT_EQ(one.indices[4510][0].item<int64_t>(), 10);
    EXPECT_LT(one.distances[10][0].item<float>(), 1e-2f);
}

TEST(ProjectionTest, NeighbourEmbeddingKeepsClustersApartAndBeatsPcaRecall)
{
    std::vector<int> labels;
    const auto x = blobs(5, 300, 64, labels);
    EmbeddingParams p;
    p.seed = 11;
    const EmbeddingResult r = neighbourEmbedding(x, p);
    ASSERT_FALSE(r.cancelled);
    ASSERT_EQ(r.map.sizes(), (std::vector<int64_t>{1500, 2}));
    EXPECT_EQ(r.epochs, 500); // UMAP's 500 up to 10,000 points
    EXPECT_GT(r.edges, 1500 * 15 / 2);
    EXPECT_TRUE(torch::isfinite(r.map).all().item<bool>());
    EXPECT_GT(sameClusterShare(r.map, labels, 10), 0.97);
    // Many small groups: PCA piles 40 groups onto two directions and mixes them, the neighbour graph
    // keeps each group together, so more of each point's 64-D neighbours stay its 2-D neighbours.
    std::vector<int> many;
    const auto y = blobs(40, 30, 64, many, 2.0);
    const auto layout = neighbourEmbedding(y, p).map;
    const auto flat = pca2d(y);
    const double umapRecall = neighbourRecall(y, layout, 600, 10, 1);
    const double pcaRecall = neighbourRecall(y, flat, 600, 10, 1);
    EXPECT_GT(sameClusterShare(layout, many, 10), 0.9);
    EXPECT_LT(sameClusterShare(flat, many, 10), 0.6);
    EXPECT_GT(umapRecall, pcaRecall + 0.1) << umapRecall << " vs PCA " << pcaRecall;
}

TEST(ProjectionTest, GraphInPrincipalComponentsStillSeparatesClusters)
{
    std::vector<int> labels;
    const auto x = blobs(4, 200, 64, labels);
    torch::Tensor dirs;
    const auto reduced = principalComponents(x, 6, &dirs);
    ASSERT_EQ(reduced.sizes(), (std::vector<int64_t>{800, 6}));
    // Orthonormal directions, the first two those of pca2d.
    EXPECT_TRUE(torch::allclose(dirs.t().mm(dirs), torch::eye(6), 1e-4, 1e-4));
    EXPECT_TRUE(torch::allclose(reduced.narrow(1, 0, 2), pca2d(x), 1e-3, 1e-3));
    EXPECT_THROW(principalComponents(x, 65), Error);
    EmbeddingParams p;
    p.knnDims = 6;
    p.epochs = 100;
    const auto r = neighbourEmbedding(x, p);
    EXPECT_GT(sameClusterShare(r.map, labels, 10), 0.97);
    p.knnDims = -2;
    EXPECT_THROW(neighbourEmbedding(x, p), Error);
    double kept = 0;
    principalComponents(x, 6, nullptr, &kept);
    EXPECT_GT(kept, 0.5) << "four blobs: their centres' few directions hold most of the variance";
    double all = 0;
    principalComponents(x, 64, nullptr, &all);
    EXPECT_NEAR(all, 1.0, 1e-6);
    EXPECT_LT(kept, all);
}

TEST(ProjectionTest, NeighbourRecallIsOneForTheDataItselfAndLowForNoise)
{
    torch::manual_seed(9);
    const auto plane = torch::randn({800, 2});
    // Points on a 2-D plane embedded in 8 dimensions: the plane coordinates are a perfect map.
    const auto x =
        torch::cat({plane, torch::zeros({800, 6})}, 1).mm(std::get<0>(torch::linalg_qr(torch::randn({8, 8}))));
    EXPECT_NEAR(neighbourRecall(x, plane, 200, 10, 3), 1.0, 1e-9);
    const double noise = neighbourRecall(x, torch::randn({800, 2}), 200, 10, 3);
    EXPECT_LT(noise, 0.1);
    EXPECT_THROW(neighbourRecall(x, plane.narrow(0, 0, 10), 200, 10, 3), Error);
}

TEST(ProjectionTest, NeighbourEmbeddingIsDeterministicBySeedWithOneThread)
{
    std::vector<int> labels;
    const auto x = blobs(3, 150, 16, labels);
    EmbeddingParams p;
    p.epochs = 40;
    p.threads = 1;
    p.seed = 4;
    const auto a = neighbourEmbedding(x, p).map;
    const auto b = neighbourEmbedding(x, p).map;
    EXPECT_TRUE(torch::equal(a, b));
    p.seed = 5;
    EXPECT_FALSE(torch::equal(a, neighbourEmbedding(x, p).map));
}

TEST(ProjectionTest, CancelStopsTheEmbeddingEarly)
{
    std::vector<int> labels;
    const auto x = blobs(3, 200, 16, labels);
    EmbeddingParams p;
    CancelToken cancel;
    std::vector<JobProgress> seen;
    const auto r = neighbourEmbedding(x, p, cancel, [&](const JobProgress& jp) {
        seen.push_back(jp);
        if (std::string(jp.stage) == "layout" && jp.done == 3)
            cancel.requestCancel();
    });
    EXPECT_TRUE(r.cancelled);
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(std::string(seen.front().stage), "neighbours");
    EXPECT_EQ(std::string(seen.back().stage), "layout");
    EXPECT_EQ(seen.back().done, 3);
    EXPECT_EQ(seen.back().total, 500);

    CancelToken before;
    before.requestCancel();
    const auto r2 = neighbourEmbedding(x, p, before);
    EXPECT_TRUE(r2.cancelled);
    EXPECT_FALSE(r2.map.defined());
}

TEST(ProjectionTest, CancelStopsTheNeighbourSearchEarly)
{
    torch::manual_seed(8);
    const auto x = torch::randn({30000, 8}); // 59 row blocks, 140 products
    CancelToken cancel;
    long long last = 0, total = 0;
    const KnnGraph g = exactKnn(x, 5, cancel, [&](const JobProgress& jp) {
        last = jp.done;
        total = jp.total;
        if (jp.done == 2)
            cancel.requestCancel();
    });
    EXPECT_TRUE(g.cancelled);
    EXPECT_FALSE(g.indices.defined());
    EXPECT_EQ(total, 140);
    EXPECT_LE(last, 2 + at::get_num_threads()); // each worker finishes at most the product it was in
}

TEST(ProjectionTest, NearestMatchesANaiveLoop)
{
    torch::manual_seed(2);
    const int64_t n = 5003, d = 37; // a dimension that is not a multiple of the 16 lanes
    const auto all = torch::randn({n, d});
    const auto query = torch::randn({d});
    const auto acc = all.accessor<float, 2>();
    const auto q = query.accessor<float, 1>();
    std::vector<std::pair<double, int64_t>> naive;
    for (int64_t i = 0; i < n; ++i) {
        double s = 0;
        for (int64_t j = 0; j < d; ++j)
            s += (static_cast<double>(acc[i][j]) - q[j]) * (static_cast<double>(acc[i][j]) - q[j]);
        naive.emplace_back(std::sqrt(s), i);
    }
    std::sort(naive.begin(), naive.end());
    const Neighbours r = nearest(all, query, 12);
    ASSERT_EQ(r.indices.size(), 12u);
    for (size_t j = 0; j < 12; ++j) {
        EXPECT_EQ(r.indices[j], naive[j].second) << j;
        EXPECT_NEAR(r.distances[j], naive[j].first, 1e-4);
    }
    // A row's own query: it is its own nearest unless excluded.
    EXPECT_EQ(nearest(all, all[42], 1).indices[0], 42);
    EXPECT_NEAR(nearest(all, all[42], 1).distances[0], 0.0, 1e-6);
    const Neighbours without = nearest(all, all[42], 5, 42);
    EXPECT_EQ(std::count(without.indices.begin(), without.indices.end(), 42), 0);
    // A non-contiguous matrix takes the matrix-vector path and agrees.
    const auto strided = torch::cat({all, all}, 1).narrow(1, 0, d);
    ASSERT_FALSE(strided.is_contiguous());
    const Neighbours viaMv = nearest(strided, query, 12);
    EXPECT_EQ(viaMv.indices, r.indices);
    EXPECT_THROW(nearest(all, query, 0), Error);
    EXPECT_THROW(nearest(all, query, static_cast<int>(n) + 1), Error);
    EXPECT_THROW(nearest(all, all[0], static_cast<int>(n), 0), Error);
    EXPECT_THROW(nearest(all, torch::randn({d + 1}), 3), Error);
}

TEST(ProjectionTest, EveryProjectionOfTheTableLaysOutEveryFaceAndOnlyTheNeighbourOnesBuildAGraph)
{
    std::vector<int> labels;
    const torch::Tensor x = blobs(3, 30, 8, labels);
    EmbeddingParams params;
    params.epochs = 20;
    std::set<std::string> names;
    for (const ProjectionInfo& projection : projections()) {
        EXPECT_TRUE(names.insert(projection.name).second) << projection.name;
        EXPECT_EQ(findProjection(projection.name), &projection);
        const EmbeddingResult r = projection.layout(x, params, {}, {});
        ASSERT_FALSE(r.cancelled) << projection.name;
        ASSERT_EQ(r.map.sizes(), (std::vector<int64_t>{90, 2})) << projection.name;
        EXPECT_TRUE(torch::isfinite(r.map).all().item<bool>()) << projection.name;
        EXPECT_EQ(r.graph.indices.defined(), projection.neighbourSettings) << projection.name;
    }
    EXPECT_EQ(findProjection("umap"), nullptr);
    EXPECT_EQ(projectionNameList(), "neighbors or pca");
}
