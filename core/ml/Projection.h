#pragma once

#include "ml/ExactKnn.h"
#include "util/CancelToken.h"

#include <cstdint>
#include <functional>
#include <string>
#include <torch/torch.h>
#include <vector>

namespace faceatlas {

/**
 * Two-dimensional maps of codes (or any [N, D] features): PCA, and a UMAP-like neighbour
 * embedding. Everything is LibTorch, so the matrix products run on a GPU where the data lies on one;
 * the layout's SGD runs on the CPU.
 */

/**
 * The first two principal components of the rows of `x` ([N, D] float32): the data centred on its
 * mean and projected on the top-2 eigenvectors of its D x D covariance (accumulated in double over
 * row blocks). Each direction's sign is fixed so that its largest coordinate is positive, so the map
 * is the same on every machine. `directions` receives the [D, 2] unit vectors when given.
 * Returns [N, 2] float32 on the CPU. Throws Error for fewer than 2 rows or non-finite values.
 */
torch::Tensor pca2d(const torch::Tensor& x, torch::Tensor* directions = nullptr);

/**
 * The first `dims` principal components ([N, dims] on the CPU), as pca2d; `directions` gets [D, dims]
 * and `varianceKept` the share of the total variance they hold (0-1).
 */
torch::Tensor principalComponents(const torch::Tensor& x, int dims, torch::Tensor* directions = nullptr,
                                  double* varianceKept = nullptr);

/** EmbeddingParams::knnDims: chosen by the search (see kAutoKnnDimsCount). */
constexpr int kAutoKnnDims = -1;
/**
 * With knnDims automatic, the approximate search (large data) runs in this many principal
 * components when they hold at least kAutoKnnVariance of the variance, else in all dimensions. On
 * 175,000 x 512 drawn codes the HNSW graph then takes a fraction of the time at the same map recall;
 * the 3,897 real UTKFace codes hold 96.5% of their variance in 64 components (README, the map rows).
 */
constexpr int kAutoKnnDimsCount = 64;
constexpr double kAutoKnnVariance = 0.95;

/** Settings of the neighbour embedding (UMAP's defaults where UMAP has one). */
struct EmbeddingParams {
    int neighbors = 15; // the neighbourhood's size, the point itself counted (umap-learn's n_neighbors):
                        // the graph holds neighbors - 1 others per point
    int epochs = 0;     // SGD epochs (0: embeddingEpochsFor(N))
    int negatives = 5;  // negative samples per positive
    double learningRate = 1.0;
    double minDist = 0.1;   // UMAP's min_dist: how tightly neighbours may pack on the map (0 .. spread)
    double spread = 1.0;    // UMAP's spread: the scale of the map's distances
    double repulsion = 1.0; // UMAP's gamma
    std::uint64_t seed = 1;
    std::string knn = "auto";   // the neighbour graph: "exact", "hnsw" (approximate) or "auto" (chooseKnn)
    int knnDims = kAutoKnnDims; // 0: the graph from distances in all D dimensions; > 0: in the top knnDims
                                // principal components (D / knnDims times cheaper distances); kAutoKnnDims:
                                // kAutoKnnDimsCount with the approximate search when they hold enough variance
    int threads = 1;            // SGD and HNSW threads: 1 is deterministic by seed; more is faster, not reproducible
};

/** UMAP's attraction curve 1 / (1 + a d^2b) on the map. */
struct MapCurve {
    double a = 0, b = 0;
};

/**
 * The curve closest (least squares over d in [0, 3 spread]) to 1 for d < minDist and
 * exp(-(d - minDist) / spread) beyond, as UMAP's find_ab_params fits it: a = 1.577, b = 0.895 for
 * min_dist 0.1 and spread 1. Throws Error unless 0 <= minDist <= spread and spread > 0.
 */
MapCurve mapCurve(double minDist, double spread = 1.0);

/** The SGD epochs used for n points when EmbeddingParams::epochs is 0. */
int embeddingEpochsFor(int64_t n);

struct EmbeddingResult {
    torch::Tensor map;          // [N, 2] float32 on the CPU
    KnnGraph graph;             // the neighbour graph the layout followed
    std::string knn;            // how it was found: "exact" or "hnsw"
    int knnDims = 0;            // the dimensions searched (D, or the principal components used)
    double knnVarianceKept = 1; // the share of the variance those dimensions hold
    std::string start;          // the layout's start: "spectral" (the graph's), or "pca" where it has none
    MapCurve curve;             // the attraction curve for params.minDist and params.spread
    int epochs = 0;
    int64_t edges = 0; // edges of the symmetrised fuzzy graph
    double knnSeconds = 0, graphSeconds = 0, layoutSeconds = 0;
    bool cancelled = false;
};

/**
 * A UMAP-like layout of the rows of `x`, as umap-learn computes it: the kNN graph (neighbors - 1
 * others per row; exact, or HNSW from kApproximateKnnFrom rows with params.knn "auto"; in all
 * dimensions or the principal components knnDims asks for), fuzzy weights (per-point rho and sigma by
 * binary search so the weights sum to log2 neighbors, symmetrised as a + b - ab), started from the
 * graph's spectral layout (PCA where it has none) scaled to [0, 10], then SGD on UMAP's cross-entropy: attractive moves
 * along edges sampled in proportion to their weight, `negatives` random repulsive moves per positive, the learning rate
 * falling linearly to 0. Deterministic by seed with params.threads == 1 (the exact kNN is on any
 * thread count, HNSW's with one). Progress stages: the search's ("neighbours", after "neighbour
 * index" for HNSW) then "layout" (epochs).
 */
EmbeddingResult neighbourEmbedding(const torch::Tensor& x, const EmbeddingParams& params,
                                   const CancelToken& cancel = {},
                                   const std::function<void(const JobProgress&)>& onProgress = {});

/**
 * For a seeded sample of at most `sampleSize` rows: the fraction of each row's k nearest neighbours
 * in `highDim` ([N, D]) that are also among its k nearest in `map2d` ([N, 2]), averaged. 1 is perfect.
 */
double neighbourRecall(const torch::Tensor& highDim, const torch::Tensor& map2d, int64_t sampleSize, int k = 10,
                       std::uint64_t seed = 1);

} // namespace faceatlas
