#include "ml/Projection.h"

#include "ml/ApproximateKnn.h"

#include "ml/KMeans.h"
#include "ml/SpectralStart.h"
#include "util/Error.h"
#include "util/Parallel.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

namespace faceatlas {

namespace {

using Clock = std::chrono::steady_clock;
using ProgressCallback = std::function<void(const JobProgress&)>;

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

/** UMAP's smooth_knn_dist: per-point rho (nearest distance) and sigma so the weights sum to log2 k. */
std::vector<float> fuzzyWeights(const torch::Tensor& distances, int countWithSelf)
{
    const int64_t n = distances.size(0), k = distances.size(1);
    const auto acc = distances.accessor<float, 2>();
    const double target = std::log2(static_cast<double>(countWithSelf));
    double meanAll = 0;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j)
            meanAll += acc[i][j];
    meanAll /= static_cast<double>(n * k);
    std::vector<float> weights(static_cast<size_t>(n * k));
    for (int64_t i = 0; i < n; ++i) {
        double rho = 0, mean = 0;
        for (int64_t j = 0; j < k; ++j) {
            mean += acc[i][j];
            if (rho == 0 && acc[i][j] > 0)
                rho = acc[i][j];
        }
        mean /= static_cast<double>(k);
        double lo = 0, hi = std::numeric_limits<double>::infinity(), mid = 1;
        for (int it = 0; it < 64; ++it) {
            double sum = 0;
            for (int64_t j = 0; j < k; ++j) {
                const double d = acc[i][j] - rho;
                sum += d > 0 ? std::exp(-d / mid) : 1.0;
            }
            if (std::abs(sum - target) < 1e-5)
                break;
            if (sum > target) {
                hi = mid;
                mid = (lo + hi) / 2;
            } else {
                lo = mid;
                mid = std::isinf(hi) ? mid * 2 : (lo + hi) / 2;
            }
        }
        // UMAP's floor on sigma, so that a point in a tight clump keeps finite weights.
        mid = std::max(mid, 1e-3 * (rho > 0 ? mean : meanAll));
        for (int64_t j = 0; j < k; ++j) {
            const double d = acc[i][j] - rho;
            weights[static_cast<size_t>(i * k + j)] = static_cast<float>(d > 0 ? std::exp(-d / mid) : 1.0);
        }
    }
    return weights;
}

using Edge = GraphEdge;

/** The symmetrised graph (w = a + b - ab), with both directions of every pair. */
std::vector<Edge> symmetricEdges(const torch::Tensor& indices, const std::vector<float>& weights)
{
    const int64_t n = indices.size(0), k = indices.size(1);
    const auto idx = indices.accessor<int64_t, 2>();
    struct Entry {
        std::uint64_t key;
        float weight;
    };
    std::vector<Entry> entries;
    entries.reserve(static_cast<size_t>(n * k));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j) {
            const int64_t t = idx[i][j];
            if (t < 0 || t == i)
                continue;
            const auto lo = static_cast<std::uint64_t>(std::min(i, t)), hi = static_cast<std::uint64_t>(std::max(i, t));
            entries.push_back({lo << 32 | hi, weights[static_cast<size_t>(i * k + j)]});
        }
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.key < b.key || (a.key == b.key && a.weight < b.weight); });
    std::vector<Edge> edges;
    edges.reserve(entries.size() * 2);
    for (size_t e = 0; e < entries.size();) {
        float w = entries[e].weight;
        size_t next = e + 1;
        if (next < entries.size() && entries[next].key == entries[e].key) {
            w = w + entries[next].weight - w * entries[next].weight;
            ++next;
        }
        const auto head = static_cast<std::uint32_t>(entries[e].key >> 32);
        const auto tail = static_cast<std::uint32_t>(entries[e].key & 0xffffffffULL);
        edges.push_back({head, tail, w});
        edges.push_back({tail, head, w});
        e = next;
    }
    return edges;
}

inline float clip4(float v)
{
    return std::clamp(v, -4.0f, 4.0f);
}

} // namespace

