// Face framing: the template transform (no detector needed), the centred square, the detector on
// real faces (skipped without ../shared/data), its cache, and hostile cache files.
#include "data/FaceAlign.h"
#include "data/CsvExport.h"
#include "data/FaceDetections.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/ReviewFile.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <gtest/gtest.h>
#include <limits>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

using namespace faceatlas;
using faceatlas::test::TempDir;
namespace fs = std::filesystem;

namespace {

/** A finding whose five key points (eye rings, nose tip, mouth corners) sit at `points` (x, y) x 5. */
FaceFinding findingAt(const std::array<cv::Point2f, 5>& points)
{
    FaceFinding f;
    f.faces = 1;
    f.score = 1;
    f.landmarks.fill(0);
    const auto set = [&](int i, cv::Point2f p) {
        f.landmarks[2 * i] = p.x;
        f.landmarks[2 * i + 1] = p.y;
    };
    for (int i = 36; i <= 41; ++i)
        set(i, points[0]);
    for (int i = 42; i <= 47; ++i)
        set(i, points[1]);
    set(30, points[2]);
    set(48, points[3]);
    set(54, points[4]);
    return f;
}

bool landmarkModelInstalled()
{
    return fs::is_regular_file(landmarkModelPath());
}

std::vector<fs::path> utkFaces(size_t n)
{
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(test::sharedData() / "utkface" / "images"))
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::vector<fs::path> out;
    for (size_t i = 0; i < n && !files.empty(); ++i)
        out.push_back(files[i * files.size() / n]);
    return out;
}

} // namespace

TEST(FaceAlignTest, KeyPointsLandOnTheTemplateWhateverTheTurnScaleAndShift)
{
    // A 300 x 200 picture with five bright dots where a face's key points would be, turned 30
    // degrees, at 1.7x the output's scale: framed at 100 px, each dot lands on its template point.
    const auto& t = alignmentTemplate();
    const cv::Matx23d place =
        cv::Matx23d(cv::getRotationMatrix2D(cv::Point2f(50, 50), 30, 1.7)) + cv::Matx23d(0, 0, 90, 0, 0, 20);
    std::array<cv::Point2f, 5> points;
    cv::Mat image(200, 300, CV_8UC3, cv::Scalar(0, 0, 0));
    for (int k = 0; k < 5; ++k) {
        const double x = t[2 * k] * 100 - 0.5, y = t[2 * k + 1] * 100 - 0.5;
        points[k] = cv::Point2f(static_cast<float>(place(0, 0) * x + place(0, 1) * y + place(0, 2)),
                                static_cast<float>(place(1, 0) * x + place(1, 1) * y + place(1, 2)));
        cv::circle(image, points[k], 4, cv::Scalar(255, 255, 255), cv::FILLED);
    }
    const FaceFinding f = findingAt(points);
    std::vector<std::uint8_t> out(100 * 100 * 3);
    frameDecodedFace(image, &f, 100, out.data());
    for (int k = 0; k < 5; ++k) {
        const int x = static_cast<int>(std::lround(t[2 * k] * 100 - 0.5)),
                  y = static_cast<int>(std::lround(t[2 * k + 1] * 100 - 0.5));
        EXPECT_GT(out[(static_cast<size_t>(y) * 100 + x) * 3], 200) << "key point " << k;
    }
    // And far from every dot the picture is dark: nothing was stretched across it.
    EXPECT_LT(out[(5 * 100 + 5) * 3], 30);
}

