// The map at scale (issue 29): the approximate neighbour graph, UMAP's curve for a minimum distance,
// neighbours on the 2-D map and each face's neighbourhood preservation.
#include "ml/ApproximateKnn.h"
#include "ml/MapNeighbours.h"
#include "ml/Projection.h"
#include "ml/SpectralStart.h"
#include "util/Error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace faceatlas;

namespace {

/** 20 Gaussian blobs in 32 dimensions: neighbours are well defined but not trivially separated. */
torch::Tensor clusteredRows(int64_t n, std::uint64_t seed)
{
    torch::manual_seed(seed);
    const auto centres = torch::randn({20, 32}) * 3;
    return centres.index_select(0, torch::randint(20, {n}, torch::kLong)) + torch::randn({n, 32});
}

/** The k nearest of every point by brute force, in the order (distance, index). */
std::vector<int64_t> bruteForceMapKnn(const std::vector<float>& xy, int k)
{
    const int64_t n = static_cast<int64_t>(xy.size() / 2);
    std::vector<int64_t> out;
    for (int64_t i = 0; i < n; ++i) {
        std::vector<std::pair<float, int64_t>> all;
        for (int64_t j = 0; j < n; ++j)
            if (j != i) {
                const float dx = xy[2 * j] - xy[2 * i], dy = xy[2 * j + 1] - xy[2 * i + 1];
                all.emplace_back(dx * dx + dy * dy, j);
            }
        std::sort(all.begin(), all.end());
        for (int j = 0; j < k; ++j)
            out.push_back(all[static_cast<size_t>(j)].second);
    }
    return out;
}

} // namespace

TEST(MapScaleTest, HnswFindsNearlyEveryExactNeighbourAndIsDeterministicOnOneThread)
{
    const auto x = clusteredRows(3000, 3);
    const KnnGraph exact = exactKnn(x, 10);
    HnswParams p;
    p.threads = 1;
    const KnnGraph a = hnswKnn(x, 10, p), b = hnswKnn(x, 10, p);
    EXPECT_TRUE(torch::equal(a.indices, b.indices)) << "one thread, one seed: the same graph";
    const double recall = graphRecall(x, a, 3000);
    EXPECT_GT(recall, 0.95);
    EXPECT_DOUBLE_EQ(graphRecall(x, exact, 500), 1.0);
    // Nearest first, never itself, distances Euclidean.
    const auto idx = a.indices.accessor<int64_t, 2>();
    const auto dist = a.distances.accessor<float, 2>();
    for (int64_t i = 0; i < 3000; i += 97) {
        for (int j = 0; j < 10; ++j) {
            EXPECT_NE(idx[i][j], i);
            EXPECT_NEAR(dist[i][j], (x[i] - x[idx[i][j]]).norm().item<float>(), 1e-3);
            if (j > 0) {
                EXPECT_LE(dist[i][j - 1], dist[i][j]);
            }
        }
    }
    // A graph that misses neighbours scores below 1: a random graph near k / N.
    KnnGraph random = a;
    random.indices = torch::randint(3000, {3000, 10}, torch::kLong);
    EXPECT_LT(graphRecall(x, random, 500), 0.05);
}

TEST(MapScaleTest, HnswOnTwoThreadsIsStillAGoodGraph)
{
    const auto x = clusteredRows(2000, 4);
    HnswParams p;
    p.threads = 2;
    EXPECT_GT(graphRecall(x, hnswKnn(x, 15, p), 2000), 0.95);
}

TEST(MapScaleTest, HnswRejectsBadInputAndStopsWhenCancelled)
{
    EXPECT_THROW(hnswKnn(torch::randn({5, 3}), 5), Error);
    auto bad = torch::randn({50, 3});
    bad[7][1] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_THROW(hnswKnn(bad, 3), Error);
    CancelToken cancel;
    cancel.requestCancel();
    EXPECT_TRUE(hnswKnn(clusteredRows(500, 5), 5, {}, cancel).cancelled);
}

TEST(MapScaleTest, AutoChoosesTheExactSearchForSmallData)
{
    EXPECT_EQ(chooseKnn("auto", kApproximateKnnFrom - 1), "exact");
    EXPECT_EQ(chooseKnn("auto", kApproximateKnnFrom), "hnsw");
    EXPECT_EQ(chooseKnn("exact", 10'000'000), "exact");
    EXPECT_THROW(chooseKnn("faiss", 10), Error);
}

TEST(MapScaleTest, TheNeighbourCountIncludesThePointItselfAsUmapsDoes)
{
    const auto x = clusteredRows(400, 6);
    EmbeddingParams p;
    p.neighbors = 15;
    p.epochs = 5;
    const EmbeddingResult r = neighbourEmbedding(x, p);
    EXPECT_EQ(r.graph.indices.size(1), 14) << "umap-learn's n_neighbors = 15 holds the point and 14 others";
    EXPECT_EQ(r.knnDims, 32) << "the exact search runs in every dimension";
    EXPECT_DOUBLE_EQ(r.knnVarianceKept, 1.0);
    p.neighbors = 2;
    EXPECT_EQ(neighbourEmbedding(x, p).graph.indices.size(1), 1);
}

