#pragma once

#include "ml/Projection.h"
#include "util/CancelToken.h"

#include <cstdint>
#include <functional>
#include <string>
#include <torch/torch.h>

namespace faceatlas {

/**
 * Approximate k nearest neighbours for large maps: a hierarchical navigable small-world graph (HNSW,
 * hnswlib from Debian's libhnswlib-dev) built over the rows, then every row searched in it.
 *
 * Why: the exact search costs N^2 D multiply-adds (160 s of the 186 s map of 175,000 x 512 codes on
 * 2 cores); HNSW's costs about N log N distance evaluations. The price is recall: some true
 * neighbours are missed, so the map records the graph's recall against the exact search on a
 * sample (graphRecall), and small data keeps the exact search (chooseKnn).
 *
 * Determinism: with threads == 1 the graph, and so the result, is the same on every run for a seed
 * (hnswlib draws each point's level from its own generator seeded by `seed`). With more threads the
 * points are inserted concurrently and the graph depends on the interleaving: close, not identical.
 * The searches never depend on the thread count.
 */
struct HnswParams {
    int m = 16;              // links per node (hnswlib's M)
    int efConstruction = 40; // candidates kept while inserting
    int ef = 0;              // candidates kept while searching; 0: max(2k, 32)
    std::uint64_t seed = 1;
    int threads = 1;
};

/**
 * The k nearest neighbours of every row of `x` ([N, D] float32, finite), nearest first, a row never
 * its own neighbour, distances Euclidean; same contract as exactKnn but approximate. Progress stages:
 * "neighbour index" (rows inserted) then "neighbours" (rows searched). Throws Error unless
 * 1 <= k < N or for NaN / Inf.
 */
KnnGraph hnswKnn(const torch::Tensor& x, int k, const HnswParams& params = {}, const CancelToken& cancel = {},
                 const std::function<void(const JobProgress&)>& onProgress = {});

/** From this many rows on, "auto" chooses the approximate search (below it the exact one takes seconds). */
constexpr int64_t kApproximateKnnFrom = 50'000;

/** "exact" or "hnsw" for a request of "exact", "hnsw" or "auto" and N rows; throws Error for another word. */
std::string chooseKnn(const std::string& request, int64_t n);

/**
 * The share of the true k nearest neighbours (exact search) that `graph` lists, over a seeded sample
 * of at most `sampleSize` rows: 1 for an exact graph.
 */
double graphRecall(const torch::Tensor& x, const KnnGraph& graph, int64_t sampleSize, std::uint64_t seed = 1);

} // namespace faceatlas