TEST(FaceAlignTest, AFaceNotFoundIsTheCentredSquareNeverSquashed)
{
    // 300 x 100: red left third, green middle, blue right third. The centred square is all green.
    cv::Mat image(100, 300, CV_8UC3, cv::Scalar(255, 0, 0));
    image(cv::Rect(100, 0, 100, 100)).setTo(cv::Scalar(0, 255, 0));
    image(cv::Rect(200, 0, 100, 100)).setTo(cv::Scalar(0, 0, 255));
    std::vector<std::uint8_t> out(50 * 50 * 3);
    frameDecodedFace(image, nullptr, 50, out.data());
    for (size_t p = 0; p < out.size(); p += 3) {
        ASSERT_EQ(out[p], 0) << p;
        ASSERT_EQ(out[p + 1], 255) << p;
    }
    // The same through the file path (a non-square PNG, centre-crop framing).
    std::vector<uchar> png;
    cv::Mat bgr;
    cv::cvtColor(image, bgr, cv::COLOR_RGB2BGR);
    cv::imencode(".png", bgr, png);
    std::string problem;
    ASSERT_TRUE(
        decodeFramedFace(std::string(png.begin(), png.end()), 50, Framing::CentreCrop, out.data(), nullptr, problem))
        << problem;
    EXPECT_EQ(out[0], 0);
    EXPECT_EQ(out[1], 255);
    EXPECT_EQ(parseFraming("aligned"), Framing::Aligned);
    EXPECT_THROW(parseFraming("squash"), Error);
}

TEST(FaceAlignTest, AHostileFindingsCacheIsRefusedNotTrusted)
{
    FaceFinding f;
    f.faces = 2;
    f.score = 1.5f;
    f.secondScore = 0.5f;
    f.landmarks.fill(3.0f);
    f.box = {1, 2, 30, 40};
    f.roll = 2;
    f.yaw = -5;
    FaceFinding second = f;
    second.score = 0.5f;
    second.secondScore = FaceFinding::kNaN;
    second.landmarks.fill(7.0f);
    ImageProbe probe;
    probe.fileSize = 1234;
    probe.modifiedNs = 99;
    const std::string bytes = serializeFindings("/faces", {"a.jpg"}, {probe}, {f}, {{second}});
    std::vector<std::pair<std::string, CachedFinding>> out;
    ASSERT_TRUE(parseFindings(bytes, "/faces", out));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].first, "a.jpg");
    EXPECT_EQ(out[0].second.fileSize, 1234);
    EXPECT_EQ(out[0].second.finding.faces, 2);
    EXPECT_FLOAT_EQ(out[0].second.finding.landmarks[135], 3.0f);
    ASSERT_EQ(out[0].second.others.size(), 1u);
    EXPECT_FLOAT_EQ(out[0].second.others[0].landmarks[0], 7.0f);
    // What no detector writes: more other faces than it counted, a face found at NaN.
    EXPECT_FALSE(
        parseFindings(serializeFindings("/faces", {"a.jpg"}, {probe}, {f}, {{second, second}}), "/faces", out));
    FaceFinding nowhere = second;
    nowhere.landmarks[10] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_FALSE(parseFindings(serializeFindings("/faces", {"a.jpg"}, {probe}, {f}, {{nowhere}}), "/faces", out));
    FaceFinding none;
    none.landmarks.fill(FaceFinding::kNaN);
    EXPECT_TRUE(parseFindings(serializeFindings("/faces", {"a.jpg"}, {probe}, {none}), "/faces", out));
    EXPECT_FALSE(parseFindings(serializeFindings("/faces", {"a.jpg"}, {probe}, {none}, {{second}}), "/faces", out));
    EXPECT_FALSE(parseFindings(bytes, "/other", out)) << "another folder's findings";
    for (size_t cut = 0; cut < bytes.size(); cut += 7)
        EXPECT_FALSE(parseFindings(bytes.substr(0, cut), "/faces", out)) << "cut at " << cut;
    EXPECT_FALSE(parseFindings(bytes + "x", "/faces", out)) << "trailing bytes";
    // A count claiming billions of entries is refused before it sizes anything.
    std::string huge = bytes;
    const size_t countAt = 8 + 4 + std::string("dlib-hog-68|scan 240-900|turn 25|v1").size() + 4 + 6;
    const std::uint64_t billions = 4'000'000'000ULL;
    std::memcpy(huge.data() + countAt, &billions, 8);
    EXPECT_FALSE(parseFindings(huge, "/faces", out));
}