torch::Tensor principalComponents(const torch::Tensor& x, int dims, torch::Tensor* directions, double* varianceKept)
{
    torch::NoGradGuard noGrad;
    requireMatrix(x, "PCA");
    const int64_t n = x.size(0), d = x.size(1);
    if (n < 2 || d < 2)
        throw Error("PCA needs at least 2 rows and 2 columns, got " + std::to_string(n) + " x " + std::to_string(d));
    if (dims < 1 || dims > d)
        throw Error("PCA: " + std::to_string(dims) + " components of " + std::to_string(d) + " columns");
    const int64_t chunk = std::max<int64_t>(256, (8LL << 20) / (d * 4));
    auto sum = torch::zeros({d}, x.options().dtype(torch::kDouble));
    for (int64_t start = 0; start < n; start += chunk)
        sum += x.narrow(0, start, std::min(chunk, n - start)).sum(0).to(torch::kDouble);
    const auto mean = sum / static_cast<double>(n);
    if (!torch::isfinite(mean).all().item<bool>())
        requireFinite(rowSquaredNorms(x, chunk), "PCA");
    const auto meanF = mean.to(torch::kFloat);
    // Covariance from float products of centred blocks, summed in double.
    auto cov = torch::zeros({d, d}, x.options().dtype(torch::kDouble));
    for (int64_t start = 0; start < n; start += chunk) {
        const auto block = x.narrow(0, start, std::min(chunk, n - start)) - meanF;
        cov += block.t().mm(block).to(torch::kDouble);
    }
    cov /= static_cast<double>(n - 1);
    const auto eig = torch::linalg_eigh(cov.cpu());
    // Ascending eigenvalues: the last columns are the top directions.
    auto top = std::get<1>(eig).narrow(1, d - dims, dims).flip({1}).contiguous();
    for (int c = 0; c < dims; ++c) {
        const auto column = top.select(1, c);
        const int64_t arg = column.abs().argmax().item<int64_t>();
        if (column[arg].item<double>() < 0)
            column.neg_();
    }
    const auto dirs = top.to(torch::kFloat).to(x.device());
    auto out = torch::empty({n, dims}, torch::kFloat);
    for (int64_t start = 0; start < n; start += chunk) {
        const int64_t len = std::min(chunk, n - start);
        out.narrow(0, start, len).copy_((x.narrow(0, start, len) - meanF).mm(dirs));
    }
    if (directions)
        *directions = top.to(torch::kFloat);
    if (varianceKept) {
        const auto values = std::get<0>(eig).clamp_min(0);
        const double total = values.sum().item<double>();
        *varianceKept = total > 0 ? values.narrow(0, d - dims, dims).sum().item<double>() / total : 1.0;
    }
    return out;
}

torch::Tensor pca2d(const torch::Tensor& x, torch::Tensor* directions)
{
    return principalComponents(x, 2, directions);
}

int embeddingEpochsFor(int64_t n)
{
    // UMAP uses 500 epochs below 10,000 points and 200 above. Measured on 20,000 clustered codes
    // (faceatlas_bench_map): recall@10 0.065 after 120 epochs, 0.074 after 200 (umap-learn's figure),
    // 0.086 after 500, at 1.2 s of layout per 50 epochs; 100,000 points and more get 120 so that
    // 175,000 codes still map in under 3 minutes on 2 cores (the exact kNN takes most of it). Up to
    // 10,000 points UMAP's 500: on the 3,897 real UTKFace codes recall@10 0.161 after 200, 0.170 after
    // 500, at 3.6 s for the whole map.
    return n <= 10000 ? 500 : n < 100000 ? 200 : 120;
}

