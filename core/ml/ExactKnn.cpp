#include "ml/ExactKnn.h"

#include "ml/KMeans.h"
#include "ml/Runtime.h"
#include "util/Error.h"
#include "util/Parallel.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>

namespace faceatlas {

void requireMatrix(const torch::Tensor& x, const char* what)
{
    if (x.dim() != 2 || x.scalar_type() != torch::kFloat)
        throw Error(std::string(what) + " needs an N x D float32 matrix");
}

void requireFinite(const torch::Tensor& norms, const char* what)
{
    const auto finite = torch::isfinite(norms);
    if (!finite.all().item<bool>()) {
        const int64_t row = (~finite).nonzero()[0][0].item<int64_t>();
        throw Error(std::string(what) + ": the data contain NaN or Inf values (first in row " + std::to_string(row)
                    + ")");
    }
}

namespace {

using ProgressCallback = std::function<void(const JobProgress&)>;

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

/** The running lists one worker of symmetricKnn fills: its rows', the columns', the columns' bars. */
struct ScanLists {
    float* rowD;
    int64_t* rowI;
    float* colD;
    int64_t* colI;
    float* thrD;
    int64_t* thrI;
};

/** A range of rows (or columns) of the data: first row and count. */
struct RowRange {
    int64_t first, count;
};

/**
 * One product's scan in symmetricKnn: rows `rows` against columns `cols` (dot: their [rows, cols]
 * inner products; cn: every row's squared norm). Columns before `own` are the block's own rows and
 * serve the row lists only; the rest also enter the column lists when they beat the column's bar.
 */
void scanProduct(const float* dot, const float* cn, RowRange rows, RowRange cols, int64_t own, int k,
                 const ScanLists& lists)
{
    const int64_t start = rows.first, len = rows.count, col = cols.first, c = cols.count;
    for (int64_t r = 0; r < len; ++r) {
        const int64_t gi = start + r;
        const float rn = cn[gi];
        const float* dr = dot + r * c;
        float* rd = lists.rowD + r * k;
        int64_t* ri = lists.rowI + r * k;
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
            if (closer(dist, gi, lists.thrD[j], lists.thrI[j])) {
                float* cd = lists.colD + j * k;
                int64_t* ci = lists.colI + j * k;
                insertCandidate(cd, ci, k, dist, gi);
                // The column's bar: the closer of its list's k-th entry and the snapshot's.
                if (closer(cd[k - 1], ci[k - 1], lists.thrD[j], lists.thrI[j])) {
                    lists.thrD[j] = cd[k - 1];
                    lists.thrI[j] = ci[k - 1];
                }
            }
        }
    }
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
            scanProduct(dot, cn, {start, len}, {col, c}, own, k,
                        {rowD.data(), rowI.data(), colD.data(), colI.data(), thrD.data(), thrI.data()});
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

KnnGraph exactKnn(const torch::Tensor& x, int k, const CancelToken& cancel, const ProgressCallback& onProgress)
{
    torch::NoGradGuard noGrad;
    requireMatrix(x, "k-nearest neighbours");
    const int64_t n = x.size(0);
    if (k < 1 || k >= n)
        throw Error("k-nearest neighbours: k must be between 1 and " + std::to_string(n - 1)
                    + " (the points less one), got " + std::to_string(k));
    const auto norms = rowSquaredNorms(x, 4096);
    requireFinite(norms, "k-nearest neighbours");
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

KnnGraph sampledExactKnn(const torch::Tensor& x, int64_t sampleSize, int k, std::uint64_t seed,
                         std::vector<int64_t>& rows)
{
    torch::NoGradGuard noGrad;
    requireMatrix(x, "a sample's neighbours");
    const int64_t n = x.size(0);
    if (k < 1 || k >= n)
        throw Error("a sample's neighbours: k must be between 1 and " + std::to_string(n - 1));
    rows = sampleRows(n, sampleSize, seed);
    const auto data = x.contiguous();
    const auto norms = rowSquaredNorms(data, 4096);
    requireFinite(norms, "a sample's neighbours");
    const auto index = torch::tensor(rows, torch::kLong).to(data.device());
    KnnGraph g;
    blockedKnn(data, norms, data.index_select(0, index), &rows, k, g.indices, g.distances, {}, {}, "recall");
    return g;
}

Neighbours nearest(const torch::Tensor& all, const torch::Tensor& query, int k, int64_t exclude)
{
    torch::NoGradGuard noGrad;
    requireMatrix(all, "nearest faces");
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

VectorSet::VectorSet(torch::Tensor values)
    : m_values(std::move(values))
{
    requireMatrix(m_values, "the vectors to search");
}

Neighbours VectorSet::nearestToRow(int64_t row, int k) const
{
    if (row < 0 || row >= count())
        throw Error("face " + std::to_string(row) + " is not among the " + std::to_string(count()) + " searched");
    return nearest(m_values, m_values[row], static_cast<int>(std::min<int64_t>(k, count() - 1)), row);
}

Neighbours VectorSet::nearestTo(const std::vector<float>& query, int k) const
{
    if (static_cast<int64_t>(query.size()) != dim())
        throw Error("the query has " + std::to_string(query.size()) + " values, the vectors searched "
                    + std::to_string(dim()));
    const auto q = torch::from_blob(const_cast<float*>(query.data()), {dim()}, torch::kFloat);
    return nearest(m_values, q, static_cast<int>(std::min<int64_t>(k, count())));
}

} // namespace faceatlas