// Finding F07 (round 3): the reader took any finite number, and one flipped exponent bit (an eye's x
// times 2^64) made every later prepare of the folder fail with an OpenCV assertion. Every value is
// now checked against what a detector writes, and the boxes against their picture.
TEST(FaceAlignTest, FindingsCacheValuesAreCheckedOneByOne)
{
    FaceFinding f;
    f.faces = 2;
    f.score = 1.5f;
    f.secondScore = 0.5f;
    f.box = {100, 120, 180, 200};
    for (int i = 0; i < kLandmarkPoints; ++i) { // a face's points, some below its box (the chin)
        f.landmarks[2 * i] = 100.0f + static_cast<float>(i);
        f.landmarks[2 * i + 1] = 150.0f + static_cast<float>(i);
    }
    f.roll = -3;
    f.yaw = 12;
    FaceFinding second = f;
    second.score = 0.5f;
    second.secondScore = FaceFinding::kNaN;
    FaceFinding none;
    none.landmarks.fill(FaceFinding::kNaN);
    ImageProbe probe;
    probe.fileSize = 1234;
    probe.modifiedNs = 99;
    const auto parse = [&](const FaceFinding& best, const std::vector<FaceFinding>& others, std::string& problem,
                           const std::string& name = "a.jpg") {
        std::vector<std::pair<std::string, CachedFinding>> out;
        const bool ok =
            parseFindings(serializeFindings("/faces", {name}, {probe}, {best}, {others}), "/faces", out, &problem);
        EXPECT_EQ(ok, !out.empty());
        return ok;
    };
    std::string problem;
    ASSERT_TRUE(parse(f, {second}, problem)) << problem;
    EXPECT_TRUE(problem.empty());
    ASSERT_TRUE(parse(none, {}, problem)) << problem;

    // The finding's bit flip: landmark 36's x times 2^64, a finite number.
    FaceFinding flipped = f;
    flipped.landmarks[72] = std::ldexp(flipped.landmarks[72], 64);
    ASSERT_TRUE(std::isfinite(flipped.landmarks[72]));
    EXPECT_FALSE(parse(flipped, {second}, problem));
    EXPECT_NE(problem.find("entry 1 (a.jpg): landmark 36 at (2.5"), std::string::npos) << problem;
    flipped = second;
    flipped.landmarks[73] = -flipped.landmarks[73] * 1e6f;
    EXPECT_FALSE(parse(f, {flipped}, problem));
    EXPECT_NE(problem.find("face 2: landmark 36"), std::string::npos) << problem;

    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<std::pair<const char*, std::function<void(FaceFinding&)>>> bad = {
        {"a count of 2147483647 faces", [](FaceFinding& g) { g.faces = 2147483647; }},
        {"face score nan", [](FaceFinding& g) { g.score = FaceFinding::kNaN; }},
        {"face score 1e+06", [](FaceFinding& g) { g.score = 1e6f; }},
        {"second face score -inf", [&](FaceFinding& g) { g.secondScore = -inf; }},
        {"face box coordinate inf", [&](FaceFinding& g) { g.box[2] = inf; }},
        {"out of order", [](FaceFinding& g) { std::swap(g.box[0], g.box[2]); }},
        {"head pose (roll 1e+30", [](FaceFinding& g) { g.roll = 1e30f; }},
        {"yaw nan", [](FaceFinding& g) { g.yaw = FaceFinding::kNaN; }},
        {"yaw 91", [](FaceFinding& g) { g.yaw = 91; }},
    };
    for (const auto& [why, change] : bad) {
        FaceFinding g = f;
        change(g);
        EXPECT_FALSE(parse(g, {second}, problem)) << why;
        EXPECT_NE(problem.find(why), std::string::npos) << problem;
        g = second;
        change(g);
        EXPECT_FALSE(parse(f, {g}, problem)) << why << " in the picture's second face";
    }
    // A picture with no face has nothing else, and names are file names.
    FaceFinding ghost = none;
    ghost.roll = 0;
    EXPECT_FALSE(parse(ghost, {}, problem));
    EXPECT_NE(problem.find("no face found"), std::string::npos) << problem;
    ghost = none;
    ghost.landmarks[5] = 3;
    EXPECT_FALSE(parse(ghost, {}, problem));
    EXPECT_FALSE(parse(f, {second}, problem, "../a.jpg"));
    EXPECT_FALSE(parse(f, {second}, problem, ""));
    EXPECT_FALSE(parse(f, {second}, problem, std::string("a\0.jpg", 6)));

    // The boxes against their picture: a box may stand out of it, not lie beyond its size.
    CachedFinding c;
    c.finding = f;
    c.others = {second};
    EXPECT_TRUE(checkCachedFinding(c, 200, 300, problem)) << problem;
    EXPECT_TRUE(checkCachedFinding(c, 100, 100, problem)) << "a face cut by the edge: " << problem;
    EXPECT_FALSE(checkCachedFinding(c, 50, 50, problem));
    EXPECT_NE(problem.find("far outside the 50x50 picture"), std::string::npos) << problem;
    c.finding = none;
    c.others.clear();
    EXPECT_TRUE(checkCachedFinding(c, 1, 1, problem)) << problem;
}

