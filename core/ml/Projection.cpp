#include "ml/Projection.h"

#include "ml/ApproximateKnn.h"

#include "ml/KMeans.h"
#include "ml/Runtime.h"
#include "util/Error.h"
#include "util/Parallel.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>

namespace faceatlas {

namespace {

using Clock = std::chrono::steady_clock;
using ProgressCallback = std::function<void(const JobProgress&)>;

double secondsSince(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

void checkMatrix(const torch::Tensor& x, const char* what)
{
    if (x.dim() != 2 || x.scalar_type() != torch::kFloat)
        throw Error(std::string(what) + " needs an N x D float32 matrix");
}

void checkFinite(const torch::Tensor& norms, const char* what)
{
    const auto finite = torch::isfinite(norms);
    if (!finite.all().item<bool>()) {
        const int64_t row = (~finite).nonzero()[0][0].item<int64_t>();
        throw Error(std::string(what) + ": the data contain NaN or Inf values (first in row " + std::to_string(row)
                    + ")");
    }
}

/**
 * The k nearest rows of `data` to each row of `queries`, by blocks: `rowBlock` queries against
 * `colBlock` data rows per matrix product, a running top-k merged after each. `self[q]` (when
 * given) is the data row that query q is, left out of its own list. Writes [Q, k] indices and
 * Euclidean distances (on the CPU). Returns false when cancelled.
 */
bool blockedKnn(const torch::Tensor& data, const torch::Tensor& dataNorms, const torch::Tensor& queries,
                const std::vector<int64_t>* self, int k, torch::Tensor& outIndices, torch::Tensor& outDistances,
                const CancelToken& cancel, const ProgressCallback& onProgress, const char* stage)
{
    const int64_t n = data.size(0), q = queries.size(0);
    // About 1 MB of query rows per block and 16,384 data rows per product: the [256, 16384]
    // distance block is 16 MB, the top-k merge costs little beside the product.
    const int64_t rowBlock = std::clamp<int64_t>((1LL << 20) / std::max<int64_t>(1, data.size(1) * 4), 64, 1024);
    const int64_t colBlock = 16384;
    outIndices = torch::empty({q, k}, torch::kLong);
    outDistances = torch::empty({q, k}, torch::kFloat);
    const int64_t blocks = (q + rowBlock - 1) / rowBlock;
    std::atomic<long long> done{0};
    std::mutex progressMutex;
    const float inf = std::numeric_limits<float>::infinity();
    const auto block = [&](size_t b) {
        if (cancel.isCancelled())
            return;
        useOneMathThread();        // on a worker: its LibTorch operations on its own thread
        torch::NoGradGuard noGrad; // thread-local: every worker needs its own
        const int64_t start = static_cast<int64_t>(b) * rowBlock, len = std::min(rowBlock, q - start);
        const auto rows = queries.narrow(0, start, len);
        const auto rowNorms = rows.pow(2).sum(1).unsqueeze(1);
        auto bestD = torch::full({len, k}, inf, data.options());
        auto bestI = torch::full({len, k}, -1, data.options().dtype(torch::kLong));
        for (int64_t col = 0; col < n; col += colBlock) {
            const int64_t c = std::min(colBlock, n - col);
            auto d = torch::addmm(dataNorms.narrow(0, col, c).unsqueeze(0), rows, data.narrow(0, col, c).t(),
                                  /*beta=*/1, /*alpha=*/-2);
            d.add_(rowNorms).clamp_min_(0);
            if (self) {
                std::vector<int64_t> r, cc;
                for (int64_t i = 0; i < len; ++i) {
                    const int64_t s = (*self)[static_cast<size_t>(start + i)];
                    if (s >= col && s < col + c) {
                        r.push_back(i);
                        cc.push_back(s - col);
                    }
                }
                if (!r.empty())
                    d.index_put_(
                        {torch::tensor(r, torch::kLong).to(d.device()), torch::tensor(cc, torch::kLong).to(d.device())},
                        inf);
            }
            const auto top = d.topk(std::min<int64_t>(k, c), 1, /*largest=*/false, /*sorted=*/false);
            const auto allD = torch::cat({bestD, std::get<0>(top)}, 1);
            const auto allI = torch::cat({bestI, std::get<1>(top).add(col)}, 1);
            const auto merged = allD.topk(k, 1, /*largest=*/false, /*sorted=*/true);
            bestD = std::get<0>(merged);
            bestI = allI.gather(1, std::get<1>(merged));
        }
        outDistances.narrow(0, start, len).copy_(bestD.sqrt());
        outIndices.narrow(0, start, len).copy_(bestI);
        const long long finished = ++done;
        if (onProgress) {
            std::lock_guard<std::mutex> lock(progressMutex);
            onProgress({stage, finished, blocks});
        }
    };
    if (data.is_cpu() && at::get_num_threads() > 1 && blocks > 1) {
        parallelOnMathThreads(static_cast<size_t>(blocks), at::get_num_threads(), [&](size_t b, int) { block(b); });
    } else {
        for (int64_t b = 0; b < blocks; ++b)
            block(static_cast<size_t>(b));
    }
    return !cancel.isCancelled();
}

/** (distance, index) in a total order, so that merged top-k lists do not depend on the merge order. */
inline bool closer(float da, int64_t ia, float db, int64_t ib)
{
    return da < db || (da == db && ia < ib);
}

/**
 * Merges `count` candidate rows ([count, kc] distances and indices, each row sorted) into the sorted
 * best lists best[row0 .. row0 + count) of length k.
 */
void mergeCandidates(float* bestD, int64_t* bestI, int k, int64_t row0, int64_t count, const float* candD,
                     const int64_t* candI, int kc)
{
    std::vector<std::pair<float, int64_t>> cand(static_cast<size_t>(kc));
    std::vector<float> d(static_cast<size_t>(k));
    std::vector<int64_t> idx(static_cast<size_t>(k));
    for (int64_t r = 0; r < count; ++r) {
        for (int j = 0; j < kc; ++j)
            cand[static_cast<size_t>(j)] = {candD[r * kc + j], candI[r * kc + j]};
        std::sort(cand.begin(), cand.end());
        float* bd = bestD + (row0 + r) * k;
        int64_t* bi = bestI + (row0 + r) * k;
        int a = 0, b = 0;
        for (int out = 0; out < k; ++out) {
            const bool takeOld =
                b >= kc
                || (a < k
                    && closer(bd[a], bi[a], cand[static_cast<size_t>(b)].first, cand[static_cast<size_t>(b)].second));
            if (takeOld) {
                d[static_cast<size_t>(out)] = bd[a];
                idx[static_cast<size_t>(out)] = bi[a++];
            } else {
                d[static_cast<size_t>(out)] = cand[static_cast<size_t>(b)].first;
                idx[static_cast<size_t>(out)] = cand[static_cast<size_t>(b++)].second;
            }
        }
        std::copy(d.begin(), d.end(), bd);
        std::copy(idx.begin(), idx.end(), bi);
    }
}

/** Inserts (dist, j) into the sorted list d/idx of length k; the caller checked it beats the last entry. */
inline void insertCandidate(float* d, int64_t* idx, int k, float dist, int64_t j)
{
    int p = k - 1;
    while (p > 0 && closer(dist, j, d[p - 1], idx[p - 1])) {
        d[p] = d[p - 1];
        idx[p] = idx[p - 1];
        --p;
    }
    d[p] = dist;
    idx[p] = j;
}

/**
 * Exact k nearest neighbours of every row of x (contiguous, on the CPU) among the others,
 * computing each pair's distance once: row block i meets only the columns from its own first row
 * on, in products of 512 x 8,192. One scan over each product updates sorted lists for its rows
 * and for the later blocks' rows (its columns); a candidate enters a list only when it beats the
 * list's k-th entry, so after the first columns almost nothing is inserted and the scan costs
 * little beside the product (torch::topk over every block cost as much as the products). Lists
 * merge in the total order of closer(): the result does not depend on which worker merged first,
 * and a column list's threshold read early is only looser, never wrong. Returns false when cancelled.
 */
bool symmetricKnn(const torch::Tensor& x, const torch::Tensor& norms, int k, torch::Tensor& outIndices,
                  torch::Tensor& outDistances, const CancelToken& cancel, const ProgressCallback& onProgress)
{
    const int64_t n = x.size(0);
    const int64_t rowBlock = 512, colBlock = 16 * rowBlock;
    const int64_t blocks = (n + rowBlock - 1) / rowBlock;
    const float inf = std::numeric_limits<float>::infinity();
    const auto normsCpu = norms.contiguous();
    const float* cn = normsCpu.data_ptr<float>();
    std::vector<float> bestD(static_cast<size_t>(n * k), inf);
    std::vector<int64_t> bestI(static_cast<size_t>(n * k), -1);
    std::vector<std::mutex> locks(static_cast<size_t>(blocks));
    long long totalSteps = 0;
    for (int64_t b = 0; b < blocks; ++b)
        totalSteps += (n - b * rowBlock + colBlock - 1) / colBlock;
    std::atomic<long long> done{0};
    std::mutex progressMutex;
    const auto task = [&](size_t b) {
        useOneMathThread();
        torch::NoGradGuard noGrad; // thread-local: every worker needs its own
        const int64_t start = static_cast<int64_t>(b) * rowBlock, len = std::min(rowBlock, n - start);
        const auto rows = x.narrow(0, start, len);
        std::vector<float> rowD(static_cast<size_t>(len * k), inf), colD(static_cast<size_t>(colBlock * k));
        std::vector<int64_t> rowI(static_cast<size_t>(len * k), -1), colI(static_cast<size_t>(colBlock * k));
        std::vector<float> thrD(static_cast<size_t>(colBlock));
        std::vector<int64_t> thrI(static_cast<size_t>(colBlock));
        for (int64_t col = start; col < n; col += colBlock) {
            if (cancel.isCancelled())
                return;
            const int64_t c = std::min(colBlock, n - col);
            const auto product = torch::mm(rows, x.narrow(0, col, c).t()).contiguous();
            const float* dot = product.data_ptr<float>();
            // Columns [0, own) are this block's own rows: their pairs are served row-wise only.
            const int64_t own = col == start ? len : 0;
            std::fill(colD.begin(), colD.begin() + c * k, inf);
            std::fill(colI.begin(), colI.begin() + c * k, -1);
            for (int64_t j = own; j < c;) {
                const int64_t target = (col + j) / rowBlock, end = std::min(c, (target + 1) * rowBlock - col);
                std::lock_guard<std::mutex> lock(locks[static_cast<size_t>(target)]);
                for (; j < end; ++j) {
                    thrD[static_cast<size_t>(j)] = bestD[static_cast<size_t>((col + j) * k + k - 1)];
                    thrI[static_cast<size_t>(j)] = bestI[static_cast<size_t>((col + j) * k + k - 1)];
                }
            }
            for (int64_t r = 0; r < len; ++r) {
                const int64_t gi = start + r;
                const float rn = cn[gi];
                const float* dr = dot + r * c;
                float* rd = rowD.data() + r * k;
                int64_t* ri = rowI.data() + r * k;
                float rowThr = rd[k - 1];
                int64_t rowThrI = ri[k - 1];
                for (int64_t j = 0; j < own; ++j) {
                    const int64_t gj = col + j;
                    const float dist = std::max(0.0f, rn + cn[gj] - 2 * dr[j]);
                    if (closer(dist, gj, rowThr, rowThrI) && gj != gi) {
                        insertCandidate(rd, ri, k, dist, gj);
                        rowThr = rd[k - 1];
                        rowThrI = ri[k - 1];
                    }
                }
                for (int64_t j = own; j < c; ++j) {
                    const int64_t gj = col + j;
                    const float dist = std::max(0.0f, rn + cn[gj] - 2 * dr[j]);
                    if (closer(dist, gj, rowThr, rowThrI)) {
                        insertCandidate(rd, ri, k, dist, gj);
                        rowThr = rd[k - 1];
                        rowThrI = ri[k - 1];
                    }
                    if (closer(dist, gi, thrD[static_cast<size_t>(j)], thrI[static_cast<size_t>(j)])) {
                        float* cd = colD.data() + j * k;
                        int64_t* ci = colI.data() + j * k;
                        insertCandidate(cd, ci, k, dist, gi);
                        // The column's bar: the closer of its list's k-th entry and the snapshot's.
                        if (closer(cd[k - 1], ci[k - 1], thrD[static_cast<size_t>(j)], thrI[static_cast<size_t>(j)])) {
                            thrD[static_cast<size_t>(j)] = cd[k - 1];
                            thrI[static_cast<size_t>(j)] = ci[k - 1];
                        }
                    }
                }
            }
            for (int64_t j = own; j < c;) {
                const int64_t target = (col + j) / rowBlock, end = std::min(c, (target + 1) * rowBlock - col);
                std::lock_guard<std::mutex> lock(locks[static_cast<size_t>(target)]);
                mergeCandidates(bestD.data(), bestI.data(), k, col + j, end - j, colD.data() + j * k,
                                colI.data() + j * k, k);
                j = end;
            }
            const long long finished = ++done;
            if (onProgress) {
                std::lock_guard<std::mutex> lock(progressMutex);
                onProgress({"neighbours", finished, totalSteps});
            }
        }
        std::lock_guard<std::mutex> lock(locks[b]);
        mergeCandidates(bestD.data(), bestI.data(), k, start, len, rowD.data(), rowI.data(), k);
    };
    // BLAS runs single-threaded (the compute budget), so every product sums in the same order
    // whatever the thread count, and the lists are the same bit for bit.
    parallelOnMathThreads(static_cast<size_t>(blocks), at::get_num_threads(), [&](size_t b, int) { task(b); });
    if (cancel.isCancelled())
        return false;
    outDistances = torch::from_blob(bestD.data(), {n, k}, torch::kFloat).sqrt();
    outIndices = torch::from_blob(bestI.data(), {n, k}, torch::kLong).clone();
    return true;
}

/** The seeded sample of rows used by neighbourRecall (sorted, without repeats). */
std::vector<int64_t> sampleRows(int64_t n, int64_t size, std::uint64_t seed)
{
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        rows[static_cast<size_t>(i)] = i;
    if (size > 0 && size < n) {
        SplitMix rng(seed);
        for (int64_t i = 0; i < size; ++i)
            std::swap(rows[static_cast<size_t>(i)],
                      rows[static_cast<size_t>(i) + rng.below(static_cast<size_t>(n - i))]);
        rows.resize(static_cast<size_t>(size));
        std::sort(rows.begin(), rows.end());
    }
    return rows;
}

/** UMAP's smooth_knn_dist: per-point rho (nearest distance) and sigma so the weights sum to log2 k. */
std::vector<float> fuzzyWeights(const torch::Tensor& distances)
{
    const int64_t n = distances.size(0), k = distances.size(1);
    const auto acc = distances.accessor<float, 2>();
    const double target = std::log2(static_cast<double>(k));
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

struct Edge {
    std::uint32_t head, tail;
    float weight;
};

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

/** The fused loop of nearest(): squared distances of rows [begin, end) to q. */
__attribute__((target_clones("avx2", "default"))) void squaredDistances(const float* data, const float* q, int64_t dim,
                                                                        int64_t begin, int64_t end, float* out)
{
    for (int64_t i = begin; i < end; ++i) {
        const float* x = data + i * dim;
        float lanes[16] = {};
        int64_t j = 0;
        for (; j + 16 <= dim; j += 16)
            for (int l = 0; l < 16; ++l) {
                const float d = x[j + l] - q[j + l];
                lanes[l] += d * d;
            }
        float sum = 0;
        for (; j < dim; ++j)
            sum += (x[j] - q[j]) * (x[j] - q[j]);
        for (float lane : lanes)
            sum += lane;
        out[i] = sum;
    }
}

} // namespace

torch::Tensor principalComponents(const torch::Tensor& x, int dims, torch::Tensor* directions)
{
    torch::NoGradGuard noGrad;
    checkMatrix(x, "PCA");
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
        checkFinite(rowSquaredNorms(x, chunk), "PCA");
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
    return out;
}

torch::Tensor pca2d(const torch::Tensor& x, torch::Tensor* directions)
{
    return principalComponents(x, 2, directions);
}

KnnGraph exactKnn(const torch::Tensor& x, int k, const CancelToken& cancel, const ProgressCallback& onProgress)
{
    torch::NoGradGuard noGrad;
    checkMatrix(x, "k-nearest neighbours");
    const int64_t n = x.size(0);
    if (k < 1 || k >= n)
        throw Error("k-nearest neighbours: k must be between 1 and " + std::to_string(n - 1)
                    + " (the points less one), got " + std::to_string(k));
    const auto norms = rowSquaredNorms(x, 4096);
    checkFinite(norms, "k-nearest neighbours");
    KnnGraph g;
    if (x.is_cpu()) {
        g.cancelled = !symmetricKnn(x.contiguous(), norms, k, g.indices, g.distances, cancel, onProgress);
    } else {
        // On a GPU: the plain blocked search (every pair twice, torch::topk per block), one block after another.
        std::vector<int64_t> self(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i)
            self[static_cast<size_t>(i)] = i;
        g.cancelled = !blockedKnn(x, norms, x, &self, k, g.indices, g.distances, cancel, onProgress, "neighbours");
    }
    return g;
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

EmbeddingResult neighbourEmbedding(const torch::Tensor& x, const EmbeddingParams& p, const CancelToken& cancel,
                                   const ProgressCallback& onProgress)
{
    torch::NoGradGuard noGrad;
    checkMatrix(x, "neighbour embedding");
    const int64_t n = x.size(0);
    if (n < 3)
        throw Error("neighbour embedding needs at least 3 points, got " + std::to_string(n));
    if (n > std::numeric_limits<std::uint32_t>::max())
        throw Error("neighbour embedding: too many points");
    if (p.neighbors < 2 || p.neighbors >= n)
        throw Error("neighbour embedding: the neighbour count must be between 2 and " + std::to_string(n - 1) + ", got "
                    + std::to_string(p.neighbors));
    if (p.negatives < 0 || p.learningRate <= 0 || p.epochs < 0 || p.knnDims < 0)
        throw Error("neighbour embedding: negative sample count, learning rate or epochs out of range");
    EmbeddingResult r;
    r.epochs = p.epochs > 0 ? p.epochs : embeddingEpochsFor(n);

    auto t0 = Clock::now();
    // The graph's distances in the top principal components when asked (approximate, much faster).
    const bool reduce = p.knnDims > 0 && p.knnDims < x.size(1);
    const torch::Tensor searched = reduce ? principalComponents(x, p.knnDims).to(x.device()) : x;
    r.knn = chooseKnn(p.knn, n);
    r.curve = mapCurve(p.minDist, p.spread);
    HnswParams hnsw;
    hnsw.seed = p.seed;
    hnsw.threads = p.threads;
    r.graph = r.knn == "hnsw" ? hnswKnn(searched, p.neighbors, hnsw, cancel, onProgress)
                              : exactKnn(searched, p.neighbors, cancel, onProgress);
    const KnnGraph& g = r.graph;
    r.knnSeconds = secondsSince(t0);
    if (g.cancelled) {
        r.cancelled = true;
        return r;
    }

    t0 = Clock::now();
    std::vector<Edge> edges = symmetricEdges(g.indices, fuzzyWeights(g.distances));
    float maxWeight = 0;
    for (const auto& e : edges)
        maxWeight = std::max(maxWeight, e.weight);
    // UMAP drops edges too weak to be sampled once in the whole run.
    const float floor = maxWeight / static_cast<float>(r.epochs);
    edges.erase(std::remove_if(edges.begin(), edges.end(), [floor](const Edge& e) { return e.weight < floor; }),
                edges.end());
    r.edges = static_cast<int64_t>(edges.size() / 2);
    // Every edge is sampled once every epochsPerSample epochs (strong edges every epoch).
    const size_t m = edges.size();
    std::vector<float> epochsPerSample(m), nextSample(m), epochsPerNegative(m), nextNegative(m);
    for (size_t e = 0; e < m; ++e) {
        epochsPerSample[e] = maxWeight / edges[e].weight;
        nextSample[e] = epochsPerSample[e];
        epochsPerNegative[e] = p.negatives > 0 ? epochsPerSample[e] / static_cast<float>(p.negatives) : 0;
        nextNegative[e] = epochsPerNegative[e];
    }

    // The start: PCA scaled to [-10, 10], as UMAP scales its spectral start. UMAP's spectral start
    // (subspace iteration on the graph's normalised adjacency) was tried on the 3,897 real UTKFace
    // codes: recall@10 0.169, against 0.170 from PCA, so the cheaper start stays.
    const auto init = pca2d(x);
    const double extent = std::max(1e-12, init.abs().max().item<double>());
    std::vector<float> y(static_cast<size_t>(n * 2));
    {
        const auto scaled = (init * (10.0 / extent)).contiguous();
        std::copy(scaled.data_ptr<float>(), scaled.data_ptr<float>() + n * 2, y.begin());
    }
    r.graphSeconds = secondsSince(t0);

    t0 = Clock::now();
    const float a = static_cast<float>(r.curve.a), b = static_cast<float>(r.curve.b),
                gamma = static_cast<float>(p.repulsion);
    const size_t chunk = 8192;
    const size_t chunks = (m + chunk - 1) / chunk;
    float* pos = y.data();
    for (int epoch = 0; epoch < r.epochs; ++epoch) {
        if (cancel.isCancelled()) {
            r.cancelled = true;
            return r;
        }
        const float alpha = static_cast<float>(p.learningRate * (1.0 - static_cast<double>(epoch) / r.epochs));
        const float now = static_cast<float>(epoch + 1);
        // Each chunk of edges has its own seeded generator, so one thread gives the same map every
        // time; several threads update shared points without locks (Hogwild), which is not reproducible.
        parallelFor(
            chunks, p.threads,
            [&](size_t c) {
                SplitMix rng(p.seed ^ (0x9E3779B97F4A7C15ULL * (static_cast<std::uint64_t>(epoch) * chunks + c + 1)));
                const size_t end = std::min(m, (c + 1) * chunk);
                for (size_t e = c * chunk; e < end; ++e) {
                    if (nextSample[e] > now)
                        continue;
                    float* yi = pos + 2 * static_cast<size_t>(edges[e].head);
                    float* yj = pos + 2 * static_cast<size_t>(edges[e].tail);
                    float dx = yi[0] - yj[0], dy = yi[1] - yj[1];
                    float d2 = dx * dx + dy * dy;
                    if (d2 > 0) {
                        // d^2(b-1) as d^2b / d^2: one pow per move.
                        const float powB = std::pow(d2, b);
                        const float coeff = -2 * a * b * (powB / d2) / (a * powB + 1);
                        const float gx = clip4(coeff * dx) * alpha, gy = clip4(coeff * dy) * alpha;
                        yi[0] += gx;
                        yi[1] += gy;
                        yj[0] -= gx;
                        yj[1] -= gy;
                    }
                    nextSample[e] += epochsPerSample[e];
                    if (p.negatives == 0)
                        continue;
                    const int negatives = static_cast<int>((now - nextNegative[e]) / epochsPerNegative[e]);
                    for (int s = 0; s < negatives; ++s) {
                        const size_t other = rng.below(static_cast<size_t>(n));
                        if (other == edges[e].head)
                            continue;
                        const float* yk = pos + 2 * other;
                        dx = yi[0] - yk[0];
                        dy = yi[1] - yk[1];
                        d2 = dx * dx + dy * dy;
                        if (d2 > 0) {
                            const float coeff = 2 * gamma * b / ((0.001f + d2) * (a * std::pow(d2, b) + 1));
                            yi[0] += clip4(coeff * dx) * alpha;
                            yi[1] += clip4(coeff * dy) * alpha;
                        } else {
                            yi[0] += 4 * alpha;
                            yi[1] += 4 * alpha;
                        }
                    }
                    nextNegative[e] += static_cast<float>(negatives) * epochsPerNegative[e];
                }
            },
            1);
        if (onProgress)
            onProgress({"layout", epoch + 1, r.epochs});
    }
    r.layoutSeconds = secondsSince(t0);
    r.map = torch::from_blob(y.data(), {n, 2}, torch::kFloat).clone();
    return r;
}

KnnGraph sampledExactKnn(const torch::Tensor& x, int64_t sampleSize, int k, std::uint64_t seed,
                         std::vector<int64_t>& rows)
{
    torch::NoGradGuard noGrad;
    checkMatrix(x, "a sample's neighbours");
    const int64_t n = x.size(0);
    if (k < 1 || k >= n)
        throw Error("a sample's neighbours: k must be between 1 and " + std::to_string(n - 1));
    rows = sampleRows(n, sampleSize, seed);
    const auto data = x.contiguous();
    const auto norms = rowSquaredNorms(data, 4096);
    checkFinite(norms, "a sample's neighbours");
    const auto index = torch::tensor(rows, torch::kLong).to(data.device());
    KnnGraph g;
    blockedKnn(data, norms, data.index_select(0, index), &rows, k, g.indices, g.distances, {}, {}, "recall");
    return g;
}

double neighbourRecall(const torch::Tensor& highDim, const torch::Tensor& map2d, int64_t sampleSize, int k,
                       std::uint64_t seed)
{
    torch::NoGradGuard noGrad;
    checkMatrix(highDim, "neighbour recall");
    checkMatrix(map2d, "neighbour recall");
    const int64_t n = highDim.size(0);
    if (map2d.size(0) != n || map2d.size(1) != 2)
        throw Error("neighbour recall: the map has " + std::to_string(map2d.size(0)) + " x "
                    + std::to_string(map2d.size(1)) + " values for " + std::to_string(n) + " points");
    if (k < 1 || k >= n)
        throw Error("neighbour recall: k must be between 1 and " + std::to_string(n - 1));
    const std::vector<int64_t> rows = sampleRows(n, sampleSize, seed);
    const auto rowIndex = torch::tensor(rows, torch::kLong);
    torch::Tensor highI, highD, lowI, lowD;
    const auto high = highDim.contiguous();
    const auto low = map2d.to(highDim.device()).contiguous();
    blockedKnn(high, rowSquaredNorms(high, 4096), high.index_select(0, rowIndex.to(high.device())), &rows, k, highI,
               highD, {}, {}, "recall");
    blockedKnn(low, rowSquaredNorms(low, 65536), low.index_select(0, rowIndex.to(low.device())), &rows, k, lowI, lowD,
               {}, {}, "recall");
    const auto hi = highI.accessor<int64_t, 2>(), lo = lowI.accessor<int64_t, 2>();
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

Neighbours nearest(const torch::Tensor& all, const torch::Tensor& query, int k, int64_t exclude)
{
    torch::NoGradGuard noGrad;
    checkMatrix(all, "nearest faces");
    const int64_t n = all.size(0), dim = all.size(1);
    if (query.numel() != dim)
        throw Error("nearest faces: the query has " + std::to_string(query.numel()) + " values, the codes "
                    + std::to_string(dim));
    const int64_t available = exclude >= 0 && exclude < n ? n - 1 : n;
    if (k < 1 || k > available)
        throw Error("nearest faces: k must be between 1 and " + std::to_string(available) + ", got "
                    + std::to_string(k));
    torch::Tensor dist;
    if (all.is_cpu() && all.is_contiguous()) {
        const auto q = query.reshape({dim}).to(torch::kCPU, torch::kFloat).contiguous();
        dist = torch::empty({n}, torch::kFloat);
        const float* data = all.data_ptr<float>();
        const float* qp = q.data_ptr<float>();
        float* out = dist.data_ptr<float>();
        const int64_t block = 2048;
        parallelFor(
            static_cast<size_t>((n + block - 1) / block), 0,
            [&](size_t b) {
                const int64_t begin = static_cast<int64_t>(b) * block;
                squaredDistances(data, qp, dim, begin, std::min(n, begin + block), out);
            },
            1);
    } else {
        const auto q = query.reshape({dim}).to(all.device(), torch::kFloat);
        dist = (all.pow(2).sum(1) - 2 * all.mv(q) + q.pow(2).sum()).clamp_min(0).cpu();
    }
    if (exclude >= 0 && exclude < n)
        dist[exclude] = std::numeric_limits<float>::infinity();
    const auto top = dist.topk(k, 0, /*largest=*/false, /*sorted=*/true);
    const auto values = std::get<0>(top).sqrt().contiguous();
    const auto indices = std::get<1>(top).contiguous();
    Neighbours r;
    r.indices.assign(indices.data_ptr<int64_t>(), indices.data_ptr<int64_t>() + k);
    r.distances.assign(values.data_ptr<float>(), values.data_ptr<float>() + k);
    return r;
}

} // namespace faceatlas
