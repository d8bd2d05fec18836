#pragma once

#include "util/CancelToken.h"

#include <cstdint>
#include <functional>
#include <string>
#include <torch/torch.h>
#include <vector>

namespace faceatlas {

class ProcessGroup;

/** k-means settings. Distances are matrix products over chunks of rows, so memory stays near the data's size. */
struct KMeansParams {
    int k = 8;
    int restarts = 1; // independent k-means++ starts; the lowest inertia wins
    int maxIterations = 100;
    double tolerance = 1e-4; // stop when the centres move less than this x the data's mean variance (0: never)
    std::uint64_t seed = 1;
    int64_t chunkRows = 0;      // rows per distance block (0: about 3 MB of data per block)
    int64_t initSample = 20000; // k-means++ runs on a seeded sample of this many rows (0: all rows)
    // Several processes: every rank passes all rows; each assigns its contiguous share, and the
    // sums, counts and inertia are summed over the ranks (the same centres as one process, up to
    // the order of float sums). Every rank returns the whole result.
    ProcessGroup* group = nullptr;
};

struct KMeansResult {
    torch::Tensor centroids;          // [k, D] float32, on the CPU
    std::vector<std::int32_t> labels; // cluster of every row
    std::vector<std::int64_t> sizes;
    double inertia = 0; // sum of squared distances to the assigned centre
    int iterations = 0;
    std::vector<double> inertiaHistory; // at each assignment step of the winning start
    double initSeconds = 0;
    double iterationSeconds = 0; // all Lloyd iterations of the winning start
    bool cancelled = false;
};

using KMeansProgress = std::function<void(const JobProgress&)>;

/**
 * Clusters the rows of `data` ([N, D] float32, on the device it should run on: CPU or CUDA).
 * k-means++ initialisation (greedy, 2 + ln k candidates per centre, as scikit-learn; on a seeded
 * sample of at most initSample rows, as large-scale k-means libraries do), Lloyd
 * iterations, empty clusters re-seeded with the points farthest from their centres, deterministic
 * by seed. Throws Error for k < 2, k > N, or NaN / Inf in the data.
 */
KMeansResult kmeans(const torch::Tensor& data, const KMeansParams& params, const CancelToken& cancel = {},
                    const KMeansProgress& onProgress = {});

/** Squared distances of every row to its nearest centre and that centre's index, chunked. */
void assignToCentroids(const torch::Tensor& data, const torch::Tensor& centroids, torch::Tensor& labels,
                       torch::Tensor& minDistances, int64_t chunkRows = 0);

/** Mean silhouette of a seeded sample of at most `sampleSize` rows (Euclidean). */
double silhouetteScore(const torch::Tensor& data, const std::vector<std::int32_t>& labels, int k, int64_t sampleSize,
                       std::uint64_t seed);

/** Davies-Bouldin index (lower is better), from the centres and the mean distance to them. */
double daviesBouldin(const torch::Tensor& data, const std::vector<std::int32_t>& labels,
                     const torch::Tensor& centroids);

/** Normalised mutual information (arithmetic mean) and adjusted Rand index between two labelings. */
double normalizedMutualInfo(const std::vector<int>& a, const std::vector<int>& b);
double adjustedRandIndex(const std::vector<int>& a, const std::vector<int>& b);

/** Each row's squared L2 norm, `chunk` rows at a time (k-means and the neighbour search). */
torch::Tensor rowSquaredNorms(const torch::Tensor& data, int64_t chunk);

} // namespace faceatlas