TEST(FaceAlignTest, RealFacesAreFoundAndATurnedPaddedCopyIsFramedLikeTheOriginal)
{
    FACEATLAS_REQUIRE_SHARED_DATA("utkface/images");
    if (!landmarkModelInstalled())
        GTEST_SKIP() << landmarkModelPath() << " is absent (Debian's libdlib-data installs it)";
    size_t found = 0;
    double worst = 1e9;
    for (const auto& file : utkFaces(12)) {
        const std::string bytes = readFile(file);
        std::vector<std::uint8_t> original(64 * 64 * 3), moved(64 * 64 * 3);
        FaceFinding a, b;
        std::string problem;
        ASSERT_TRUE(decodeFramedFace(bytes, 64, Framing::Aligned, original.data(), &a, problem)) << problem;
        if (!a.found())
            continue;
        ++found;
        // Head and shoulders: the face turned 15 degrees in a 1.5x wider, 2x taller picture.
        cv::Mat rgb = cv::imread(file.string());
        const cv::Matx23d turn =
            cv::Matx23d(cv::getRotationMatrix2D(cv::Point2f(100, 100), 15, 1.0)) + cv::Matx23d(0, 0, 60, 0, 0, 80);
        cv::Mat framed;
        cv::warpAffine(rgb, framed, turn, cv::Size(rgb.cols * 3 / 2, rgb.rows * 2), cv::INTER_LINEAR,
                       cv::BORDER_REPLICATE);
        std::vector<uchar> jpeg;
        cv::imencode(".jpg", framed, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95});
        ASSERT_TRUE(
            decodeFramedFace(std::string(jpeg.begin(), jpeg.end()), 64, Framing::Aligned, moved.data(), &b, problem))
            << problem;
        ASSERT_TRUE(b.found()) << file;
        EXPECT_NEAR(b.roll - a.roll, -15.0, 4.0) << file; // turned anticlockwise on screen
        worst = std::min(worst, test::psnr(original.data(), moved.data(), original.size()));
    }
    EXPECT_GE(found, 11u);
    // The two framings of each face agree closely.
    EXPECT_GT(worst, 20.0);
}

