// How long the review queue's orders take over thousands of faces (orderReview, the core of the
// Review page's order and `faceatlas-cli review-queue`): N candidates with 512-float codes drawn
// around 50 centres (faces come in kinds), R of them reviewed already.
// Usage: faceatlas_bench_review_order [N...]   (default 2000 10000)
#include "analysis/ReviewOrder.h"
#include "util/SplitMix.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace faceatlas;

int main(int argc, char** argv)
{
    std::vector<std::size_t> sizes;
    for (int a = 1; a < argc; ++a)
        sizes.push_back(std::stoul(argv[a]));
    if (sizes.empty())
        sizes = {2000, 10000};
    constexpr std::size_t dim = 512, centres = 50;
    for (const std::size_t n : sizes)
        for (const std::size_t reviewed : {std::size_t{0}, std::size_t{1000}}) {
            SplitMix rng(11);
            const auto gauss = [&] { // Box-Muller
                const double u = rng.uniform(1e-12, 1.0), v = rng.uniform();
                return std::sqrt(-2 * std::log(u)) * std::cos(6.283185307179586 * v);
            };
            std::vector<float> centre(centres * dim);
            for (float& x : centre)
                x = static_cast<float>(gauss());
            std::vector<float> codes((n + reviewed) * dim);
            for (std::size_t i = 0; i < n + reviewed; ++i) {
                const std::size_t c = rng.below(centres);
                for (std::size_t k = 0; k < dim; ++k)
                    codes[i * dim + k] = centre[c * dim + k] + 0.5f * static_cast<float>(gauss());
            }
            ReviewCandidates cand;
            cand.dim = dim;
            for (std::size_t i = 0; i < n; ++i) {
                cand.spread.push_back(rng.uniform(3, 15));
                cand.code.push_back(&codes[i * dim]);
            }
            for (std::size_t i = 0; i < reviewed; ++i)
                cand.reviewed.push_back(&codes[(n + i) * dim]);
            for (const ReviewOrder order : {ReviewOrder::Uncertainty, ReviewOrder::Informative}) {
                const auto start = std::chrono::steady_clock::now();
                const ReviewOrdering o = orderReview(order, cand);
                const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                std::printf("%-11s %6zu faces x %zu floats, %4zu reviewed: %8.3f s (%zu ordered)\n",
                            reviewOrderName(order), n, dim, reviewed, s, o.order.size());
            }
        }
    return 0;
}
