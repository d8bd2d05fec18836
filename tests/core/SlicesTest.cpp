#include "data/Slices.h"
#include "data/Record.h"
#include "util/Error.h"
#include "util/SplitMix.h"

#include <cmath>
#include <gtest/gtest.h>

using namespace faceatlas;

namespace {

const SliceRow& rowOf(const SliceReport& report, const std::string& by, const std::string& slice)
{
    for (const SliceRow& r : report.rows)
        if (r.by == by && r.slice == slice)
            return r;
    throw Error("no row " + by + "=" + slice);
}

} // namespace

// MAE, bias, the baseline and the equal-weight MAE against figures worked out by hand.
TEST(SlicesTest, FiguresOfASmallCaseMatchTheHandComputedOnes)
{
    // Faces:      0    1    2    3    4    5
    const std::vector<int> truth = {20, 20, 30, 40, 40, 40};
    const std::vector<float> predicted = {22, 18, 36, 40, 30, 31};
    const std::vector<std::string> gender = {"female", "female", "female", "male", "male", ""};
    SliceSettings s;
    s.boot = 0;
    s.baselineAge = 30;
    s.minN = 3;
    const SliceReport report = computeSlices(predicted, truth, {{"gender", gender}}, s);
    // female: errors +2, -2, +6 -> MAE 10/3, bias 2; cells 20 (2, 2) and 30 (6): (2 + 6) / 2 = 4;
    // baseline |30-20| + |30-20| + 0 = 20 / 3.
    const SliceRow& female = rowOf(report, "gender", "female");
    EXPECT_EQ(female.n, 3u);
    EXPECT_NEAR(female.mae, 10.0 / 3, 1e-9);
    EXPECT_NEAR(female.bias, 2.0, 1e-9);
    EXPECT_NEAR(female.equalWeightMae, 4.0, 1e-9);
    EXPECT_NEAR(female.baselineMae, 20.0 / 3, 1e-9);
    EXPECT_EQ(female.flag, "");
    // male: errors 0, -10 -> MAE 5, bias -5, one cell (40) -> 5; baseline 10; 2 faces < 3: small.
    const SliceRow& male = rowOf(report, "gender", "male");
    EXPECT_EQ(male.n, 2u);
    EXPECT_NEAR(male.mae, 5.0, 1e-9);
    EXPECT_NEAR(male.bias, -5.0, 1e-9);
    EXPECT_NEAR(male.equalWeightMae, 5.0, 1e-9);
    EXPECT_NEAR(male.baselineMae, 10.0, 1e-9);
    EXPECT_EQ(male.flag, "small");
    // Everyone, the unknown included: errors 2, 2, 6, 0, 10, 9 -> 29/6; cells 20: 2, 30: 6, 40: 19/3.
    const SliceRow& all = rowOf(report, "all", "all");
    EXPECT_EQ(all.n, 6u);
    EXPECT_NEAR(all.mae, 29.0 / 6, 1e-9);
    EXPECT_NEAR(all.equalWeightMae, (2.0 + 6.0 + 19.0 / 3) / 3, 1e-9);
    ASSERT_EQ(report.unknown.size(), 1u);
    EXPECT_EQ(report.unknown[0].second, 1u);
    // The gap needs two slices of minN faces: male is small, so there is none.
    EXPECT_TRUE(report.gaps.empty());
    EXPECT_EQ(slicesCsv(report).substr(0, 32), "by,slice,n,mae,mae_lo,mae_hi,bia");
}

// The bias's bootstrap interval against the closed form for the mean of normal errors:
// mean +- 1.96 sd / sqrt(n); the same seed gives the same interval.
TEST(SlicesTest, TheBiasIntervalMatchesTheNormalClosedForm)
{
    SplitMix random(7);
    const size_t n = 2000;
    std::vector<int> truth(n, 40);
    std::vector<float> predicted(n);
    double sum = 0, squares = 0;
    for (size_t i = 0; i < n; ++i) {
        predicted[i] = static_cast<float>(40 + random.normal(-1.5, 6.0));
        const double e = predicted[i] - 40.0;
        sum += e;
        squares += e * e;
    }
    const double mean = sum / n, sd = std::sqrt((squares - n * mean * mean) / (n - 1));
    const double half = 1.959964 * sd / std::sqrt(static_cast<double>(n));
    SliceSettings s;
    s.boot = 4000;
    s.seed = 3;
    const SliceReport report = computeSlices(predicted, truth, {}, s);
    const SliceRow& all = report.rows.front();
    EXPECT_NEAR(all.bias, mean, 1e-5);
    EXPECT_NEAR(all.biasLo, mean - half, 0.08 * half);
    EXPECT_NEAR(all.biasHi, mean + half, 0.08 * half);
    const SliceReport again = computeSlices(predicted, truth, {}, s);
    EXPECT_EQ(again.rows.front().biasLo, all.biasLo);
    EXPECT_EQ(again.rows.front().maeHi, all.maeHi);
}

