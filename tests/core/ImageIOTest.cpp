#include "data/ImageIO.h"
#include "TestSupport.h"
#include "util/FileUtil.h"

#include <cstdio>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <turbojpeg.h>

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
    ASSERT_TRUE(decodeSquareRgb(gray, 64, out.data(), problem)) << problem;
    for (size_t i = 0; i < 64 * 64 * 3; i += 3) {
        ASSERT_EQ(out[i], out[i + 1]);
        ASSERT_EQ(out[i], out[i + 2]);
    }
}

namespace {

std::string encodeJpeg(const cv::Mat& bgr)
{
    std::vector<uchar> bytes;
    cv::imencode(".jpg", bgr, bytes, {cv::IMWRITE_JPEG_QUALITY, 95});
    return std::string(bytes.begin(), bytes.end());
}

/** decodeSquareRgb's picture against the reference (full decode, area resize), in dB. */
double decodePsnr(const std::string& jpeg, int size)
{
    std::vector<std::uint8_t> out(static_cast<size_t>(size) * size * 3);
    std::string problem;
    if (!decodeSquareRgb(jpeg, size, out.data(), problem)) {
        ADD_FAILURE() << problem;
        return 0;
    }
    return test::psnr(out.data(), test::referenceSquareRgb(jpeg, size).data(), out.size());
}

/** An APP1 segment holding an EXIF directory with one entry, the orientation. */
std::string withExifOrientation(const std::string& jpeg, int orientation)
{
    std::string app1 = std::string("\xFF\xE1\0\x22", 4) + std::string("Exif\0\0", 6);
    app1 += std::string("MM\0\x2A\0\0\0\x08", 8); // big-endian TIFF header, first directory at 8
    // One entry, tag 0x0112 (a SHORT), then no next directory.
    app1 += std::string("\0\x01\x01\x12\0\x03\0\0\0\x01\0", 11) + static_cast<char>(orientation) + std::string(6, '\0');
    return jpeg.substr(0, 2) + app1 + jpeg.substr(2);
}

} // namespace

// libjpeg's M/8 scaled decode (a smaller inverse DCT) does most of the area resize's work; its
// pictures must be as good. Measured on these noisy, hard-edged q95 faces: 38.3 dB at 200 -> 150
// (6/8, no resize left; the two filters differ in the finest detail), 41-52 dB elsewhere, and
// identical where no scaling is needed. Against the pixels before JPEG encoding the 6/8 decode
// scores 35.4 dB where the reference scores 36.5. Hence 36 dB; the first version, which put
// libjpeg's rounded-up edge on the wrong side of mirrored EXIF orientations, measured 29-33 dB.
TEST(ImageIOTest, ScaledDecodeMatchesAreaResizeOfFullDecode)
{
    struct Case {
        int width, height, size;
    };
    for (const Case c : {Case{200, 200, 150}, Case{200, 200, 64}, Case{317, 263, 150}, Case{317, 263, 64},
                         Case{900, 900, 150}, Case{900, 900, 64}, Case{400, 400, 50}, Case{160, 160, 150}}) {
        const std::string jpeg = encodeJpeg(test::makeFacePhoto(c.width, c.height, c.width));
        const double db = decodePsnr(jpeg, c.size);
        std::printf("[ PSNR     ] %dx%d -> %d: %.1f dB\n", c.width, c.height, c.size, db);
        EXPECT_GE(db, 36.0) << c.width << "x" << c.height << " -> " << c.size;
    }
}

TEST(ImageIOTest, ExifOrientationIsAppliedAsByOpenCv)
{
    const std::string jpeg = encodeJpeg(test::makeFacePhoto(317, 263, 3));
    for (int orientation = 1; orientation <= 8; ++orientation)
        for (int size : {150, 64}) {
            const double db = decodePsnr(withExifOrientation(jpeg, orientation), size);
            EXPECT_GE(db, 36.0) << "orientation " << orientation << " at " << size;
        }
}

TEST(ImageIOTest, CorruptScanDataIsRefusedAndJunkAfterItIsNot)
{
    const std::string jpeg = encodeJpeg(test::makeFacePhoto(200, 200));
    const size_t scan = jpeg.find("\xFF\xDA");
    ASSERT_NE(scan, std::string::npos);
    std::vector<std::uint8_t> out(150 * 150 * 3), clean(150 * 150 * 3);
    std::string problem;
    ASSERT_TRUE(decodeSquareRgb(jpeg, 150, clean.data(), problem)) << problem;

    // The end-of-image marker is there, but half the scan is missing: libjpeg would fill it with grey.
    const std::string cut = jpeg.substr(0, scan + (jpeg.size() - scan) / 2) + "\xFF\xD9";
    EXPECT_FALSE(decodeSquareRgb(cut, 150, out.data(), problem));
    EXPECT_NE(problem.find("corrupt JPEG"), std::string::npos) << problem;

    // Bytes between the last scan and the end-of-image marker lose nothing; cameras write such.
    const std::string junk = jpeg.substr(0, jpeg.size() - 2) + std::string("junk\0\0", 6) + "\xFF\xD9";
    ASSERT_TRUE(decodeSquareRgb(junk, 150, out.data(), problem)) << problem;
    EXPECT_EQ(out, clean);
}

TEST(ImageIOTest, CmykJpegIsDecodedByOpenCv)
{
    // TurboJPEG writes CMYK pixels as a YCCK JPEG, which it cannot decode to RGB.
    const cv::Mat bgr = test::makeFacePhoto(200, 200);
    cv::Mat cmyk(bgr.size(), CV_8UC4);
    for (int y = 0; y < bgr.rows; ++y)
        for (int x = 0; x < bgr.cols; ++x) {
            const cv::Vec3b p = bgr.at<cv::Vec3b>(y, x);
            cmyk.at<cv::Vec4b>(y, x) = cv::Vec4b(255 - p[2], 255 - p[1], 255 - p[0], 0); // C, M, Y, K = 0
        }
    tjhandle compressor = tjInitCompress();
    ASSERT_NE(compressor, nullptr);
    unsigned char* buffer = nullptr;
    unsigned long length = 0;
    const int rc =
        tjCompress2(compressor, cmyk.data, cmyk.cols, 0, cmyk.rows, TJPF_CMYK, &buffer, &length, TJSAMP_444, 95, 0);
    const std::string jpeg(reinterpret_cast<const char*>(buffer), length);
    tjFree(buffer);
    tjDestroy(compressor);
    ASSERT_EQ(rc, 0);
    for (int size : {150, 64})
        EXPECT_GE(decodePsnr(jpeg, size), 36.0) << size;
}

TEST(ImageIOTest, NonAsciiPathsWork)
{
    TempDir dir;
    const auto path = dir / std::filesystem::u8path("Sami Jauhojärvi_日本.jpg");
    test::writeBytes(path, test::makeJpeg(100, 100));
    const ImageProbe p = probeImage(path.string());
    EXPECT_TRUE(p.ok) << p.problem;
}