TEST(FaceAlignTest, PrepareFindsFacesOnceAndASecondPreparationReusesThem)
{
    FACEATLAS_REQUIRE_SHARED_DATA("utkface/images");
    if (!landmarkModelInstalled())
        GTEST_SKIP() << landmarkModelPath() << " is absent (Debian's libdlib-data installs it)";
    TempDir dir;
    fs::create_directories(dir / "faces");
    for (const auto& file : utkFaces(30))
        fs::create_symlink(file, dir / "faces" / file.filename());
    PrepareParams params;
    params.source = "utkface:" + (dir / "faces").string();
    params.outDir = dir / "p1";
    params.size = 32;
    params.cleaning.filterAge = false;
    params.cleaning.valCount = 3;
    const PrepareReport first = PrepareJob(params).run().report;
    EXPECT_EQ(first.framing.framing, Framing::Aligned);
    EXPECT_EQ(first.framing.looked, 30u);
    EXPECT_EQ(first.framing.detected, 30u);
    EXPECT_GE(first.framing.found, 27u);
    EXPECT_EQ(first.framing.found, first.imagesStored); // the faces not found failed the face-score step
    const PreparedDataset data = PreparedDataset::open(params.outDir);
    for (const auto& r : data.records()) {
        EXPECT_GE(r.facesFound, 1) << r.path;
        EXPECT_TRUE(std::isfinite(r.faceScore)) << r.path;
        EXPECT_TRUE(std::isfinite(r.roll)) << r.path;
    }
    EXPECT_EQ(fs::file_size(params.outDir / PreparedDataset::kLandmarks), data.count() * 136 * sizeof(float));
    EXPECT_NE(data.manifestJson().find("\"framing\": \"aligned\""), std::string::npos);

    params.outDir = dir / "p2";
    const PrepareReport second = PrepareJob(params).run().report;
    EXPECT_EQ(second.framing.detected, 0u);
    EXPECT_EQ(second.framing.reused, 30u);
    EXPECT_EQ(second.imagesStored, first.imagesStored);
    EXPECT_EQ(readFile(dir / "p1" / PreparedDataset::kImages), readFile(dir / "p2" / PreparedDataset::kImages));
}

namespace {

/** The findings cache file of `folder` in cacheDir()/faces: the one whose bytes parse as that folder's. */
fs::path findingsCacheOf(const std::string& folder)
{
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(cacheDir() / "faces", ec)) {
        std::vector<std::pair<std::string, CachedFinding>> entries;
        if (e.path().extension() == ".faces" && parseFindings(readFile(e.path()), folder, entries))
            return e.path();
    }
    return {};
}

/**
 * Flips one bit of the exponent of landmark 36's x (the left eye) of the first entry with a face
 * found, as the finding's reproducer does: the number becomes 2^64 times larger, still finite.
 */
void flipEyeExponent(const fs::path& cache, const std::string& folder)
{
    std::string bytes = readFile(cache);
    std::vector<std::pair<std::string, CachedFinding>> entries;
    ASSERT_TRUE(parseFindings(bytes, folder, entries));
    // FAFACE02: magic, version, folder, count, then per entry its name, size, time, the best face
    // (faces, score, second score, box, landmarks, roll, yaw), the count of others and their faces.
    constexpr size_t kFace = 4 + 4 + 4 + 16 + 4 * 2 * kLandmarkPoints + 4 + 4;
    size_t at = 8 + 4 + std::strlen(faceDetectorVersion()) + 4 + folder.size() + 8;
    for (const auto& [name, c] : entries) {
        at += 4 + name.size() + 16;
        if (c.finding.found()) {
            const size_t x36 = at + 4 + 4 + 4 + 16 + 4 * 72;
            float before = 0;
            std::memcpy(&before, bytes.data() + x36, 4);
            ASSERT_EQ(before, c.finding.landmarks[72]);
            bytes[x36 + 3] = static_cast<char>(bytes[x36 + 3] ^ 0x20);
            float after = 0;
            std::memcpy(&after, bytes.data() + x36, 4);
            ASSERT_TRUE(std::isfinite(after));
            ASSERT_GT(std::abs(after), 1e18f);
            test::writeBytes(cache, bytes);
            return;
        }
        at += kFace + 2 + kFace * c.others.size();
    }
    FAIL() << "no face found in " << folder;
}

} // namespace