// On simulated data a 95% interval of the MAE covers the true MAE in 93-97% of 1,000 simulations.
TEST(SlicesTest, NinetyFivePercentIntervalsCoverTheTrueMaeNinetyFivePercentOfTheTime)
{
    const double sigma = 5.0, trueMae = sigma * std::sqrt(2.0 / M_PI); // E|N(0, sigma)|
    const size_t n = 150;
    const int simulations = 1000;
    int covered = 0;
    SplitMix random(11);
    std::vector<int> truth(n, 30);
    std::vector<float> predicted(n);
    for (int sim = 0; sim < simulations; ++sim) {
        for (size_t i = 0; i < n; ++i)
            predicted[i] = static_cast<float>(30 + random.normal(0, sigma));
        SliceSettings s;
        s.boot = 400;
        s.seed = static_cast<std::uint64_t>(sim) + 1;
        const SliceRow all = computeSlices(predicted, truth, {}, s).rows.front();
        covered += all.maeLo <= trueMae && trueMae <= all.maeHi;
    }
    const double coverage = static_cast<double>(covered) / simulations;
    RecordProperty("coverage", std::to_string(coverage));
    EXPECT_GE(coverage, 0.93);
    EXPECT_LE(coverage, 0.97);
}

// The gap between the best and the worst slice, and its interval from the same resamples.
TEST(SlicesTest, TheGapNamesTheBestAndWorstSlices)
{
    SplitMix random(5);
    std::vector<int> truth;
    std::vector<float> predicted;
    std::vector<std::string> group;
    for (int i = 0; i < 600; ++i) {
        const int g = i % 3; // errors of sd 2, 4 and 8 years
        truth.push_back(30);
        predicted.push_back(static_cast<float>(30 + random.normal(0, 2.0 * (1 << g))));
        group.push_back(std::string("g") + char('0' + g));
    }
    SliceSettings s;
    s.boot = 300;
    const SliceReport report = computeSlices(predicted, truth, {{"group", group}}, s);
    ASSERT_EQ(report.gaps.size(), 1u);
    EXPECT_EQ(report.gaps[0].best, "g0");
    EXPECT_EQ(report.gaps[0].worst, "g2");
    // The gap's interval is that of a difference of two independent slices' MAEs: about as wide as
    // the root of the sum of their squared half-widths, and centred on the gap.
    const SliceRow& g0 = rowOf(report, "group", "g0");
    const SliceRow& g2 = rowOf(report, "group", "g2");
    const double half = std::hypot((g0.maeHi - g0.maeLo) / 2, (g2.maeHi - g2.maeLo) / 2);
    EXPECT_NEAR((report.gaps[0].gapHi - report.gaps[0].gapLo) / 2, half, 0.25 * half);
    EXPECT_NEAR((report.gaps[0].gapHi + report.gaps[0].gapLo) / 2, report.gaps[0].gap, 0.25 * half);
    EXPECT_GT(report.gaps[0].gapLo, 0);
}

