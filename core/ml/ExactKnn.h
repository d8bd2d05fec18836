#pragma once

#include "util/CancelToken.h"

#include <cstdint>
#include <functional>
#include <torch/torch.h>
#include <vector>

namespace faceatlas {

/**
 * Exact nearest neighbours of codes: the whole graph (every row's k nearest), the graph of a seeded
 * sample of rows (what recall figures are judged against), and one query's nearest rows. The
 * approximate graph for large data is in ApproximateKnn.h; both fill a KnnGraph.
 */

/** Throws Error naming `what` unless x is an [N, D] float32 matrix. */
void requireMatrix(const torch::Tensor& x, const char* what);

/** Throws Error naming `what` and the first bad row when row norms hold NaN or Inf. */
void requireFinite(const torch::Tensor& norms, const char* what);

/** The k nearest neighbours of every row, nearest first; a row is never its own neighbour. */
struct KnnGraph {
    torch::Tensor indices;   // [N, k] int64, on the CPU
    torch::Tensor distances; // [N, k] float32, Euclidean
    bool cancelled = false;
};

/**
 * Exact k-nearest neighbours from blocked matrix products (||a||^2 + ||b||^2 - 2ab over blocks of
 * 512 rows and 8,192 columns), each pair's distance computed once: a block's row-wise top-k serves
 * its rows, its column-wise top-k the rows of the later blocks, merged into running lists in the
 * total order (distance, index). On the CPU each core works on its own row blocks with
 * single-threaded BLAS (as k-means does); on a GPU the blocks run one after the other. The result
 * does not depend on the thread count. Throws Error unless 1 <= k < N, or for NaN / Inf.
 */
KnnGraph exactKnn(const torch::Tensor& x, int k, const CancelToken& cancel = {},
                  const std::function<void(const JobProgress&)>& onProgress = {});

/**
 * The exact k nearest neighbours (as exactKnn) of a seeded sample of at most `sampleSize` rows of x:
 * `rows` receives the sampled row numbers, ascending, and the graph holds their [rows, k] lists.
 */
KnnGraph sampledExactKnn(const torch::Tensor& x, int64_t sampleSize, int k, std::uint64_t seed,
                         std::vector<int64_t>& rows);

/** Nearest rows to a query, nearest first, with Euclidean distances. */
struct Neighbours {
    std::vector<int64_t> indices;
    std::vector<float> distances;
};

/**
 * Brute-force k nearest rows of `all` ([N, D] float32) to `query` ([D]): one pass over the data
 * (a fused distance loop on all cores for a contiguous CPU matrix, a matrix-vector product
 * elsewhere) and a top-k. Row `exclude` (e.g. the query's own row) is left out when >= 0.
 * Throws Error when k is not in 1..N (N - 1 with an exclusion) or the dimensions differ.
 */
Neighbours nearest(const torch::Tensor& all, const torch::Tensor& query, int k, int64_t exclude = -1);

/**
 * The vectors "more like this" searches ([N, D] float32 on the CPU: a view of mapped codes, or an
 * age model's features), with the searches a window asks for. Holding a view of mapped codes, it
 * must not outlive them: keep the Codes alive beside it.
 */
class VectorSet {
public:
    VectorSet() = default;
    explicit VectorSet(torch::Tensor values);
    bool empty() const { return !m_values.defined(); }
    int64_t count() const { return empty() ? 0 : m_values.size(0); }
    int64_t dim() const { return empty() ? 0 : m_values.size(1); }
    /** The (at most) k rows nearest to row `row`, itself left out. */
    Neighbours nearestToRow(int64_t row, int k) const;
    /** The (at most) k rows nearest to `query` (dim() values; Error otherwise). */
    Neighbours nearestTo(const std::vector<float>& query, int k) const;

private:
    torch::Tensor m_values;
};

} // namespace faceatlas