namespace {

/**
 * Step 1 of the embedding: the code graph. The space searched is all D dimensions, or the top
 * principal components (EmbeddingParams::knnDims; by default, for the approximate search, 64 of them
 * when they hold kAutoKnnVariance of the variance). The graph holds neighbors - 1 others per point:
 * like umap-learn's n_neighbors, the count includes the point itself.
 */
KnnGraph searchCodeGraph(const torch::Tensor& x, const EmbeddingParams& p, EmbeddingResult& r,
                         const CancelToken& cancel, const ProgressCallback& onProgress)
{
    const int64_t n = x.size(0), d = x.size(1);
    r.knn = chooseKnn(p.knn, n);
    r.knnDims = static_cast<int>(d);
    r.knnVarianceKept = 1.0;
    torch::Tensor searched = x;
    const int asked = p.knnDims == kAutoKnnDims ? (r.knn == "hnsw" ? kAutoKnnDimsCount : 0) : p.knnDims;
    if (asked > 0 && asked < d) {
        double kept = 1.0;
        auto reduced = principalComponents(x, asked, nullptr, &kept);
        if (p.knnDims != kAutoKnnDims || kept >= kAutoKnnVariance) {
            searched = reduced.to(x.device());
            r.knnDims = asked;
            r.knnVarianceKept = kept;
        }
    }
    HnswParams hnsw;
    hnsw.seed = p.seed;
    hnsw.threads = p.threads;
    const int others = p.neighbors - 1;
    return r.knn == "hnsw" ? hnswKnn(searched, others, hnsw, cancel, onProgress)
                           : exactKnn(searched, others, cancel, onProgress);
}

/** Step 2: the fuzzy graph's edges (both directions), less those too weak to be sampled once. */
std::vector<Edge> layoutEdges(const KnnGraph& g, int neighbors, int epochs, float& maxWeight)
{
    std::vector<Edge> edges = symmetricEdges(g.indices, fuzzyWeights(g.distances, neighbors));
    maxWeight = 0;
    for (const auto& e : edges)
        maxWeight = std::max(maxWeight, e.weight);
    const float floor = maxWeight / static_cast<float>(epochs);
    edges.erase(std::remove_if(edges.begin(), edges.end(), [floor](const Edge& e) { return e.weight < floor; }),
                edges.end());
    return edges;
}

/**
 * Step 3: the start, as umap-learn's: the graph's spectral layout (SpectralStart.h), or PCA where the
 * graph has none (several components, an isolated point), scaled so that its largest coordinate is
 * 10, then each axis to [0, 10]. On the 3,897 real UTKFace codes, seeds 1-10, the spectral start
 * gives recall@10 0.178 on average against 0.174 from PCA (README, the map rows). Large graphs start
 * from PCA: on 175,000 drawn codes the spectral start took 8.7 s (Lanczos, capped at 182 vectors)
 * and the map's recall fell from 0.016 to 0.013.
 */
constexpr int64_t kSpectralStartBelow = 50000;

std::vector<float> initialPositions(const torch::Tensor& x, const std::vector<Edge>& edges, std::uint64_t seed,
                                    std::string& startName)
{
    torch::Tensor start = x.size(0) < kSpectralStartBelow ? spectralStart(edges, x.size(0), seed) : torch::Tensor();
    startName = start.defined() ? "spectral" : "pca";
    if (!start.defined())
        start = pca2d(x).to(torch::kDouble);
    start = start * (10.0 / std::max(1e-12, start.abs().max().item<double>()));
    const auto low = std::get<0>(start.min(0, true)), high = std::get<0>(start.max(0, true));
    start = ((start - low) * 10.0 / (high - low).clamp_min(1e-12)).to(torch::kFloat).contiguous();
    return std::vector<float>(start.data_ptr<float>(), start.data_ptr<float>() + start.numel());
}

/**
 * Step 4: SGD on UMAP's cross-entropy. Every edge is sampled once every epochsPerSample epochs
 * (maxWeight / weight: the strongest every epoch), moving both ends together, each sample followed by
 * `negatives` random repulsive moves of its head; the learning rate falls linearly to 0.
 */
class LayoutSgd {
public:
    LayoutSgd(const std::vector<Edge>& edges, float maxWeight, const EmbeddingParams& p, const MapCurve& curve,
              int64_t points)
        : m_edges(edges)
        , m_p(p)
        , m_a(static_cast<float>(curve.a))
        , m_b(static_cast<float>(curve.b))
        , m_gamma(static_cast<float>(p.repulsion))
        , m_points(points)
        , m_perSample(edges.size())
        , m_nextSample(edges.size())
        , m_perNegative(edges.size())
        , m_nextNegative(edges.size())
    {
        for (size_t e = 0; e < edges.size(); ++e) {
            m_perSample[e] = maxWeight / edges[e].weight;
            m_nextSample[e] = m_perSample[e];
            m_perNegative[e] = p.negatives > 0 ? m_perSample[e] / static_cast<float>(p.negatives) : 0;
            m_nextNegative[e] = m_perNegative[e];
        }
    }

