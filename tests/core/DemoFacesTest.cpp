#include "data/DemoFaces.h"
#include "TestSupport.h"

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

using namespace faceatlas;
using faceatlas::test::TempDir;

TEST(DemoFacesTest, SameSeedSameFace)
{
    const cv::Mat a = drawDemoFace(demoFace(1, 7), 128);
    const cv::Mat b = drawDemoFace(demoFace(1, 7), 128);
    const cv::Mat c = drawDemoFace(demoFace(2, 7), 128);
    ASSERT_EQ(a.size(), cv::Size(128, 128));
    EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
    EXPECT_GT(cv::norm(a, c, cv::NORM_L1), 0.0);
}

TEST(DemoFacesTest, AgeChangesTheFace)
{
    DemoFace young = demoFace(3, 11);
    young.age = 18;
    DemoFace old = young; // same person, lighting, pose: only the age differs
    old.age = 75;
    const cv::Mat a = drawDemoFace(young, 128), b = drawDemoFace(old, 128);
    cv::Mat diff;
    cv::absdiff(a, b, diff);
    cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
    EXPECT_GT(cv::countNonZero(diff > 30), 200) << "an older face must look different";
}

TEST(DemoFacesTest, LabelsVaryAndFilesAreWrittenOnce)
{
    TempDir dir;
    const LoadedDataset data = makeDemoDataset(60, 5, dir / "demo");
    ASSERT_EQ(data.records.size(), 60u);
    int minAge = 200, maxAge = -1, male = 0;
    for (const auto& r : data.records) {
        ASSERT_TRUE(std::filesystem::exists(r.path)) << r.path;
        minAge = std::min(minAge, *r.age);
        maxAge = std::max(maxAge, *r.age);
        male += r.gender == Gender::Male;
    }
    EXPECT_LT(minAge, 25);
    EXPECT_GT(maxAge, 60);
    EXPECT_GT(male, 10);
    EXPECT_LT(male, 50);
    const auto written = std::filesystem::last_write_time(data.records[0].path);
    const LoadedDataset again = makeDemoDataset(60, 5, dir / "demo");
    EXPECT_EQ(std::filesystem::last_write_time(again.records[0].path), written);
    EXPECT_EQ(*again.records[9].age, *data.records[9].age);
}
