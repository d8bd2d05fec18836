#include "ml/KMeans.h"

#include "ml/Distributed.h"
#include "ml/NearestCentre.h"
#include "ml/Runtime.h"
#include "util/Error.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>

namespace faceatlas {

namespace {

using Clock = std::chrono::steady_clock;
using Rng = SplitMix;

int64_t defaultChunk(const torch::Tensor& data, int64_t requested)
{
    if (requested > 0)
        return requested;
    // About 3 MB of rows per block and worker (256 rows of 2,888 codes): the block is still in
    // cache for the centre sums that follow its matrix product (measured: 256 rows beat 4096 by 35%).
    const int64_t bytesPerRow = std::max<int64_t>(1, data.size(1) * 4);
    return std::max<int64_t>(64, (3LL << 20) / bytesPerRow);
}

/**
 * Rows per block for the nearest-centre kernel: small enough that a block is still in the
 * second-level cache when its rows are added to their cluster sums.
 */
int64_t kernelChunk(const torch::Tensor& data, int64_t requested)
{
    if (requested > 0)
        return requested;
    const int64_t bytesPerRow = std::max<int64_t>(1, data.size(1) * 4);
    if (const char* env = std::getenv("FACEATLAS_KMEANS_KERNEL_BYTES"))
        return std::max<int64_t>(4, std::atoll(env) / bytesPerRow);
    return std::max<int64_t>(16, (256LL << 10) / bytesPerRow);
}

/** Workers for the distance blocks: one per LibTorch thread on the CPU, one on a GPU. */
int blockWorkers(const torch::Tensor& data)
{
    return data.is_cpu() ? std::max(1, at::get_num_threads()) : 1;
}

/**
 * Calls block(worker, start) for every `chunk` rows of `data`, on blockWorkers() worker threads
 * (parallelOnMathThreads; a block that runs LibTorch operations calls useOneMathThread() first).
 * Blocks are disjoint, so a block may write its rows' slots directly; anything summed across blocks
 * needs one accumulator per worker.
 */
template <typename Fn>
void parallelBlocks(const torch::Tensor& data, int64_t chunk, Fn&& block)
{
    const int64_t n = data.size(0);
    const auto blocks = static_cast<std::size_t>((n + chunk - 1) / chunk);
    parallelOnMathThreads(blocks, blockWorkers(data),
                          [&](std::size_t b, int worker) { block(worker, static_cast<int64_t>(b) * chunk); });
}

/**
 * Squared distances of rows [N, D] to centres [m, D] in blocks of `chunk` rows;
 * calls fn(worker, start, block rows, dist[c, m]) (see parallelBlocks).
 */
template <typename Fn>
void forEachDistanceBlock(const torch::Tensor& data, const torch::Tensor& rowNorms, const torch::Tensor& centres,
                          int64_t chunk, Fn&& fn)
{
    // BLAS is much faster when the centre count is a multiple of 8 (25 centres: 57 -> 79 GFLOP/s
    // here); padded centres get an infinite norm, so they never win.
    const int64_t m = centres.size(0), padded = (m + 7) / 8 * 8;
    auto centresT = torch::zeros({centres.size(1), padded}, centres.options());
    centresT.narrow(1, 0, m).copy_(centres.t());
    auto centreNorms = torch::full({padded}, std::numeric_limits<float>::infinity(), centres.options());
    centreNorms.narrow(0, 0, m).copy_(centres.pow(2).sum(1));
    const int64_t n = data.size(0);
    parallelBlocks(data, chunk, [&](int worker, int64_t start) {
        useOneMathThread();        // its LibTorch operations on the worker's own thread
        torch::NoGradGuard noGrad; // thread-local: every worker needs its own
        const int64_t len = std::min(chunk, n - start);
        const auto rows = data.narrow(0, start, len);
        // ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2, one matrix product per block.
        auto dist = torch::addmm(centreNorms.unsqueeze(0), rows, centresT, /*beta=*/1, /*alpha=*/-2);
        dist.add_(rowNorms.narrow(0, start, len).unsqueeze(1)).clamp_min_(0);
        fn(worker, start, rows, dist.narrow(1, 0, m));
    });
}

/** Whether nearestBlocks runs our own kernel (ml/NearestCentre.h) rather than a matrix product. */
bool usesNearestKernel(const torch::Tensor& data)
{
    return data.is_cpu() && data.is_contiguous() && NearestCentres::kernel() != nullptr;
}

/**
 * Each row's nearest centre into labels [N] (int64) and its squared distance into distances [N]
 * (float), `chunk` rows at a time; then perBlock(worker, start, len) while those rows are still in
 * cache (see parallelBlocks for what it may write).
 */
template <typename Fn>
void nearestBlocks(const torch::Tensor& data, const torch::Tensor& rowNorms, const torch::Tensor& centres,
                   int64_t requestedChunk, torch::Tensor& labels, torch::Tensor& distances, Fn&& perBlock)
{
    const int64_t n = data.size(0);
    if (!usesNearestKernel(data)) {
        const int64_t chunk = defaultChunk(data, requestedChunk);
        forEachDistanceBlock(data, rowNorms, centres, chunk,
                             [&](int worker, int64_t start, const torch::Tensor&, const torch::Tensor& d) {
                                 const auto m = d.min(1);
                                 distances.narrow(0, start, d.size(0)).copy_(std::get<0>(m));
                                 labels.narrow(0, start, d.size(0)).copy_(std::get<1>(m));
                                 perBlock(worker, start, d.size(0));
                             });
        return;
    }
    const auto c = centres.to(torch::kCPU).contiguous();
    const NearestCentres nearest(c.data_ptr<float>(), c.size(0), c.size(1));
    const auto norms = rowNorms.contiguous();
    const float* x = data.data_ptr<float>();
    const float* xn = norms.data_ptr<float>();
    std::int64_t* l = labels.data_ptr<std::int64_t>();
    float* dist = distances.data_ptr<float>();
    const int64_t dim = data.size(1), chunk = kernelChunk(data, requestedChunk);
    parallelBlocks(data, chunk, [&](int worker, int64_t start) {
        const int64_t len = std::min(chunk, n - start);
        nearest.assign(x + start * dim, xn + start, len, l + start, dist + start);
        perBlock(worker, start, len);
    });
}

/** sums[labels[i]] += rows[i]; one pass over rows that are still in cache. */
__attribute__((target_clones("avx2", "default"))) void accumulateRows(const float* rows, const int64_t* labels,
                                                                      int64_t count, int64_t dim, float* sums)
{
    for (int64_t i = 0; i < count; ++i) {
        const float* x = rows + i * dim;
        float* s = sums + labels[i] * dim;
        for (int64_t j = 0; j < dim; ++j)
            s[j] += x[j];
    }
}

/** Adds rows [start, start + len) of `data` to the sums [k, D] of their clusters. */
void addToSums(torch::Tensor& sums, const torch::Tensor& labels, const torch::Tensor& data, int64_t start, int64_t len)
{
    if (!data.is_cpu() || !data.is_contiguous() || !sums.is_contiguous()) {
        sums.index_add_(0, labels.narrow(0, start, len), data.narrow(0, start, len));
        return;
    }
    const int64_t dim = data.size(1);
    accumulateRows(data.data_ptr<float>() + start * dim, labels.data_ptr<int64_t>() + start, len, dim,
                   sums.data_ptr<float>());
}

/** Greedy k-means++ (Arthur & Vassilvitskii; scikit-learn's variant with several candidates per step). */
torch::Tensor kmeansPlusPlus(const torch::Tensor& data, const torch::Tensor& rowNorms, int k, Rng& rng, int64_t chunk)
{
    const int64_t n = data.size(0);
    const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
    auto centres = torch::empty({k, data.size(1)}, data.options());
    centres[0].copy_(data[static_cast<int64_t>(rng.next() % static_cast<std::uint64_t>(n))]);
    auto closest = torch::empty({n}, data.options());
    forEachDistanceBlock(data, rowNorms, centres.narrow(0, 0, 1), chunk,
                         [&](int, int64_t start, const torch::Tensor&, const torch::Tensor& d) {
                             closest.narrow(0, start, d.size(0)).copy_(d.squeeze(1));
                         });
    for (int c = 1; c < k; ++c) {
        // Candidates drawn with probability proportional to the squared distance (cumulative sum in double).
        const auto cumulative = closest.to(torch::kDouble).cumsum(0).cpu();
        const double total = cumulative[n - 1].item<double>();
        std::vector<int64_t> picks(trials);
        const double* cum = cumulative.data_ptr<double>();
        for (int t = 0; t < trials; ++t) {
            const double r = rng.uniform() * total;
            picks[t] = std::min<int64_t>(n - 1, std::upper_bound(cum, cum + n, r) - cum);
        }
        const auto candidates = data.index_select(0, torch::tensor(picks, torch::kLong).to(data.device()));
        // The candidate that lowers the total squared distance most wins.
        auto potential = torch::zeros({blockWorkers(data), trials}, data.options().dtype(torch::kDouble));
        auto best = torch::empty({n, trials}, data.options());
        forEachDistanceBlock(data, rowNorms, candidates, chunk,
                             [&](int worker, int64_t start, const torch::Tensor&, const torch::Tensor& d) {
                                 auto m = torch::minimum(d, closest.narrow(0, start, d.size(0)).unsqueeze(1));
                                 potential[worker] += m.sum(0).to(torch::kDouble);
                                 best.narrow(0, start, d.size(0)).copy_(m);
                             });
        const int64_t winner = potential.sum(0).argmin().item<int64_t>();
        centres[c].copy_(candidates[winner]);
        closest.copy_(best.select(1, winner));
    }
    return centres;
}

struct Start {
    torch::Tensor centres;
    torch::Tensor labels; // of the shard's rows
    double inertia = 0;
    int iterations = 0;
    std::vector<double> history;
    double initSeconds = 0, iterationSeconds = 0;
};

/**
 * The rows this process assigns in Lloyd's iterations: all of them, or with several processes
 * (`group`) a contiguous share, whose sums, counts and inertia are summed over the ranks. Every
 * rank holds all rows (the codes are memory-mapped), so the seeding and the relocation of empty
 * clusters read any row.
 */
struct Shard {
    torch::Tensor rows;  // [n, D]
    torch::Tensor norms; // [n]
    int64_t begin = 0;   // the first row's index in the whole data
    ProcessGroup* group = nullptr;
};

Shard shardOf(const torch::Tensor& data, const torch::Tensor& norms, ProcessGroup* group)
{
    if (!group)
        return {data, norms, 0, nullptr};
    const int64_t n = data.size(0), r = group->rank(), w = group->size();
    const int64_t begin = n * r / w, end = n * (r + 1) / w;
    return {data.narrow(0, begin, end - begin), norms.narrow(0, begin, end - begin), begin, group};
}

/** Sums `t` over the ranks (in double), in place; nothing on one process. */
void sumOverRanks(const Shard& shard, torch::Tensor& t, const char* what)
{
    if (!shard.group)
        return;
    auto wide = t.to(torch::kCPU).to(torch::kDouble).contiguous();
    shard.group->allreduceSum(wide, what);
    t = wide.to(t.options());
}

/**
 * Empty clusters take the points farthest from their centres (scikit-learn's relocation), over all
 * ranks: each offers its farthest rows (distance, row, cluster), every rank takes the same ones.
 */
void relocateEmpty(const Shard& shard, const torch::Tensor& data, Start& s, torch::Tensor& closest, torch::Tensor& sums,
                   torch::Tensor& counts)
{
    const auto empty = (counts == 0).nonzero().squeeze(1).cpu();
    const int64_t e = empty.numel();
    if (e == 0)
        return;
    const auto far = closest.topk(std::min<int64_t>(e, closest.size(0)));
    const auto rows = std::get<1>(far);
    auto offers =
        torch::stack({std::get<0>(far).to(torch::kDouble).cpu(), (rows + shard.begin).to(torch::kDouble).cpu(),
                      s.labels.index_select(0, rows).to(torch::kDouble).cpu()},
                     1)
            .reshape({-1});
    if (shard.group)
        offers = shard.group->allgatherRows(offers, "the farthest points for empty clusters");
    offers = offers.reshape({-1, 3});
    const auto order = std::get<1>(offers.select(1, 0).sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
    for (int64_t i = 0; i < e && i < order.numel(); ++i) {
        const auto offer = offers[order[i].item<int64_t>()];
        const int64_t c = empty[i].item<int64_t>(), row = static_cast<int64_t>(offer[1].item<double>());
        const int64_t old = static_cast<int64_t>(offer[2].item<double>());
        sums[old] -= data[row];
        counts[old] -= 1;
        sums[c].copy_(data[row]);
        counts[c] = 1;
        if (row >= shard.begin && row < shard.begin + shard.rows.size(0)) { // this rank's row
            s.labels[row - shard.begin] = c;
            closest[row - shard.begin] = 0;
        }
    }
}

/** One Lloyd iteration: assignment and sums in one pass over the shard, then the new centres; the shift. */
double lloydStep(const Shard& shard, const torch::Tensor& data, const KMeansParams& p, Start& s, torch::Tensor& closest)
{
    // One [k, D] accumulator per worker, made before the workers start.
    auto partial = torch::zeros({blockWorkers(shard.rows), p.k, data.size(1)}, data.options());
    std::vector<torch::Tensor> workerSums;
    for (int64_t w = 0; w < partial.size(0); ++w)
        workerSums.push_back(partial[w]);
    nearestBlocks(shard.rows, shard.norms, s.centres, p.chunkRows, s.labels, closest,
                  [&](int worker, int64_t start, int64_t len) {
                      addToSums(workerSums[static_cast<size_t>(worker)], s.labels, shard.rows, start, len);
                  });
    auto sums = partial.sum(0);
    auto inertia = closest.sum().to(torch::kDouble).reshape({1});
    auto counts = torch::bincount(s.labels, {}, p.k).to(data.options());
    sumOverRanks(shard, sums, "the k-means sums");
    sumOverRanks(shard, counts, "the k-means counts");
    sumOverRanks(shard, inertia, "the k-means inertia");
    s.history.push_back(inertia.item<double>());
    relocateEmpty(shard, data, s, closest, sums, counts);
    const auto updated = sums / counts.unsqueeze(1);
    const double shift = (updated - s.centres).pow(2).sum().item<double>();
    s.centres = updated;
    return shift;
}

/** k-means++ on a seeded sample of the rows (or all of them); every rank draws the same. */
torch::Tensor seedCentres(const torch::Tensor& data, const torch::Tensor& norms, const KMeansParams& p, Rng& rng,
                          int64_t chunk)
{
    const int64_t n = data.size(0);
    if (p.initSample <= 0 || n <= p.initSample)
        return kmeansPlusPlus(data, norms, p.k, rng, chunk);
    // k-means++ on a seeded random sample: the seeding needs one pass over its input per
    // centre, so on 175,000 codes it would cost more than all the Lloyd iterations.
    std::vector<int64_t> rows(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        rows[static_cast<size_t>(i)] = i;
    for (int64_t i = 0; i < p.initSample; ++i)
        std::swap(rows[static_cast<size_t>(i)],
                  rows[static_cast<size_t>(i + static_cast<int64_t>(rng.next() % static_cast<std::uint64_t>(n - i)))]);
    rows.resize(static_cast<size_t>(p.initSample));
    std::sort(rows.begin(), rows.end());
    const auto index = torch::tensor(rows, torch::kLong).to(data.device());
    return kmeansPlusPlus(data.index_select(0, index), norms.index_select(0, index), p.k, rng, chunk);
}

/** scikit-learn's tolerance: relative to the mean per-feature variance of the data. */
double shiftLimit(const torch::Tensor& data, const KMeansParams& p, int64_t chunk)
{
    if (p.tolerance <= 0)
        return 0;
    const int64_t n = data.size(0);
    auto sum = torch::zeros({data.size(1)}, data.options().dtype(torch::kDouble));
    auto sq = torch::zeros_like(sum);
    for (int64_t start = 0; start < n; start += chunk) {
        const auto block = data.narrow(0, start, std::min(chunk, n - start)).to(torch::kDouble);
        sum += block.sum(0);
        sq += block.pow(2).sum(0);
    }
    return p.tolerance * (sq / n - (sum / n).pow(2)).mean().item<double>();
}

/** Throws Error for a matrix k-means cannot cluster; the rows' squared norms otherwise. */
torch::Tensor checkedNorms(const torch::Tensor& data, const KMeansParams& p, int64_t chunk)
{
    if (data.dim() != 2 || data.scalar_type() != torch::kFloat)
        throw Error("k-means needs an N x D float32 matrix");
    const int64_t n = data.size(0);
    if (p.k < 2)
        throw Error("k-means: k must be at least 2, got " + std::to_string(p.k));
    if (p.k > n)
        throw Error("k-means: k = " + std::to_string(p.k) + " is more than the " + std::to_string(n) + " points");
    // A row with NaN or Inf has a non-finite squared norm: one pass checks and computes both.
    const auto norms = rowSquaredNorms(data, chunk);
    const auto finite = torch::isfinite(norms);
    if (!finite.all().item<bool>()) {
        const int64_t row = (~finite).nonzero()[0][0].item<int64_t>();
        throw Error("k-means: the codes contain NaN or Inf values (first in row " + std::to_string(row) + ")");
    }
    return norms;
}

/** The winning start as a result: centres, every row's label (gathered from the ranks) and sizes. */
KMeansResult resultOf(Start& best, const Shard& shard, int64_t n, int k)
{
    KMeansResult result;
    result.centroids = best.centres.to(torch::kCPU).contiguous();
    auto labels = best.labels.to(torch::kCPU).contiguous();
    if (shard.group)
        labels = shard.group->allgatherRows(labels, "the k-means labels");
    labels = labels.to(torch::kInt).contiguous();
    result.labels.assign(labels.data_ptr<std::int32_t>(), labels.data_ptr<std::int32_t>() + n);
    result.sizes.assign(k, 0);
    for (auto l : result.labels)
        ++result.sizes[l];
    result.inertia = best.inertia;
    result.iterations = best.iterations;
    result.inertiaHistory = best.history;
    result.initSeconds = best.initSeconds;
    result.iterationSeconds = best.iterationSeconds;
    return result;
}

} // namespace

void assignToCentroids(const torch::Tensor& data, const torch::Tensor& centroids, torch::Tensor& labels,
                       torch::Tensor& minDistances, int64_t chunkRows)
{
    const int64_t chunk = defaultChunk(data, chunkRows);
    const auto norms = rowSquaredNorms(data, chunk);
    labels = torch::empty({data.size(0)}, data.options().dtype(torch::kLong));
    minDistances = torch::empty({data.size(0)}, data.options());
    nearestBlocks(data, norms, centroids.to(data.device()), chunkRows, labels, minDistances,
                  [](int, int64_t, int64_t) {});
}

KMeansResult kmeans(const torch::Tensor& data, const KMeansParams& p, const CancelToken& cancel,
                    const KMeansProgress& onProgress)
{
    torch::NoGradGuard noGrad;
    const int64_t chunk = defaultChunk(data, p.chunkRows);
    const auto norms = checkedNorms(data, p, chunk);
    const double limit = shiftLimit(data, p, chunk);
    const Shard shard = shardOf(data, norms, p.group);
    Rng rng(p.seed);
    Start best;
    best.inertia = std::numeric_limits<double>::infinity();
    const long long totalSteps = static_cast<long long>(std::max(1, p.restarts)) * p.maxIterations;
    for (int restart = 0; restart < std::max(1, p.restarts); ++restart) {
        Start s;
        auto t0 = Clock::now();
        s.centres = seedCentres(data, norms, p, rng, chunk);
        if (shard.group) // drawn alike on every rank; rank 0's, in case threads summed otherwise
            shard.group->broadcast({s.centres}, 0, "the k-means++ centres");
        s.initSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
        t0 = Clock::now();
        s.labels = torch::empty({shard.rows.size(0)}, data.options().dtype(torch::kLong));
        auto closest = torch::empty({shard.rows.size(0)}, data.options());
        for (int it = 0; it < p.maxIterations; ++it) {
            auto stop = torch::tensor({cancel.isCancelled() ? 1.0 : 0.0}, torch::kDouble);
            sumOverRanks(shard, stop, "the check for a cancel"); // every rank stops at the same iteration
            if (stop.item<double>() > 0) {
                KMeansResult cancelled;
                cancelled.cancelled = true;
                return cancelled;
            }
            const double shift = lloydStep(shard, data, p, s, closest);
            s.iterations = it + 1;
            if (onProgress)
                onProgress({"k-means", static_cast<long long>(restart) * p.maxIterations + it + 1, totalSteps});
            if (p.tolerance > 0 && shift <= limit)
                break;
        }
        // Final assignment to the final centres, so labels and inertia agree with the centroids.
        nearestBlocks(shard.rows, shard.norms, s.centres, p.chunkRows, s.labels, closest, [](int, int64_t, int64_t) {});
        auto inertia = closest.sum().to(torch::kDouble).reshape({1});
        sumOverRanks(shard, inertia, "the k-means inertia");
        s.inertia = inertia.item<double>();
        s.history.push_back(s.inertia);
        s.iterationSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
        if (s.inertia < best.inertia)
            best = std::move(s);
    }
    return resultOf(best, shard, data.size(0), p.k);
}

double silhouetteScore(const torch::Tensor& data, const std::vector<std::int32_t>& labels, int k, int64_t sampleSize,
                       std::uint64_t seed)
{
    torch::NoGradGuard noGrad;
    const int64_t n = data.size(0);
    std::vector<int64_t> rows(n);
    for (int64_t i = 0; i < n; ++i)
        rows[i] = i;
    if (sampleSize > 0 && sampleSize < n) {
        Rng rng(seed);
        for (int64_t i = 0; i < sampleSize; ++i)
            std::swap(rows[i], rows[i + static_cast<int64_t>(rng.next() % static_cast<std::uint64_t>(n - i))]);
        rows.resize(sampleSize);
    }
    const auto idx = torch::tensor(rows, torch::kLong).to(data.device());
    const auto x = data.index_select(0, idx).to(torch::kDouble);
    const auto d = torch::cdist(x, x).cpu();
    const int64_t m = static_cast<int64_t>(rows.size());
    std::vector<int> lab(m);
    std::vector<int64_t> count(k, 0);
    for (int64_t i = 0; i < m; ++i) {
        lab[i] = labels[rows[i]];
        ++count[lab[i]];
    }
    const auto acc = d.accessor<double, 2>();
    double total = 0;
    std::vector<double> sums(k);
    for (int64_t i = 0; i < m; ++i) {
        std::fill(sums.begin(), sums.end(), 0.0);
        for (int64_t j = 0; j < m; ++j)
            sums[lab[j]] += acc[i][j];
        if (count[lab[i]] <= 1)
            continue; // a singleton's silhouette is 0
        const double a = sums[lab[i]] / (count[lab[i]] - 1);
        double b = std::numeric_limits<double>::infinity();
        for (int c = 0; c < k; ++c)
            if (c != lab[i] && count[c] > 0)
                b = std::min(b, sums[c] / count[c]);
        if (std::isfinite(b))
            total += (b - a) / std::max(a, b);
    }
    return total / m;
}

double daviesBouldin(const torch::Tensor& data, const std::vector<std::int32_t>& labels, const torch::Tensor& centroids)
{
    torch::NoGradGuard noGrad;
    const int k = static_cast<int>(centroids.size(0));
    torch::Tensor assigned, dist2;
    assignToCentroids(data, centroids, assigned, dist2);
    const auto dist = dist2.sqrt().to(torch::kDouble).cpu();
    std::vector<double> scatter(k, 0.0);
    std::vector<int64_t> count(k, 0);
    const double* d = dist.data_ptr<double>();
    for (size_t i = 0; i < labels.size(); ++i) {
        scatter[labels[i]] += d[i];
        ++count[labels[i]];
    }
    for (int c = 0; c < k; ++c)
        scatter[c] = count[c] ? scatter[c] / count[c] : 0.0;
    const auto centreDist = torch::cdist(centroids.to(torch::kDouble).cpu(), centroids.to(torch::kDouble).cpu());
    const auto cd = centreDist.accessor<double, 2>();
    double total = 0;
    for (int i = 0; i < k; ++i) {
        double worst = 0;
        for (int j = 0; j < k; ++j)
            if (j != i && cd[i][j] > 0)
                worst = std::max(worst, (scatter[i] + scatter[j]) / cd[i][j]);
        total += worst;
    }
    return total / k;
}

namespace {

/** Contingency table of two labelings as counts, with row and column sums. */
struct Contingency {
    std::map<std::pair<int, int>, double> cells;
    std::map<int, double> rows, cols;
    double n = 0;
};

Contingency contingency(const std::vector<int>& a, const std::vector<int>& b)
{
    if (a.size() != b.size())
        throw Error("labelings of different lengths");
    Contingency t;
    for (size_t i = 0; i < a.size(); ++i) {
        t.cells[{a[i], b[i]}] += 1;
        t.rows[a[i]] += 1;
        t.cols[b[i]] += 1;
    }
    t.n = static_cast<double>(a.size());
    return t;
}

double choose2(double x)
{
    return x * (x - 1) / 2;
}

} // namespace

double normalizedMutualInfo(const std::vector<int>& a, const std::vector<int>& b)
{
    const Contingency t = contingency(a, b);
    if (t.n == 0)
        return 0;
    double mi = 0, ha = 0, hb = 0;
    for (const auto& [cell, nij] : t.cells)
        mi += nij / t.n * std::log(t.n * nij / (t.rows.at(cell.first) * t.cols.at(cell.second)));
    for (const auto& [r, ni] : t.rows)
        ha -= ni / t.n * std::log(ni / t.n);
    for (const auto& [c, nj] : t.cols)
        hb -= nj / t.n * std::log(nj / t.n);
    if (ha == 0 && hb == 0)
        return 1.0; // both labelings put everything in one class: identical
    const double mean = 0.5 * (ha + hb);
    return mean > 0 ? std::max(0.0, mi / mean) : 0.0;
}

double adjustedRandIndex(const std::vector<int>& a, const std::vector<int>& b)
{
    const Contingency t = contingency(a, b);
    double index = 0, sumRows = 0, sumCols = 0;
    for (const auto& [cell, nij] : t.cells)
        index += choose2(nij);
    for (const auto& [r, ni] : t.rows)
        sumRows += choose2(ni);
    for (const auto& [c, nj] : t.cols)
        sumCols += choose2(nj);
    const double expected = sumRows * sumCols / choose2(t.n);
    const double maximum = 0.5 * (sumRows + sumCols);
    if (maximum == expected)
        return 1.0;
    return (index - expected) / (maximum - expected);
}

torch::Tensor rowSquaredNorms(const torch::Tensor& data, int64_t chunk)
{
    auto norms = torch::empty({data.size(0)}, data.options());
    for (int64_t start = 0; start < data.size(0); start += chunk) {
        const int64_t len = std::min(chunk, data.size(0) - start);
        norms.narrow(0, start, len).copy_(data.narrow(0, start, len).pow(2).sum(1));
    }
    return norms;
}

} // namespace faceatlas