    /**
     * One epoch over every edge due. Each chunk of edges has its own seeded generator, so one thread
     * gives the same map every time; several threads update shared points without locks (Hogwild),
     * which is not reproducible.
     */
    void epoch(int epoch, int epochs, float* pos)
    {
        const float alpha = static_cast<float>(m_p.learningRate * (1.0 - static_cast<double>(epoch) / epochs));
        const float now = static_cast<float>(epoch + 1);
        const size_t m = m_edges.size(), chunk = 8192, chunks = (m + chunk - 1) / chunk;
        parallelFor(
            chunks, m_p.threads,
            [&](size_t c) {
                SplitMix rng(m_p.seed ^ (0x9E3779B97F4A7C15ULL * (static_cast<std::uint64_t>(epoch) * chunks + c + 1)));
                const size_t end = std::min(m, (c + 1) * chunk);
                for (size_t e = c * chunk; e < end; ++e)
                    if (m_nextSample[e] <= now)
                        sample(e, now, alpha, pos, rng);
            },
            1);
    }

private:
    void sample(size_t e, float now, float alpha, float* pos, SplitMix& rng)
    {
        float* yi = pos + 2 * static_cast<size_t>(m_edges[e].head);
        float* yj = pos + 2 * static_cast<size_t>(m_edges[e].tail);
        float dx = yi[0] - yj[0], dy = yi[1] - yj[1];
        float d2 = dx * dx + dy * dy;
        if (d2 > 0) {
            // d^2(b-1) as d^2b / d^2: one pow per move.
            const float powB = std::pow(d2, m_b);
            const float coeff = -2 * m_a * m_b * (powB / d2) / (m_a * powB + 1);
            const float gx = clip4(coeff * dx) * alpha, gy = clip4(coeff * dy) * alpha;
            yi[0] += gx;
            yi[1] += gy;
            yj[0] -= gx;
            yj[1] -= gy;
        }
        m_nextSample[e] += m_perSample[e];
        if (m_p.negatives == 0)
            return;
        const int negatives = static_cast<int>((now - m_nextNegative[e]) / m_perNegative[e]);
        for (int s = 0; s < negatives; ++s) {
            const size_t other = rng.below(static_cast<size_t>(m_points));
            if (other == m_edges[e].head)
                continue;
            const float* yk = pos + 2 * other;
            dx = yi[0] - yk[0];
            dy = yi[1] - yk[1];
            d2 = dx * dx + dy * dy;
            if (d2 > 0) {
                const float coeff = 2 * m_gamma * m_b / ((0.001f + d2) * (m_a * std::pow(d2, m_b) + 1));
                yi[0] += clip4(coeff * dx) * alpha;
                yi[1] += clip4(coeff * dy) * alpha;
            } else {
                yi[0] += 4 * alpha;
                yi[1] += 4 * alpha;
            }
        }
        m_nextNegative[e] += static_cast<float>(negatives) * m_perNegative[e];
    }

    const std::vector<Edge>& m_edges;
    const EmbeddingParams& m_p;
    const float m_a, m_b, m_gamma;
    const int64_t m_points;
    std::vector<float> m_perSample, m_nextSample, m_perNegative, m_nextNegative;
};

} // namespace

