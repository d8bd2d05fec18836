#include "analysis/ReviewOrder.h"
#include "analysis/AuditJob.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <gtest/gtest.h>
#include <limits>

using namespace faceatlas;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/** Candidates with planted spreads and 2-D codes (kept alive by the fixture's vectors). */
struct Planted {
    std::vector<std::vector<float>> codes;
    std::vector<std::vector<float>> reviewed;
    ReviewCandidates c;
    Planted(std::vector<double> spread, std::vector<std::vector<float>> codesIn,
            std::vector<std::vector<float>> reviewedIn = {})
        : codes(std::move(codesIn))
        , reviewed(std::move(reviewedIn))
    {
        c.spread = std::move(spread);
        c.dim = codes.empty() ? 0 : codes.front().size();
        for (const auto& v : codes)
            c.code.push_back(v.data());
        for (const auto& v : reviewed)
            c.reviewed.push_back(v.data());
    }
};

double dist(const float* a, const float* b, std::size_t dim)
{
    return reviewCodeDistance(a, b, dim);
}

/**
 * The greedy order measured the slow way: every candidate against every face reviewed or taken, each
 * step; after `greedy` picks the rest by their gain then, largest first.
 */
std::vector<std::size_t> bruteForceInformative(const ReviewCandidates& c, std::size_t greedy = SIZE_MAX)
{
    const std::size_t n = c.spread.size();
    std::vector<const float*> refs = c.reviewed;
    double scale = std::nan("");
    const auto nearestOf = [&](std::size_t i) {
        double d = std::numeric_limits<double>::infinity();
        for (const float* r : refs)
            d = std::min(d, dist(c.code[i], r, c.dim));
        return d;
    };
    std::vector<char> taken(n, 0);
    std::vector<std::size_t> order;
    for (std::size_t step = 0; step < n; ++step) {
        if (std::isnan(scale) && !refs.empty()) {
            scale = 0;
            for (std::size_t i = 0; i < n; ++i)
                if (!taken[i])
                    scale = std::max(scale, nearestOf(i));
        }
        std::size_t best = n;
        double bestGain = -1;
        for (std::size_t i = 0; i < n; ++i) {
            if (taken[i])
                continue;
            const double d = nearestOf(i);
            const double novelty = std::isinf(d) ? 1.0 : (scale > 0 ? std::min(1.0, d / scale) : 0.0);
            const double g = c.spread[i] * novelty;
            if (g > bestGain) { // strict: ties go to the earlier candidate
                bestGain = g;
                best = i;
            }
        }
        taken[best] = 1;
        order.push_back(best);
        refs.push_back(c.code[best]);
        if (order.size() >= greedy)
            break;
    }
    if (order.size() < n) {
        std::vector<std::pair<double, std::size_t>> rest;
        for (std::size_t i = 0; i < n; ++i)
            if (!taken[i]) {
                const double d = nearestOf(i);
                rest.emplace_back(-c.spread[i] * (scale > 0 ? std::min(1.0, d / scale) : 0.0), i);
            }
        std::sort(rest.begin(), rest.end());
        for (const auto& r : rest)
            order.push_back(r.second);
    }
    return order;
}

} // namespace

TEST(ReviewOrderTest, NamesParseBack)
{
    for (const ReviewOrder o : {ReviewOrder::Score, ReviewOrder::Uncertainty, ReviewOrder::Informative})
        EXPECT_EQ(parseReviewOrder(reviewOrderName(o)), o);
    EXPECT_FALSE(parseReviewOrder("random").has_value());
}