namespace {

/** n rows in 128 dimensions: `rank` directions of signal plus isotropic noise of the given sd. */
torch::Tensor lowRankRows(int64_t n, int64_t rank, double noise, std::uint64_t seed)
{
    torch::manual_seed(seed);
    return torch::randn({n, rank}).mm(torch::randn({rank, 128})) + noise * torch::randn({n, 128});
}

} // namespace

TEST(MapScaleTest, TheApproximateSearchRunsInPrincipalComponentsOnlyWhenTheyHoldTheVariance)
{
    // Rank 8 plus faint noise: 64 components hold nearly everything, so HNSW searches in them.
    const auto lowRank = lowRankRows(3000, 8, 0.05, 7);
    EmbeddingParams p;
    p.knn = "hnsw";
    p.epochs = 5;
    EmbeddingResult r = neighbourEmbedding(lowRank, p);
    EXPECT_EQ(r.knnDims, kAutoKnnDimsCount);
    EXPECT_GT(r.knnVarianceKept, 0.99);
    EXPECT_GT(graphRecall(lowRank, r.graph, 500), 0.9) << "the reduced search still finds the true neighbours";
    // Isotropic noise: 64 of 128 components hold about half, so the search keeps every dimension.
    const auto noise = torch::randn({3000, 128});
    r = neighbourEmbedding(noise, p);
    EXPECT_EQ(r.knnDims, 128);
    EXPECT_DOUBLE_EQ(r.knnVarianceKept, 1.0);
    // Asked for explicitly, the reduction happens whatever the variance, and records its share.
    p.knnDims = 16;
    r = neighbourEmbedding(noise, p);
    EXPECT_EQ(r.knnDims, 16);
    EXPECT_GT(r.knnVarianceKept, 0.1);
    EXPECT_LT(r.knnVarianceKept, 0.3);
    // The exact search is never reduced by default.
    p.knn = "exact";
    p.knnDims = kAutoKnnDims;
    EXPECT_EQ(neighbourEmbedding(lowRank, p).knnDims, 128);
}

namespace {

/** A connected graph on n points: a ring, plus seeded random chords (both directions, one weight). */
std::vector<GraphEdge> ringWithChords(int64_t n, std::uint64_t seed)
{
    torch::manual_seed(seed);
    std::vector<GraphEdge> edges;
    const auto add = [&](int64_t a, int64_t b, float w) {
        edges.push_back({static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b), w});
        edges.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(a), w});
    };
    for (int64_t i = 0; i < n; ++i)
        add(i, (i + 1) % n, 1.0f);
    const auto a = torch::randint(n, {n / 2}, torch::kLong), b = torch::randint(n, {n / 2}, torch::kLong);
    const auto w = torch::rand({n / 2});
    for (int64_t i = 0; i < n / 2; ++i)
        if (a[i].item<int64_t>() != b[i].item<int64_t>())
            add(a[i].item<int64_t>(), b[i].item<int64_t>(), 0.1f + w[i].item<float>());
    return edges;
}

} // namespace

TEST(MapScaleTest, TheSpectralStartIsTheNormalisedAdjacencysSecondAndThirdEigenvectors)
{
    const int64_t n = 300;
    const auto edges = ringWithChords(n, 11);
    // The dense matrix D^-1/2 W D^-1/2 and its eigenvectors, to compare with.
    auto w = torch::zeros({n, n}, torch::kDouble);
    for (const GraphEdge& e : edges)
        w[e.head][e.tail] += e.weight;
    const auto invSqrtDegree = w.sum(1).rsqrt();
    const auto m = invSqrtDegree.unsqueeze(1) * w * invSqrtDegree.unsqueeze(0);
    const auto eig = torch::linalg_eigh(m);
    const auto values = std::get<0>(eig), vectors = std::get<1>(eig);
    const auto start = spectralStart(edges, n, 1);
    ASSERT_TRUE(start.defined());
    ASSERT_EQ(start.sizes(), (std::vector<int64_t>{n, 2}));
    for (int c = 0; c < 2; ++c) {
        const auto v = start.select(1, c);
        EXPECT_NEAR(v.norm().item<double>(), 1.0, 1e-6);
        const double theta = v.dot(m.mv(v)).item<double>();
        EXPECT_LT((m.mv(v) - theta * v).norm().item<double>(), 1e-4) << "converged to umap-learn's tolerance";
        // Its Rayleigh quotient is the c-th eigenvalue after the largest (1), and it is that eigenvector.
        EXPECT_NEAR(v.dot(m.mv(v)).item<double>(), values[n - 2 - c].item<double>(), 1e-6) << c;
        EXPECT_NEAR(std::abs(v.dot(vectors.select(1, n - 2 - c)).item<double>()), 1.0, 1e-4) << c;
        const int64_t arg = v.abs().argmax().item<int64_t>();
        EXPECT_GT(v[arg].item<double>(), 0) << "the sign is fixed: the largest coordinate is positive";
    }
    EXPECT_TRUE(torch::equal(start, spectralStart(edges, n, 1))) << "the same seed, the same start";
}