// Finding F07 (round 3): after one flipped bit in the findings cache every prepare of the folder
// failed with "OpenCV(4.6.0) ... resize.cpp: (-215:Assertion failed) !dsize.empty()", and the cache
// was never rewritten. A damaged cache is now moved aside, with a warning, and its faces found again.
TEST(FaceAlignTest, AFindingsCacheWithAFlippedBitIsMovedAsideAndItsFacesFoundAgain)
{
    FACEATLAS_REQUIRE_SHARED_DATA("utkface/images");
    if (!landmarkModelInstalled())
        GTEST_SKIP() << landmarkModelPath() << " is absent (Debian's libdlib-data installs it)";
    TempDir dir;
    const fs::path folder = dir / "faces";
    fs::create_directories(folder);
    for (const auto& file : utkFaces(10))
        fs::copy_file(file, folder / file.filename());
    PrepareParams params;
    params.source = "utkface:" + folder.string();
    params.outDir = dir / "p1";
    params.size = 32;
    params.cleaning.filterAge = false;
    params.cleaning.valCount = 2;
    const PrepareReport first = PrepareJob(params).run().report;
    ASSERT_EQ(first.framing.detected, 10u);
    ASSERT_GE(first.framing.found, 8u);
    const fs::path cache = findingsCacheOf(folder.string());
    ASSERT_FALSE(cache.empty());
    flipEyeExponent(cache, folder.string());

    params.outDir = dir / "p2";
    PrepareReport second;
    ASSERT_NO_THROW(second = PrepareJob(params).run().report);
    EXPECT_EQ(second.framing.reused, 0u) << "nothing of a damaged cache is trusted";
    EXPECT_EQ(second.framing.detected, 10u);
    EXPECT_EQ(second.imagesStored, first.imagesStored);
    EXPECT_EQ(readFile(dir / "p1" / PreparedDataset::kImages), readFile(dir / "p2" / PreparedDataset::kImages));
    EXPECT_TRUE(fs::is_regular_file(cache.string() + ".bad"));

    // The cache written again is whole: the next preparation finds nothing again.
    params.outDir = dir / "p3";
    EXPECT_EQ(PrepareJob(params).run().report.framing.reused, 10u);

    // The warning names the cache file and the value.
    flipEyeExponent(cache, folder.string());
    std::vector<std::string> paths;
    std::vector<ImageProbe> probes;
    for (const auto& e : fs::directory_iterator(folder)) {
        paths.push_back(e.path().string());
        probes.push_back(probeImage(paths.back()));
    }
    const DetectionPass pass = detectFaces(paths, probes, std::vector<char>(paths.size(), 1), 2);
    EXPECT_EQ(pass.detected, 10u);
    ASSERT_EQ(pass.warnings.size(), 1u);
    EXPECT_NE(pass.warnings[0].find(displayPath(cache) + ": the face findings cache of " + folder.string()),
              std::string::npos)
        << pass.warnings[0];
    EXPECT_NE(pass.warnings[0].find("landmark 36 at ("), std::string::npos) << pass.warnings[0];
    EXPECT_NE(pass.warnings[0].find("moved aside"), std::string::npos) << pass.warnings[0];
}

