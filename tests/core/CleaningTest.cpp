#include "data/Cleaning.h"
#include "util/Error.h"

#include <cmath>
#include <gtest/gtest.h>

using namespace faceatlas;

namespace {

ImageProbe okProbe(int side = 120)
{
    ImageProbe p;
    p.ok = true;
    p.width = p.height = side;
    return p;
}

} // namespace

TEST(CleaningTest, EachStepRemovesItsRecordsInOrder)
{
    std::vector<Record> records(8);
    std::vector<ImageProbe> probes(8, okProbe());
    for (auto& r : records) {
        r.age = 30;
        r.faceScore = 3.0;
    }
    probes[0] = ImageProbe{false, 0, 0, 0, 0, "missing"}; // 1 unreadable
    records[1].secondFaceScore = 2.0;                     // 2 second face
    records[2].faceScore = 0.5;                           // 3 low score
    records[3].faceScore = -INFINITY;                     // 3 no face at all
    records[4].age = 70;                                  // 4 too old
    records[5].age = 14;                                  // 4 too young
    probes[6] = okProbe(80);                              // 5 too small
    records[7].faceScore = Record::kNaN;                  // no score: passes step 3
    std::vector<StepReport> steps;
    std::vector<SkippedFile> skipped;
    const auto kept = applyFilters(records, probes, CleaningOptions{}, steps, skipped);
    ASSERT_EQ(steps.size(), 7u);
    const size_t removed[] = {1, 1, 2, 2, 1, 0, 0};
    size_t remaining = 8;
    for (size_t s = 0; s < 7; ++s) {
        remaining -= removed[s];
        EXPECT_EQ(steps[s].removed, removed[s]) << steps[s].name;
        EXPECT_EQ(steps[s].remaining, remaining) << steps[s].name;
    }
    EXPECT_EQ(steps[2].notApplicable, 1u);
    EXPECT_EQ(kept, std::vector<size_t>{7});
    ASSERT_EQ(skipped.size(), 1u);
    EXPECT_EQ(skipped[0].problem, "missing");
}

TEST(CleaningTest, StepsCanBeSwitchedOffAndThresholdsMove)
{
    std::vector<Record> records(4);
    std::vector<ImageProbe> probes(4, okProbe());
    records[0].faceScore = 0.5;
    records[1].faceScore = -INFINITY;
    records[2].age = 70;
    records[3].secondFaceScore = 1.0;
    CleaningOptions o;
    o.minFaceScore = 0.2;
    o.ageMax = 75;
    o.dropMultipleFaces = false;
    std::vector<StepReport> steps;
    std::vector<SkippedFile> skipped;
    const auto kept = applyFilters(records, probes, o, steps, skipped);
    EXPECT_EQ(kept, (std::vector<size_t>{0, 2, 3})); // -inf is always removed
    EXPECT_FALSE(steps[1].enabled);
    EXPECT_EQ(steps[3].notApplicable, 2u); // of the three left, only record 2 has an age
    o.ageMin = 80;
    EXPECT_THROW(applyFilters(records, probes, o, steps, skipped), Error);
}

TEST(CleaningTest, TurnedAndSmallFacesAreRemovedWhereTheDetectorSaysSo)
{
    std::vector<Record> records(5);
    std::vector<ImageProbe> probes(5, okProbe(400));
    for (auto& r : records) {
        r.yaw = 5;
        r.faceBox = {10, 10, 110, 110};
    }
    records[0].yaw = -30;                  // turned too far
    records[1].yaw = Record::kNaN;         // not looked at: passes
    records[2].faceBox = {10, 10, 30, 30}; // 20 px wide: too small
    records[3].faceBox[0] = Record::kNaN;  // no box: passes
    std::vector<StepReport> steps;
    std::vector<SkippedFile> skipped;
    EXPECT_EQ(applyFilters(records, probes, CleaningOptions{}, steps, skipped), (std::vector<size_t>{1, 3, 4}));
    ASSERT_EQ(steps.size(), 7u);
    EXPECT_EQ(steps[5].name, "face turned too far");
    EXPECT_EQ(steps[5].removed, 1u);
    EXPECT_EQ(steps[5].notApplicable, 1u);
    EXPECT_EQ(steps[6].name, "face smaller than minimum");
    EXPECT_EQ(steps[6].removed, 1u);
    EXPECT_EQ(steps[6].notApplicable, 1u);
    CleaningOptions off;
    off.maxYaw = 0;
    off.minFaceSize = 0;
    steps.clear();
    EXPECT_EQ(applyFilters(records, probes, off, steps, skipped).size(), 5u);
    EXPECT_FALSE(steps[5].enabled);
    EXPECT_FALSE(steps[6].enabled);
}

TEST(CleaningTest, SplitIsSeededAndSized)
{
    std::vector<size_t> kept(1000);
    for (size_t i = 0; i < kept.size(); ++i)
        kept[i] = i * 2;
    CleaningOptions o;
    std::vector<size_t> train, val, train2, val2;
    splitTrainVal(kept, o, train, val);
    EXPECT_EQ(val.size(), 200u);
    EXPECT_EQ(train.size(), 800u);
    splitTrainVal(kept, o, train2, val2);
    EXPECT_EQ(val, val2);
    o.seed = 43;
    splitTrainVal(kept, o, train2, val2);
    EXPECT_NE(val, val2);
    o.valCount = 10;
    splitTrainVal(kept, o, train, val);
    EXPECT_EQ(val.size(), 10u);
    std::vector<size_t> all(train);
    all.insert(all.end(), val.begin(), val.end());
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, kept);
    o.valCount = 5000;
    EXPECT_THROW(splitTrainVal(kept, o, train, val), Error);
}

TEST(CleaningTest, BalancingEqualisesAgesKeepsSizeAndIsSeeded)
{
    std::vector<Record> records;
    std::vector<size_t> train;
    // 20-year-olds are plentiful, 60-year-olds rare; three unlabelled records ride along.
    for (int i = 0; i < 300; ++i) {
        Record r;
        r.age = i < 200 ? 20 : (i < 290 ? 40 : 60);
        records.push_back(r);
        train.push_back(records.size() - 1);
    }
    for (int i = 0; i < 3; ++i) {
        records.emplace_back();
        train.push_back(records.size() - 1);
    }
    const auto balanced = balanceByAge(records, train, 0, 9);
    EXPECT_EQ(balanced.size(), train.size());
    const auto histogram = ageHistogram(records, balanced);
    ASSERT_EQ(histogram.size(), 3u);
    for (const auto& [age, count] : histogram)
        EXPECT_EQ(count, 100u) << age;
    EXPECT_EQ(balanceByAge(records, train, 0, 9), balanced);
    EXPECT_NE(balanceByAge(records, train, 0, 10), balanced);
    const auto bigger = balanceByAge(records, train, 600, 9);
    EXPECT_EQ(bigger.size(), 603u);
    EXPECT_EQ(ageHistogram(records, bigger).at(60), 200u);
}