TEST(MapScaleTest, AGraphWithoutASpectralStartStartsFromPca)
{
    // Two rings that never meet: two components.
    auto edges = ringWithChords(50, 12);
    for (const GraphEdge& e : ringWithChords(50, 13))
        edges.push_back({e.head + 50, e.tail + 50, e.weight});
    EXPECT_FALSE(spectralStart(edges, 100, 1).defined());
    // A point without edges.
    EXPECT_FALSE(spectralStart(ringWithChords(50, 12), 51, 1).defined());
    EXPECT_FALSE(spectralStart({}, 3, 1).defined());
    EXPECT_THROW(spectralStart({{0, 7, 1.0f}, {7, 0, 1.0f}}, 5, 1), Error) << "an edge beyond the points";
    // The layout then starts from PCA and says so; one cluster's graph starts from its spectrum.
    EmbeddingParams p;
    p.epochs = 5;
    const auto blobsFar = torch::cat({torch::randn({150, 8}), torch::randn({150, 8}) + 1000});
    EXPECT_EQ(neighbourEmbedding(blobsFar, p).start, "pca");
    EXPECT_EQ(neighbourEmbedding(torch::randn({300, 8}), p).start, "spectral");
}

TEST(MapScaleTest, EpochsFollowUmapUpToTenThousandPointsThenFewer)
{
    EXPECT_EQ(embeddingEpochsFor(3897), 500);
    EXPECT_EQ(embeddingEpochsFor(10000), 500);
    EXPECT_EQ(embeddingEpochsFor(10001), 200);
    EXPECT_EQ(embeddingEpochsFor(100000), 120);
}

TEST(MapScaleTest, TheCurveMatchesUmapsFit)
{
    // umap-learn's find_ab_params(spread=1, min_dist=0.1) and (1, 0.001), as UMAP documents them.
    const MapCurve c = mapCurve(0.1);
    EXPECT_NEAR(c.a, 1.577, 0.005);
    EXPECT_NEAR(c.b, 0.895, 0.005);
    const MapCurve tight = mapCurve(0.001);
    EXPECT_NEAR(tight.a, 1.929, 0.01);
    EXPECT_NEAR(tight.b, 0.7915, 0.005);
    EXPECT_THROW(mapCurve(1.5), Error);
    EXPECT_THROW(mapCurve(-0.1), Error);
}

TEST(MapScaleTest, MapNeighboursMatchABruteForceSearch)
{
    torch::manual_seed(9);
    // Clumps, a far outlier and exact duplicates: the grid must not miss anyone across cells.
    auto pts = torch::cat({torch::randn({600, 2}) * 0.05, torch::randn({300, 2}) * 3 + 10,
                           torch::tensor({{500.0f, -500.0f}}), torch::zeros({5, 2})});
    const auto c = pts.contiguous();
    const std::vector<float> xy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    for (const int k : {1, 7, 10})
        EXPECT_EQ(mapKnn(xy, k, 2), bruteForceMapKnn(xy, k)) << "k " << k;
    EXPECT_THROW(mapKnn(xy, 906), Error);
    std::vector<float> bad = xy;
    bad[11] = std::numeric_limits<float>::infinity();
    EXPECT_THROW(mapKnn(bad, 3), Error);
}

TEST(MapScaleTest, PreservationIsOneWhereTheMapIsTheDataAndLowWhereItIsShuffled)
{
    torch::manual_seed(11);
    const auto x = torch::randn({800, 2});
    const auto c = x.contiguous();
    const std::vector<float> xy(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    const KnnGraph graph = exactKnn(x, 15);
    for (const float v : neighbourhoodPreservation(graph, xy, 10))
        ASSERT_FLOAT_EQ(v, 1.0f);
    // The same points with their places swapped at random keep almost none of their neighbours.
    const auto shuffled = x.index_select(0, torch::randperm(800, torch::kLong)).contiguous();
    const std::vector<float> moved(shuffled.data_ptr<float>(), shuffled.data_ptr<float>() + shuffled.numel());
    const auto kept = neighbourhoodPreservation(graph, moved, 10);
    double mean = 0;
    for (const float v : kept)
        mean += v;
    EXPECT_LT(mean / 800, 0.05);
    EXPECT_THROW(neighbourhoodPreservation(exactKnn(x, 5), xy, 10), Error) << "fewer graph columns than k";
}
