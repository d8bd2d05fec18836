#include "data/ImageIO.h"
#include "TestSupport.h"
#include "util/FileUtil.h"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

using namespace faceatlas;
using faceatlas::test::TempDir;

TEST(ImageIOTest, ProbeReadsSizesFromHeaders)
{
    TempDir dir;
    test::writeBytes(dir / "a.jpg", test::makeJpeg(123, 77));
    std::vector<uchar> png;
    cv::imencode(".png", cv::Mat(31, 45, CV_8UC3, cv::Scalar(1, 2, 3)), png);
    test::writeBytes(dir / "b.png", std::string(png.begin(), png.end()));
    const ImageProbe a = probeImage((dir / "a.jpg").string());
    EXPECT_TRUE(a.ok);
    EXPECT_EQ(a.width, 123);
    EXPECT_EQ(a.height, 77);
    const ImageProbe b = probeImage((dir / "b.png").string());
    EXPECT_TRUE(b.ok);
    EXPECT_EQ(b.width, 45);
    EXPECT_EQ(b.height, 31);
}

TEST(ImageIOTest, BadFilesAreReportedNotFatal)
{
    TempDir dir;
    test::writeBytes(dir / "zero.jpg", "");
    test::writeBytes(dir / "text.jpg", "this is not a picture at all, only words");
    std::string jpeg = test::makeJpeg(200, 200, 3);
    test::writeBytes(dir / "truncated.jpg", jpeg.substr(0, jpeg.size() / 2));
    EXPECT_EQ(probeImage((dir / "zero.jpg").string()).problem, "empty file");
    EXPECT_FALSE(probeImage((dir / "text.jpg").string()).ok);
    EXPECT_EQ(probeImage((dir / "missing.jpg").string()).problem, "missing");

    // A truncated JPEG has a valid header; decoding must refuse it rather than return grey.
    EXPECT_TRUE(probeImage((dir / "truncated.jpg").string()).ok);
    std::vector<std::uint8_t> out(64 * 64 * 3);
    std::string problem;
    EXPECT_FALSE(decodeSquareRgb(readFile(dir / "truncated.jpg"), 64, out.data(), problem));
    EXPECT_NE(problem.find("truncated"), std::string::npos) << problem;
    EXPECT_FALSE(decodeSquareRgb("not an image", 64, out.data(), problem));
    EXPECT_FALSE(decodeSquareRgb("", 64, out.data(), problem));
}

TEST(ImageIOTest, DecodesToRgbSquareAndGreyToThreeChannels)
{
    cv::Mat bgr(40, 40, CV_8UC3, cv::Scalar(10, 20, 200)); // OpenCV order: blue, green, red
    std::vector<uchar> png;
    cv::imencode(".png", bgr, png);
    std::vector<std::uint8_t> out(64 * 64 * 3); // room for the 64 x 64 decode below, too
    std::string problem;
    ASSERT_TRUE(decodeSquareRgb(std::string(png.begin(), png.end()), 16, out.data(), problem)) << problem;
    EXPECT_EQ(out[0], 200);
    EXPECT_EQ(out[1], 20);
    EXPECT_EQ(out[2], 10);

    const std::string gray = test::makeJpeg(300, 300, 1, /*gray=*/true);
    ASSERT_TRUE(decodeSquareRgb(gray, 64, out.data(), problem, 300, 300)) << problem;
    for (size_t i = 0; i < 64 * 64 * 3; i += 3) {
        ASSERT_EQ(out[i], out[i + 1]);
        ASSERT_EQ(out[i], out[i + 2]);
    }
}

TEST(ImageIOTest, ReducedScaleDecodeStaysCloseToFullDecode)
{
    const std::string jpeg = test::makeJpeg(400, 400, 5);
    std::vector<std::uint8_t> full(50 * 50 * 3), reduced(50 * 50 * 3);
    std::string problem;
    ASSERT_TRUE(decodeSquareRgb(jpeg, 50, full.data(), problem));              // size unknown: full decode
    ASSERT_TRUE(decodeSquareRgb(jpeg, 50, reduced.data(), problem, 400, 400)); // 1/8 scale
    double diff = 0;
    for (size_t i = 0; i < full.size(); ++i)
        diff += std::abs(int(full[i]) - int(reduced[i]));
    EXPECT_LT(diff / full.size(), 4.0);
}

TEST(ImageIOTest, NonAsciiPathsWork)
{
    TempDir dir;
    const auto path = dir / std::filesystem::u8path("Sami Jauhojärvi_日本.jpg");
    test::writeBytes(path, test::makeJpeg(100, 100));
    const ImageProbe p = probeImage(path.string());
    EXPECT_TRUE(p.ok) << p.problem;
}