TEST(SlicesTest, UtkfaceRaceIsReadFromItsFileNames)
{
    EXPECT_EQ(utkfaceRace("/data/UTKFace/25_0_2_20170116174525125.jpg.chip.jpg"), "Asian");
    EXPECT_EQ(utkfaceRace("1_1_0_2017.jpg"), "White");
    EXPECT_EQ(utkfaceRace("61_1_1_x.jpg"), "Black");
    EXPECT_EQ(utkfaceRace("30_0_3_x.jpg"), "Indian");
    EXPECT_EQ(utkfaceRace("30_0_4_x.jpg"), "Others");
    EXPECT_EQ(utkfaceRace("30_0_5_x.jpg"), ""); // not a code its authors define
    EXPECT_EQ(utkfaceRace("30_0_.jpg"), "");
    EXPECT_EQ(utkfaceRace("39_1_20170116174525125.jpg"), ""); // a name without the race field
    EXPECT_EQ(utkfaceRace("face.jpg"), "");
    EXPECT_EQ(utkfaceRace("a_0_1_x.jpg"), "");
    EXPECT_EQ(utkfaceRace("_1_2_x.jpg"), "");     // no age field
    EXPECT_EQ(utkfaceRace("2017_1_2_x.jpg"), ""); // a year, not an age
    Record r;
    r.path = "/x/25_1_1_2017.jpg";
    EXPECT_EQ(sliceAttribute("race").value(r, false), "Black");
    r.age = 37;
    EXPECT_EQ(sliceAttribute("age_decade").value(r, false), "30-39");
    EXPECT_EQ(sliceAttribute("split").value(r, true), "val");
}

TEST(SlicesTest, BadInputsAreClearErrors)
{
    EXPECT_THROW(sliceAttribute("height"), Error);
    try {
        sliceAttribute("height");
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("gender"), std::string::npos) << e.what(); // lists the known ones
    }
    EXPECT_THROW(computeSlices({1.f, 2.f}, {1}, {}, {}), Error);
    EXPECT_THROW(computeSlices({}, {}, {}, {}), Error);
    EXPECT_THROW(computeSlices({1.f}, {1}, {{"gender", {"a", "b"}}}, {}), Error);
}

// Issue 27 item 5: per slice, how many faces the audit flags (and its share in slices.csv), by hand.
TEST(SlicesTest, AuditFlagsAreCountedPerSliceAsByHand)
{
    // Faces:      0    1    2    3    4    5
    const std::vector<int> truth = {20, 20, 30, 40, 40, 40};
    const std::vector<float> predicted = {22, 18, 36, 40, 30, 31};
    const std::vector<std::pair<std::string, std::vector<std::string>>> groupings = {
        {"gender", {"female", "female", "female", "male", "male", ""}},
        {"gender,site", {"female,a", "female,b", "female,a", "male,a", "", "male,b"}}};
    SliceSettings s;
    s.boot = 0;
    SliceReport report = computeSlices(predicted, truth, groupings, s);
    EXPECT_EQ(rowOf(report, "gender", "female").auditFlagged, -1); // no audit counted yet
    EXPECT_NE(slicesCsv(report).find(",,\n"), std::string::npos) << "without an audit the two columns are empty";
    // Flagged: faces 1, 2, 4 and 5 (5 has no gender: counted in "all" only for gender).
    countAuditFlags(report, groupings, {0, 1, 1, 0, 1, 1});
    EXPECT_EQ(rowOf(report, "all", "all").auditFlagged, 4);
    EXPECT_EQ(rowOf(report, "gender", "female").auditFlagged, 2);
    EXPECT_EQ(rowOf(report, "gender", "male").auditFlagged, 1);
    EXPECT_EQ(rowOf(report, "gender,site", "female,a").auditFlagged, 1);
    EXPECT_EQ(rowOf(report, "gender,site", "female,b").auditFlagged, 1);
    EXPECT_EQ(rowOf(report, "gender,site", "male,a").auditFlagged, 0);
    EXPECT_EQ(rowOf(report, "gender,site", "male,b").auditFlagged, 1);
    const std::string csv = slicesCsv(report);
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "by,slice,n,mae,mae_lo,mae_hi,bias,bias_lo,bias_hi,baseline_mae,"
                                             "equal_weight_mae,flag,audit_flagged,audit_share");
    EXPECT_NE(csv.find("gender,female,3,"), std::string::npos);
    EXPECT_NE(csv.find(",2,0.667\n"), std::string::npos) << csv; // female: 2 of 3
    EXPECT_NE(csv.find("all,all,6,"), std::string::npos);
    EXPECT_NE(csv.find(",4,0.667\n"), std::string::npos) << csv; // everyone: 4 of 6
    EXPECT_THROW(countAuditFlags(report, groupings, {1, 0}), Error);
}