TEST(FaceAlignTest, EveryFaceOfAGroupPhotoBecomesARecordFramedLikeTheFaceAlone)
{
    FACEATLAS_REQUIRE_SHARED_DATA("utkface/images");
    if (!landmarkModelInstalled())
        GTEST_SKIP() << landmarkModelPath() << " is absent (Debian's libdlib-data installs it)";
    constexpr int kSize = 48, kTile = 200, kGap = 60;
    // Three people side by side on a grey ground: a group photo whose faces are known one by one.
    std::vector<fs::path> people;
    std::vector<std::vector<std::uint8_t>> alone;
    for (const auto& file : utkFaces(12)) {
        std::vector<std::uint8_t> framed(kSize * kSize * 3);
        FaceFinding f;
        std::string problem;
        const cv::Mat rgb = cv::imread(file.string());
        if (rgb.cols != kTile || rgb.rows != kTile
            || !decodeFramedFace(readFile(file), kSize, Framing::Aligned, framed.data(), &f, problem) || f.faces != 1)
            continue;
        people.push_back(file);
        alone.push_back(framed);
        if (people.size() == 3)
            break;
    }
    ASSERT_EQ(people.size(), 3u);
    TempDir dir;
    fs::create_directories(dir / "photos");
    cv::Mat group(kTile + 2 * kGap, 3 * kTile + 4 * kGap, CV_8UC3, cv::Scalar(128, 128, 128));
    for (int t = 0; t < 3; ++t)
        cv::imread(people[static_cast<size_t>(t)].string())
            .copyTo(group(cv::Rect(kGap + t * (kTile + kGap), kGap, kTile, kTile)));
    cv::imwrite((dir / "photos" / "group.jpg").string(), group, {cv::IMWRITE_JPEG_QUALITY, 95});
    fs::copy_file(people[0], dir / "photos" / "single.jpg");

    PrepareParams params;
    params.source = "folder:" + (dir / "photos").string();
    params.outDir = dir / "every";
    params.size = kSize;
    params.cleaning.valCount = 1;
    params.cleaning.balanceAges = false;
    params.everyFace = true;
    const PrepareReport every = PrepareJob(params).run().report;
    EXPECT_EQ(every.framing.moreFaces, 2u);
    EXPECT_EQ(every.imagesStored, 4u);
    const PreparedDataset data = PreparedDataset::open(params.outDir);
    ASSERT_EQ(data.count(), 4u);
    std::set<std::string> keys;
    std::set<int> tiles;
    for (size_t i = 0; i < data.count(); ++i) {
        const Record& r = data.records()[i];
        keys.insert(recordKey(r));
        if (fs::path(r.path).filename() != "group.jpg") {
            EXPECT_EQ(r.faceIndex, -1) << "a picture of one face is that face";
            continue;
        }
        EXPECT_EQ(r.facesFound, 3);
        EXPECT_TRUE(std::isnan(r.secondFaceScore)) << "each record is one face";
        ASSERT_GE(r.faceIndex, 0);
        EXPECT_EQ(recordKey(r), r.path + "#face" + std::to_string(r.faceIndex + 1));
        // Which person: the tile the face's box is centred in. Its framing matches that face alone.
        const int tile = static_cast<int>(((r.faceBox[0] + r.faceBox[2]) / 2 - kGap / 2) / (kTile + kGap));
        ASSERT_TRUE(tile >= 0 && tile < 3) << r.faceBox[0];
        tiles.insert(tile);
        const std::uint8_t* image = data.image(i);
        EXPECT_GT(test::psnr(alone[static_cast<size_t>(tile)].data(), image, alone[0].size()), 18.0)
            << "face " << r.faceIndex + 1 << " of the group, person " << tile;
    }
    EXPECT_EQ(keys.size(), 4u) << "every face has a name of its own";
    EXPECT_EQ(tiles.size(), 3u) << "each person once";
    // Row i of landmarks.f32 is record i's face: its landmarks' centre lies in its box.
    for (size_t i = 0; i < data.count(); ++i) {
        const Record& r = data.records()[i];
        const float* points = data.landmarks(i);
        ASSERT_NE(points, nullptr) << recordKey(r);
        float x = 0, y = 0;
        for (int p = 0; p < kLandmarkPoints; ++p) {
            x += points[2 * p] / kLandmarkPoints;
            y += points[2 * p + 1] / kLandmarkPoints;
        }
        EXPECT_TRUE(x > r.faceBox[0] && x < r.faceBox[2] && y > r.faceBox[1] && y < r.faceBox[3]) << recordKey(r);
    }

    // Exported as a CSV (a face column says which face), the faces read back as the same faces.
    exportCsvDataset(data, {}, dir / "faces.csv");
    EXPECT_NE(readFile(dir / "faces.csv").find("path,age,gender,split,face\n"), std::string::npos);
    PrepareParams again = params;
    again.source = "csv:" + (dir / "faces.csv").string();
    again.everyFace = false;
    again.outDir = dir / "again";
    EXPECT_EQ(PrepareJob(again).run().report.imagesStored, 4u);
    EXPECT_EQ(readFile(dir / "again" / PreparedDataset::kImages), readFile(params.outDir / PreparedDataset::kImages));

    // A review that excludes one face of the group excludes that face alone.
    const std::string photo = (dir / "photos" / "group.jpg").string();
    writeFileAtomic(dir / "review.csv", std::string(ReviewFile::kHeader) + "\n" + photo + "#face2,exclude,,,r,t\n");
    PrepareParams reviewed = params;
    reviewed.review = dir / "review.csv";
    reviewed.outDir = dir / "reviewed";
    EXPECT_EQ(PrepareJob(reviewed).run().report.imagesStored, 3u);
    const PreparedDataset kept = PreparedDataset::open(reviewed.outDir);
    for (const Record& r : kept.records())
        EXPECT_NE(recordKey(r), photo + "#face2");

    // The best face only (the default): the group photo is one record, which "more than one face"
    // removes unless it is switched off.
    params.everyFace = false;
    params.outDir = dir / "best";
    const PrepareReport best = PrepareJob(params).run().report;
    EXPECT_EQ(best.framing.detected, 0u) << "the findings came from the cache, every face with them";
    EXPECT_EQ(best.imagesStored, 1u);
    EXPECT_EQ(best.steps[1].removed, 1u);
    params.cleaning.dropMultipleFaces = false;
    params.outDir = dir / "best-kept";
    EXPECT_EQ(PrepareJob(params).run().report.imagesStored, 2u);

    params.everyFace = true;
    params.framing = Framing::CentreCrop;
    params.outDir = dir / "centre";
    EXPECT_THROW(PrepareJob(params).run(), Error) << "every face needs faces found";
    EXPECT_FALSE(fs::exists(dir / "centre"));
}