EmbeddingResult neighbourEmbedding(const torch::Tensor& x, const EmbeddingParams& p, const CancelToken& cancel,
                                   const ProgressCallback& onProgress)
{
    torch::NoGradGuard noGrad;
    requireMatrix(x, "neighbour embedding");
    const int64_t n = x.size(0);
    if (n < 3)
        throw Error("neighbour embedding needs at least 3 points, got " + std::to_string(n));
    if (n > std::numeric_limits<std::uint32_t>::max())
        throw Error("neighbour embedding: too many points");
    if (p.neighbors < 2 || p.neighbors >= n)
        throw Error("neighbour embedding: the neighbour count must be between 2 and " + std::to_string(n - 1) + ", got "
                    + std::to_string(p.neighbors));
    if (p.negatives < 0 || p.learningRate <= 0 || p.epochs < 0 || (p.knnDims < 0 && p.knnDims != kAutoKnnDims))
        throw Error("neighbour embedding: negative sample count, learning rate, epochs or search dimensions out of "
                    "range");
    EmbeddingResult r;
    r.epochs = p.epochs > 0 ? p.epochs : embeddingEpochsFor(n);
    r.curve = mapCurve(p.minDist, p.spread);

    auto t0 = Clock::now();
    r.graph = searchCodeGraph(x, p, r, cancel, onProgress);
    r.knnSeconds = secondsSince(t0);
    if (r.graph.cancelled) {
        r.cancelled = true;
        return r;
    }

    t0 = Clock::now();
    float maxWeight = 0;
    std::vector<Edge> edges = layoutEdges(r.graph, p.neighbors, r.epochs, maxWeight);
    r.edges = static_cast<int64_t>(edges.size() / 2);
    std::vector<float> y = initialPositions(x, edges, p.seed, r.start);
    // From the spectral start, in umap-learn's order (its sparse matrix's: by head, then tail), so
    // that the SGD moves one point along all its edges in a row: on the 3,897 real UTKFace codes
    // recall@10 0.174 with both directions of a pair in a row, 0.178-0.179 so. From PCA the pairs'
    // order stays: the same 0.174 there, and at 175,000 codes with two threads 0.015 against 0.013.
    if (r.start == "spectral")
        std::sort(edges.begin(), edges.end(), [](const Edge& a, const Edge& b) {
            return a.head < b.head || (a.head == b.head && a.tail < b.tail);
        });
    r.graphSeconds = secondsSince(t0);

    t0 = Clock::now();
    LayoutSgd sgd(edges, maxWeight, p, r.curve, n);
    for (int epoch = 0; epoch < r.epochs; ++epoch) {
        if (cancel.isCancelled()) {
            r.cancelled = true;
            return r;
        }
        sgd.epoch(epoch, r.epochs, y.data());
        if (onProgress)
            onProgress({"layout", epoch + 1, r.epochs});
    }
    r.layoutSeconds = secondsSince(t0);
    r.map = torch::from_blob(y.data(), {n, 2}, torch::kFloat).clone();
    return r;
}

double neighbourRecall(const torch::Tensor& highDim, const torch::Tensor& map2d, int64_t sampleSize, int k,
                       std::uint64_t seed)
{
    torch::NoGradGuard noGrad;
    requireMatrix(highDim, "neighbour recall");
    requireMatrix(map2d, "neighbour recall");
    const int64_t n = highDim.size(0);
    if (map2d.size(0) != n || map2d.size(1) != 2)
        throw Error("neighbour recall: the map has " + std::to_string(map2d.size(0)) + " x "
                    + std::to_string(map2d.size(1)) + " values for " + std::to_string(n) + " points");
    if (k < 1 || k >= n)
        throw Error("neighbour recall: k must be between 1 and " + std::to_string(n - 1));
    // The same seeded sample on both sides, each searched exactly.
    std::vector<int64_t> rows, sameRows;
    const KnnGraph high = sampledExactKnn(highDim, sampleSize, k, seed, rows);
    const KnnGraph low = sampledExactKnn(map2d.to(highDim.device()), sampleSize, k, seed, sameRows);
    const auto hi = high.indices.accessor<int64_t, 2>(), lo = low.indices.accessor<int64_t, 2>();
    double total = 0;
    for (size_t s = 0; s < rows.size(); ++s) {
        int shared = 0;
        for (int i = 0; i < k; ++i)
            for (int j = 0; j < k; ++j)
                if (hi[static_cast<int64_t>(s)][i] == lo[static_cast<int64_t>(s)][j]) {
                    ++shared;
                    break;
                }
        total += static_cast<double>(shared) / k;
    }
    return total / static_cast<double>(rows.size());
}

} // namespace faceatlas