TEST(ReviewOrderTest, ScoreOrderKeepsTheAuditsOrder)
{
    const Planted p({1, 9, 3}, {{0, 0}, {1, 1}, {2, 2}});
    const ReviewOrdering o = orderReview(ReviewOrder::Score, p.c);
    EXPECT_EQ(o.used, ReviewOrder::Score);
    EXPECT_TRUE(o.fallback.empty());
    EXPECT_EQ(o.order, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(ReviewOrderTest, UncertaintyOrderSortsBySpreadLargestFirstUnknownLast)
{
    const Planted p({2, kNaN, 7, 5, 7, 0.5}, {});
    const ReviewOrdering o = orderReview(ReviewOrder::Uncertainty, p.c);
    EXPECT_EQ(o.used, ReviewOrder::Uncertainty);
    EXPECT_TRUE(o.fallback.empty());
    // Equal spreads (7, 7) keep the audit's order; the unknown spread goes last.
    EXPECT_EQ(o.order, (std::vector<std::size_t>{2, 4, 3, 0, 5, 1}));
    EXPECT_DOUBLE_EQ(o.value[2], 7);
    EXPECT_TRUE(std::isnan(o.value[1]));
}

TEST(ReviewOrderTest, InformativePicksAFarFaceBeforeANearDuplicateOfAReviewedOne)
{
    // Face 0 is nearly a copy of the reviewed face at the origin and the most uncertain; face 1 is
    // far from it, face 2 a little away. By uncertainty alone face 0 comes first.
    const Planted p({10, 6, 6}, {{0.01f, 0}, {5, 5}, {1, 0}}, {{0, 0}});
    EXPECT_EQ(orderReview(ReviewOrder::Uncertainty, p.c).order, (std::vector<std::size_t>{0, 1, 2}));
    const ReviewOrdering o = orderReview(ReviewOrder::Informative, p.c);
    EXPECT_EQ(o.used, ReviewOrder::Informative);
    EXPECT_TRUE(o.fallback.empty()) << o.fallback;
    EXPECT_EQ(o.order, (std::vector<std::size_t>{1, 2, 0}));
    // Novelty: face 1 sets the scale (the farthest from the reviewed face); face 0's is tiny.
    EXPECT_DOUBLE_EQ(o.novelty[1], 1.0);
    EXPECT_DOUBLE_EQ(o.value[1], 6.0);
    EXPECT_LT(o.novelty[0], 0.01);
}

TEST(ReviewOrderTest, InformativeSpreadsNearDuplicatesApartWhenNothingIsReviewed)
{
    // 0 and 1 are near-copies, 2 is far: after 0, face 2 is worth more than 1's slightly larger spread.
    const Planted p({5, 4.9, 3}, {{0, 0}, {0.1f, 0}, {10, 0}});
    const ReviewOrdering o = orderReview(ReviewOrder::Informative, p.c);
    EXPECT_EQ(o.order, (std::vector<std::size_t>{0, 2, 1}));
    EXPECT_DOUBLE_EQ(o.novelty[0], 1.0); // nothing reviewed: the first is all new
}

TEST(ReviewOrderTest, InformativeTiesGoToTheEarlierFaceEveryTime)
{
    // Equal spreads, equally far from the reviewed face and from each other's reach.
    const Planted p({2, 2, 2}, {{-1, 0}, {0, 1}, {1, 0}}, {{0, 0}});
    const ReviewOrdering first = orderReview(ReviewOrder::Informative, p.c);
    EXPECT_EQ(first.order, (std::vector<std::size_t>{0, 1, 2}));
    for (int run = 0; run < 3; ++run)
        EXPECT_EQ(orderReview(ReviewOrder::Informative, p.c).order, first.order);
}

TEST(ReviewOrderTest, InformativeLazyGreedyMatchesTheBruteForceGreedy)
{
    SplitMix rng(7);
    for (const std::size_t reviewedCount : {std::size_t{0}, std::size_t{5}}) {
        std::vector<double> spread;
        std::vector<std::vector<float>> codes, reviewed;
        for (int i = 0; i < 150; ++i) {
            spread.push_back(1 + static_cast<double>(rng.next() % 1000) / 100.0);
            std::vector<float> v(6);
            for (float& x : v)
                x = static_cast<float>(rng.next() % 1000) / 100.0f;
            codes.push_back(v);
        }
        for (std::size_t i = 0; i < reviewedCount; ++i)
            reviewed.push_back(codes[i * 7]);
        const Planted p(spread, codes, reviewed);
        EXPECT_EQ(orderReview(ReviewOrder::Informative, p.c).order, bruteForceInformative(p.c))
            << reviewedCount << " reviewed";
    }
}

TEST(ReviewOrderTest, PastTheGreedyPicksTheRestFollowByTheirValueAgainstThePicks)
{
    SplitMix rng(5);
    std::vector<double> spread;
    std::vector<std::vector<float>> codes;
    for (int i = 0; i < 120; ++i) {
        spread.push_back(1 + static_cast<double>(rng.next() % 1000) / 100.0);
        codes.push_back({static_cast<float>(rng.uniform(0, 10)), static_cast<float>(rng.uniform(0, 10))});
    }
    Planted p(spread, codes, {codes[3]});
    p.c.greedyPicks = 15;
    const ReviewOrdering o = orderReview(ReviewOrder::Informative, p.c);
    EXPECT_EQ(o.order, bruteForceInformative(p.c, 15));
    ASSERT_EQ(o.order.size(), 120u);
    for (std::size_t k = 16; k < o.order.size(); ++k) // the rest: by value, largest first
        EXPECT_GE(o.value[o.order[k - 1]], o.value[o.order[k]]) << k;
}

TEST(ReviewOrderTest, FacesWithoutASpreadOrACodeFollowInTheInformativeOrder)
{
    Planted p({1, kNaN, 3, 2}, {{0, 0}, {1, 1}, {2, 2}, {3, 3}});
    p.c.code[3] = nullptr;
    const ReviewOrdering o = orderReview(ReviewOrder::Informative, p.c);
    ASSERT_EQ(o.order.size(), 4u);
    EXPECT_EQ(o.order[0], 2u);
    EXPECT_EQ(o.order[1], 0u);
    EXPECT_EQ((std::vector<std::size_t>{o.order[2], o.order[3]}), (std::vector<std::size_t>{3, 1}));
}

TEST(ReviewOrderTest, WithoutCodesInformativeFallsBackToUncertaintyAndSaysSo)
{
    const Planted p({1, 4, 2}, {});
    const ReviewOrdering o = orderReview(ReviewOrder::Informative, p.c);
    EXPECT_EQ(o.asked, ReviewOrder::Informative);
    EXPECT_EQ(o.used, ReviewOrder::Uncertainty);
    EXPECT_NE(o.fallback.find("codes"), std::string::npos) << o.fallback;
    EXPECT_EQ(o.order, (std::vector<std::size_t>{1, 2, 0}));
}

TEST(ReviewOrderTest, WithoutSpreadsTheOrdersFallBackToTheScore)
{
    const Planted p({kNaN, kNaN}, {{0, 0}, {1, 1}});
    for (const ReviewOrder asked : {ReviewOrder::Uncertainty, ReviewOrder::Informative}) {
        const ReviewOrdering o = orderReview(asked, p.c);
        EXPECT_EQ(o.used, ReviewOrder::Score);
        EXPECT_NE(o.fallback.find("spreads"), std::string::npos) << o.fallback;
        EXPECT_EQ(o.order, (std::vector<std::size_t>{0, 1}));
    }
}

TEST(ReviewOrderTest, TheQueueOfAnAuditListsItsFlaggedFacesAndFallsBackWithoutCodes)
{
    AuditResult audit;
    const auto suspect = [&](std::uint32_t index, float sd, bool flagged) {
        Suspect s;
        s.index = index;
        s.path = "face" + std::to_string(index) + ".jpg";
        s.predictedSd = sd;
        if (flagged)
            s.reasons = {"age_outlier"};
        audit.suspects.push_back(s);
    };
    suspect(4, 3.0f, true);
    suspect(1, 9.0f, false); // not flagged: never in the queue
    suspect(0, 5.0f, true);
    suspect(2, 8.0f, true);
    const ReviewQueue score = orderReviewQueue(audit, ReviewOrder::Score, nullptr, {});
    EXPECT_EQ(score.suspects, (std::vector<std::size_t>{0, 2, 3}));
    const ReviewQueue q = orderReviewQueue(audit, ReviewOrder::Informative, nullptr, {0});
    EXPECT_EQ(q.used, ReviewOrder::Uncertainty);
    EXPECT_FALSE(q.fallback.empty());
    EXPECT_EQ(q.suspects, (std::vector<std::size_t>{3, 2, 0}));
    EXPECT_DOUBLE_EQ(q.value.front(), 8.0);
}