TEST(FaceAlignTest, LandmarksThatGiveNoUsableTransformAreCentreCroppedNotAnAssertion)
{
    cv::Mat rgb(120, 90, CV_8UC3, cv::Scalar(30, 120, 200));
    cv::rectangle(rgb, cv::Rect(10, 10, 30, 50), cv::Scalar(250, 10, 10), cv::FILLED);
    std::vector<std::uint8_t> expected(32 * 32 * 3), out(32 * 32 * 3);
    centreSquareRgb(rgb, 32, expected.data());
    FaceFinding f;
    f.faces = 1;
    f.score = 1;
    f.box = {10, 10, 60, 60};
    // Every point on top of the others (an extreme scale), then far outside the picture, then NaN.
    for (const float value : {20.0f, 3e7f, std::numeric_limits<float>::quiet_NaN()}) {
        f.landmarks.fill(value);
        ASSERT_NO_THROW(frameDecodedFace(rgb, &f, 32, out.data())) << value;
        EXPECT_EQ(out, expected) << value;
    }
    // Points millions of pixels apart: the whole picture would shrink below a pixel.
    for (size_t i = 0; i < f.landmarks.size(); ++i)
        f.landmarks[i] = static_cast<float>(i) * 1e6f;
    ASSERT_NO_THROW(frameDecodedFace(rgb, &f, 32, out.data()));
    EXPECT_EQ(out, expected);
}
