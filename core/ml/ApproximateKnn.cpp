#include "ml/ApproximateKnn.h"

#include "ml/L2Distance.h"
#include "util/Error.h"
#include "util/Parallel.h"

// hnswlib.h defines (not only declares) its CPU-feature helpers: this is the one file that includes it.
// Without its SSE paths: hnswlib 0.6.2's prefetch in searchBaseLayer reads the link one past the end
// of a node's list (4 bytes beyond the allocation; AddressSanitizer stops on it in
// MapScaleTest), and its distances are ours anyway (SimdL2Space).
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace faceatlas {

namespace {

using ProgressCallback = std::function<void(const JobProgress&)>;

/** Reports progress from worker threads, at most every 1/200 of the work, one report at a time. */
class SharedProgress {
public:
    SharedProgress(const ProgressCallback& onProgress, const char* stage, int64_t total)
        : m_onProgress(onProgress)
        , m_stage(stage)
        , m_total(total)
        , m_step(std::max<int64_t>(1, total / 200))
    {
        report(0);
    }
    void add(int64_t count)
    {
        const int64_t done = m_done.fetch_add(count) + count;
        if (m_onProgress && (done / m_step != (done - count) / m_step || done == m_total))
            report(done);
    }

private:
    void report(int64_t done)
    {
        if (!m_onProgress)
            return;
        std::lock_guard<std::mutex> lock(m_mutex);
        m_onProgress({m_stage, done, m_total});
    }
    const ProgressCallback& m_onProgress;
    const char* m_stage;
    int64_t m_total, m_step;
    std::atomic<int64_t> m_done{0};
    std::mutex m_mutex;
};

/** hnswlib's L2 space with our run-time chosen SIMD kernel (ml/L2Distance.h) instead of its compile-time one. */
class SimdL2Space : public hnswlib::SpaceInterface<float> {
public:
    explicit SimdL2Space(size_t dim)
        : m_param{dim, l2SquaredFunction()}
    {
    }
    size_t get_data_size() override { return m_param.dim * sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return &distance; }
    void* get_dist_func_param() override { return &m_param; }

private:
    struct Param {
        size_t dim;
        L2Function l2;
    };
    static float distance(const void* a, const void* b, const void* param)
    {
        const auto* p = static_cast<const Param*>(param);
        return p->l2(static_cast<const float*>(a), static_cast<const float*>(b), p->dim);
    }
    Param m_param;
};

} // namespace

namespace {

using Index = hnswlib::HierarchicalNSW<float>;
constexpr size_t kChunk = 256; // rows a worker takes at a time

/** Step 1: every row into the index (rows[i] under label i); false when cancelled. */
bool insertRows(Index& index, const float* rows, int64_t n, int64_t d, int threads, const CancelToken& cancel,
                const ProgressCallback& onProgress)
{
    SharedProgress progress(onProgress, "neighbour index", n);
    // The first point alone, so concurrent inserts always find an entry point.
    index.addPoint(rows, 0);
    parallelFor(
        static_cast<size_t>((n - 1 + kChunk - 1) / kChunk), threads,
        [&](size_t c) {
            if (cancel.isCancelled())
                return;
            const int64_t begin = 1 + static_cast<int64_t>(c * kChunk);
            const int64_t end = std::min<int64_t>(n, begin + static_cast<int64_t>(kChunk));
            for (int64_t i = begin; i < end; ++i)
                index.addPoint(rows + i * d, static_cast<size_t>(i));
            progress.add(end - begin);
        },
        1);
    return !cancel.isCancelled();
}

/** Step 2: each row's k nearest other rows, searched in the finished index, into g. */
void searchRows(const Index& index, const float* rows, int64_t n, int64_t d, int k, int threads,
                const CancelToken& cancel, const ProgressCallback& onProgress, KnnGraph& g)
{
    g.indices = torch::empty({n, k}, torch::kLong);
    g.distances = torch::empty({n, k}, torch::kFloat);
    int64_t* outI = g.indices.data_ptr<int64_t>();
    float* outD = g.distances.data_ptr<float>();
    SharedProgress progress(onProgress, "neighbours", n);
    parallelFor(
        static_cast<size_t>((n + kChunk - 1) / kChunk), threads,
        [&](size_t c) {
            if (cancel.isCancelled())
                return;
            const int64_t begin = static_cast<int64_t>(c * kChunk);
            const int64_t end = std::min<int64_t>(n, begin + static_cast<int64_t>(kChunk));
            std::vector<std::pair<float, int64_t>> found;
            for (int64_t i = begin; i < end; ++i) {
                auto heap = index.searchKnn(rows + i * d, static_cast<size_t>(k + 1));
                found.clear();
                for (; !heap.empty(); heap.pop())
                    if (static_cast<int64_t>(heap.top().second) != i)
                        found.emplace_back(heap.top().first, static_cast<int64_t>(heap.top().second));
                // The total order of the exact search: distance, then index.
                std::sort(found.begin(), found.end());
                if (static_cast<int64_t>(found.size()) < k)
                    throw Error("the approximate neighbour search found " + std::to_string(found.size())
                                + " neighbours of row " + std::to_string(i) + " for " + std::to_string(k)
                                + ": raise ef");
                for (int j = 0; j < k; ++j) {
                    outI[i * k + j] = found[static_cast<size_t>(j)].second;
                    outD[i * k + j] = std::sqrt(std::max(0.0f, found[static_cast<size_t>(j)].first));
                }
            }
            progress.add(end - begin);
        },
        1);
    g.cancelled = cancel.isCancelled();
}

} // namespace

KnnGraph hnswKnn(const torch::Tensor& x, int k, const HnswParams& p, const CancelToken& cancel,
                 const ProgressCallback& onProgress)
{
    torch::NoGradGuard noGrad;
    if (x.dim() != 2 || x.scalar_type() != torch::kFloat)
        throw Error("the approximate neighbour search needs an N x D float32 matrix");
    const int64_t n = x.size(0), d = x.size(1);
    if (k < 1 || k >= n)
        throw Error("the approximate neighbour search: k must be between 1 and " + std::to_string(n - 1) + ", got "
                    + std::to_string(k));
    if (n > std::numeric_limits<int32_t>::max())
        throw Error("the approximate neighbour search: too many rows");
    if (p.m < 2 || p.efConstruction < 1 || p.ef < 0)
        throw Error("the approximate neighbour search: M must be at least 2 and ef positive");
    // hnswlib reads the rows in place: a contiguous float32 copy on the CPU that outlives the index.
    const auto data = x.to(torch::kCPU).contiguous();
    if (!torch::isfinite(data).all().item<bool>())
        throw Error("the approximate neighbour search: the data contain NaN or Inf values");
    const float* rows = data.data_ptr<float>();

    SimdL2Space space(static_cast<size_t>(d));
    Index index(&space, static_cast<size_t>(n), static_cast<size_t>(p.m), static_cast<size_t>(p.efConstruction),
                static_cast<size_t>(p.seed));
    KnnGraph g;
    if (!insertRows(index, rows, n, d, p.threads, cancel, onProgress)) {
        g.cancelled = true;
        return g;
    }
    index.setEf(static_cast<size_t>(p.ef > 0 ? std::max(p.ef, k + 1) : std::max(2 * k, 32)));
    searchRows(index, rows, n, d, k, p.threads, cancel, onProgress, g);
    return g;
}

std::string chooseKnn(const std::string& request, int64_t n)
{
    if (request == "exact" || request == "hnsw")
        return request;
    if (request == "auto")
        return n >= kApproximateKnnFrom ? "hnsw" : "exact";
    throw Error("the neighbour search is exact, hnsw or auto, not '" + request + "'");
}

double graphRecall(const torch::Tensor& x, const KnnGraph& graph, int64_t sampleSize, std::uint64_t seed)
{
    const int64_t n = x.size(0), k = graph.indices.size(1);
    if (graph.indices.dim() != 2 || graph.indices.size(0) != n || k < 1)
        throw Error("graph recall: the graph does not list the rows of the data");
    std::vector<int64_t> rows;
    const KnnGraph truth = sampledExactKnn(x, sampleSize, static_cast<int>(k), seed, rows);
    const auto listed = graph.indices.accessor<int64_t, 2>();
    const auto exact = truth.indices.accessor<int64_t, 2>();
    int64_t found = 0;
    for (size_t s = 0; s < rows.size(); ++s)
        for (int64_t j = 0; j < k; ++j)
            for (int64_t l = 0; l < k; ++l)
                if (listed[rows[s]][l] == exact[static_cast<int64_t>(s)][j]) {
                    ++found;
                    break;
                }
    return rows.empty() ? 1.0 : static_cast<double>(found) / static_cast<double>(rows.size() * k);
}

} // namespace faceatlas
