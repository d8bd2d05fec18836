// The map at the size: N = 175,000 codes of D = 512 (or N from the command line): PCA and
// the neighbour embedding (time, neighbour recall@10 on 1,000 faces), and the nearest-neighbour
// query over 200,000 x 512. Usage: faceatlas_bench_map [N] [CODES.f32]; with a file name the drawn
// codes are written there (N x 512 float32) for the peer, tests/bench/umap_peer.py. MAP_EPOCHS=E
// sets the layout's epochs (default: embeddingEpochsFor(N)); MAP_SEARCHES which neighbour searches
// run (below).
#include "MatmulRate.h"
#include "ml/ApproximateKnn.h"
#include "ml/MapNeighbours.h"
#include "ml/Projection.h"
#include "ml/Runtime.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <torch/torch.h>

using namespace faceatlas;
using namespace faceatlas::bench;

namespace {

/**
 * Random but structured codes: 40 clusters of a Gaussian mixture in a 16-dimensional latent space,
 * spread into D dimensions by a random linear map, plus isotropic noise, as codes of faces are
 * (a few directions of variation, groups of similar faces).
 */
torch::Tensor structuredCodes(int64_t n, int64_t d, std::uint64_t seed)
{
    torch::manual_seed(seed);
    const int64_t latent = 16, clusters = 40;
    const auto centres = torch::randn({clusters, latent}) * 2.5;
    const auto mix = torch::randn({latent, d}) / std::sqrt(static_cast<double>(latent));
    auto x = torch::empty({n, d});
    for (int64_t s = 0; s < n; s += 10000) {
        const int64_t len = std::min<int64_t>(10000, n - s);
        const auto labels = torch::randint(clusters, {len}, torch::kLong);
        const auto z = centres.index_select(0, labels) + torch::randn({len, latent});
        x.narrow(0, s, len).copy_(z.mm(mix) + 0.3 * torch::randn({len, d}));
    }
    return x;
}

} // namespace

int main(int argc, char** argv)
{
    configureAllocator();
    configureTorchThreads(0);
    torch::NoGradGuard noGrad;
    const int64_t n = argc > 1 ? std::atoll(argv[1]) : 175000, d = 512;
    std::printf("matmul peak %.1f GFLOP/s, %d threads\n", matmulGflops(), at::get_num_threads());
    auto start = Clock::now();
    const auto x = structuredCodes(n, d, 1);
    std::printf("codes: %lld x %lld drawn in %.1f s (40 clusters in a 16-D latent space, noise 0.3)\n",
                static_cast<long long>(n), static_cast<long long>(d), seconds(start));
    if (argc > 2) {
        std::ofstream out(argv[2], std::ios::binary);
        out.write(reinterpret_cast<const char*>(x.data_ptr<float>()), static_cast<std::streamsize>(x.numel() * 4));
        std::printf("written to %s for the peer\n", argv[2]);
    }
    const int64_t sample = std::min<int64_t>(1000, n);

    start = Clock::now();
    const auto pca = pca2d(x);
    const double pcaSeconds = seconds(start);
    start = Clock::now();
    const double pcaRecall = neighbourRecall(x, pca, sample, 10, 1);
    const double recallSeconds = seconds(start);
    std::printf("PCA                  %7.2f s   recall@10 %.3f  (recall on %lld faces: %.1f s)\n", pcaSeconds,
                pcaRecall, static_cast<long long>(sample), recallSeconds);

    // The layout with each neighbour search: MAP_SEARCHES lists them (default all), e.g. "exact,hnsw".
    // exact: blocked matrix products; hnsw: the approximate graph on one thread (deterministic by
    // seed), hnsw2 on two (not), both in the dimensions chosen by default (kAutoKnnDims); hnsw2-full:
    // in all 512; pca64: the exact search in the top 64 principal components.
    const std::string searches =
        std::getenv("MAP_SEARCHES") ? std::getenv("MAP_SEARCHES") : "exact,hnsw,hnsw2,hnsw2-full,pca64";
    std::stringstream list(searches);
    for (std::string search; std::getline(list, search, ',');) {
        EmbeddingParams p;
        p.threads = search.rfind("hnsw2", 0) == 0 ? 2 : 1;
        p.knn = search.rfind("hnsw", 0) == 0 ? "hnsw" : "exact";
        p.knnDims = search == "pca64" ? 64 : search == "hnsw2-full" ? 0 : kAutoKnnDims;
        if (const char* epochs = std::getenv("MAP_EPOCHS")) // 0: the default for N
            p.epochs = std::atoi(epochs);
        long long lastReported = -1;
        start = Clock::now();
        const EmbeddingResult r = neighbourEmbedding(x, p, {}, [&](const JobProgress& jp) {
            const long long tenth = jp.total > 0 ? jp.done * 10 / jp.total : 0;
            if (tenth != lastReported || jp.done == jp.total) {
                lastReported = tenth;
                std::fprintf(stderr, "  %s %lld/%lld at %.0f s\n", jp.stage, jp.done, jp.total, seconds(start));
            }
        });
        const double mapSeconds = seconds(start);
        const double mapRecall = neighbourRecall(x, r.map, sample, 10, 1);
        start = Clock::now();
        const double graphRecallValue = graphRecall(x, r.graph, sample, 1);
        const double graphRecallSeconds = seconds(start);
        start = Clock::now();
        const auto m = r.map.contiguous();
        const std::vector<float> xy(m.data_ptr<float>(), m.data_ptr<float>() + m.numel());
        const auto kept = neighbourhoodPreservation(r.graph, xy, 10);
        const double keptSeconds = seconds(start);
        double keptMean = 0;
        for (const float v : kept)
            keptMean += v;
        std::printf(
            "%-10s embedding %7.2f s   recall@10 %.3f  (kNN %s, %d neighbours with itself, in %d dims holding %.1f%% "
            "of the variance "
            "%.1f s, graph recall %.3f; fuzzy graph %.1f s, layout %d epochs %.1f s on %d thread(s), %lld edges)\n",
            search.c_str(), mapSeconds, mapRecall, r.knn.c_str(), p.neighbors, r.knnDims, 100 * r.knnVarianceKept,
            r.knnSeconds, graphRecallValue, r.graphSeconds, r.epochs, r.layoutSeconds, p.threads,
            static_cast<long long>(r.edges));
        std::printf("       preservation of every face's 10 nearest codes: mean %.3f in %.1f s (graph recall on %lld "
                    "faces: %.1f s)\n",
                    keptMean / static_cast<double>(n), keptSeconds, static_cast<long long>(sample), graphRecallSeconds);
    }

    // "More like this": 200,000 x 512, the median of 21 queries after a warm-up.
    const int64_t big = 200000;
    const auto all = big <= n ? x.narrow(0, 0, big).contiguous() : structuredCodes(big, d, 2);
    std::vector<double> t;
    for (int i = 0; i < 22; ++i) {
        const auto q = all[i * 997 % big].clone();
        start = Clock::now();
        const Neighbours nn = nearest(all, q, 10, i * 997 % big);
        if (i > 0)
            t.push_back(seconds(start) * 1000);
        if (nn.indices.size() != 10)
            return 1;
    }
    std::printf("nearest 10 of %lld x %lld: %.1f ms median (min %.1f, max %.1f)\n", static_cast<long long>(big),
                static_cast<long long>(d), median(t), *std::min_element(t.begin(), t.end()),
                *std::max_element(t.begin(), t.end()));
    std::printf("peak memory %.2f GB resident\n", usage().ru_maxrss / 1e6);
    return 0;
}
