#include "data/PrepareJob.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cstring>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/file.h>
#include <unistd.h>

using namespace faceatlas;
using faceatlas::test::TempDir;

namespace {

/** A CSV dataset of good and bad files: 6 good JPEGs (one with a non-ASCII name), then the bad ones. */
std::filesystem::path makeMixedCsv(const TempDir& dir)
{
    std::string csv = "path,age,gender\n";
    for (int i = 0; i < 6; ++i) {
        const std::string name = i == 5 ? "Ünïcode_face.jpg" : "good" + std::to_string(i) + ".jpg";
        test::writeBytes(dir / "img" / std::filesystem::u8path(name), test::makeJpeg(120 + i, 130, i));
        csv += "img/" + name + "," + std::to_string(20 + 5 * i) + ",F\n";
    }
    const std::string jpeg = test::makeJpeg(150, 150, 9);
    test::writeBytes(dir / "img" / "truncated.jpg", jpeg.substr(0, jpeg.size() * 2 / 3));
    test::writeBytes(dir / "img" / "zero.jpg", "");
    test::writeBytes(dir / "img" / "text.jpg", "hello, I am text");
    csv += "img/truncated.jpg,30,M\nimg/zero.jpg,30,M\nimg/text.jpg,30,M\nimg/missing.jpg,30,M\n";
    test::writeBytes(dir / "faces.csv", csv);
    return dir / "faces.csv";
}

/** Preparing makeMixedCsv's faces into DIR/prepared at 32 px, two of them for validation. */
PrepareParams mixedCsvParams(const TempDir& dir)
{
    PrepareParams params;
    params.source = "csv:" + makeMixedCsv(dir).string();
    params.outDir = dir / "prepared";
    params.size = 32;
    params.cleaning.valCount = 2;
    params.framing = Framing::CentreCrop; // drawn faces: the detector is tested on real ones below
    return params;
}

} // namespace

TEST(PrepareJobTest, BadFilesAreSkippedListedAndTheRunGoesOn)
{
    TempDir dir;
    PrepareParams params = mixedCsvParams(dir);
    const PrepareResult result = PrepareJob(params).run();
    const PrepareReport& r = result.report;
    EXPECT_EQ(r.recordsRead, 10u);
    EXPECT_EQ(r.imagesStored, 6u);
    EXPECT_EQ(r.steps.front().removed, 4u); // zero, text, missing at the header; truncated at decode
    // The bad files are all removed by the first step: every later step keeps the 6 good ones.
    for (size_t i = 0; i < r.steps.size(); ++i) {
        EXPECT_EQ(r.steps[i].remaining, 6u) << r.steps[i].name;
        if (i > 0)
            EXPECT_EQ(r.steps[i].removed, 0u) << r.steps[i].name;
    }
    ASSERT_EQ(r.skippedFiles.size(), 4u);
    std::set<std::string> names;
    for (const auto& s : r.skippedFiles)
        names.insert(std::filesystem::path(s.path).filename().string() + ":" + s.problem);
    EXPECT_TRUE(names.count("missing.jpg:missing"));
    EXPECT_TRUE(names.count("zero.jpg:empty file"));
    EXPECT_TRUE(names.count("truncated.jpg:truncated JPEG (no end-of-image marker)"));
    EXPECT_EQ(r.val, 2u);
    EXPECT_EQ(r.trainUnique, 4u);

    const PreparedDataset data = PreparedDataset::open(params.outDir);
    EXPECT_EQ(data.count(), 6u);
    EXPECT_EQ(data.imageSize(), 32);
    EXPECT_EQ(data.valIndices().size(), 2u);
}

TEST(PrepareJobTest, CacheRoundTripIsBitExactAndSecondRunReusesIt)
{
    TempDir dir;
    PrepareParams params;
    params.source = "demo:150";
    params.outDir = dir / "prepared";
    params.size = 48;
    const PrepareResult first = PrepareJob(params).run();
    EXPECT_FALSE(first.report.imagesReused);
    const PreparedDataset data = PreparedDataset::open(params.outDir);
    ASSERT_EQ(data.count(), first.report.imagesStored);
    ASSERT_GT(data.count(), 50u); // the demo's cleaning removes some, not most
    std::vector<std::uint8_t> expected(data.imageBytes());
    for (size_t i = 0; i < data.count(); ++i) {
        std::string problem;
        ASSERT_TRUE(decodeSquareRgb(readFile(data.records()[i].path), 48, expected.data(), problem)) << problem;
        ASSERT_EQ(std::memcmp(expected.data(), data.image(i), data.imageBytes()), 0) << "image " << i;
    }
    for (std::uint32_t i : data.trainIndices())
        ASSERT_TRUE(data.records()[i].age && *data.records()[i].age >= 15 && *data.records()[i].age <= 65);

    const PrepareResult second = PrepareJob(params).run();
    EXPECT_TRUE(second.report.imagesReused);
    EXPECT_EQ(second.report.train, first.report.train);
    EXPECT_EQ(PreparedDataset::open(params.outDir).trainIndices(), data.trainIndices());

    params.size = 40; // another size is another cache
    EXPECT_FALSE(PrepareJob(params).run().report.imagesReused);
    EXPECT_EQ(PreparedDataset::open(params.outDir).imageSize(), 40);
}

TEST(PrepareJobTest, ReportJsonHasTheContractFields)
{
    TempDir dir;
    PrepareParams params;
    params.source = "demo:40";
    params.outDir = dir / "p";
    params.size = 24;
    const auto json = nlohmann::json::parse(reportToJson(PrepareJob(params).run().report));
    for (const char* key :
         {"records_read", "steps", "train", "val", "age_histogram_before", "age_histogram_after", "skipped_files"})
        EXPECT_TRUE(json.contains(key)) << key;
    EXPECT_EQ(json["records_read"], 40);
    ASSERT_EQ(json["steps"].size(), 7u);
    EXPECT_EQ(json["steps"][6]["name"], "face smaller than minimum");
    EXPECT_EQ(json["steps"][0]["name"], "missing or unreadable image");
}

namespace {

/**
 * Prepares `params` and cancels it from its own progress callback, in the middle of decoding the
 * images (a later stage than reading and checking: the output folder is being written by then).
 * Returns whether the run said it was cancelled; `cancelledAt` is the progress it was cancelled at.
 */
bool cancelWhileDecoding(const PrepareParams& params, JobProgress& cancelledAt)
{
    CancelToken cancel;
    std::mutex mutex;
    const auto result = PrepareJob(params).run(cancel, [&](const JobProgress& p) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (!cancel.isCancelled() && std::string(p.stage) == "decoding images" && p.done > 0 && p.done < p.total) {
            cancelledAt = p;
            cancel.requestCancel();
        }
    });
    return result.cancelled;
}

/** The names of DIR's entries. */
std::set<std::string> entries(const std::filesystem::path& dir)
{
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        names.insert(e.path().filename().string());
    return names;
}

} // namespace

TEST(PrepareJobTest, CancelLeavesNoFinishedLookingFolder)
{
    TempDir dir;
    PrepareParams params;
    params.source = "demo:150";
    params.outDir = dir / "p";
    params.size = 48;
    // A fresh folder, cancelled while the images are being decoded: nothing that looks finished.
    const std::set<std::string> before = entries(dir.path());
    JobProgress at;
    ASSERT_TRUE(cancelWhileDecoding(params, at));
    ASSERT_STREQ(at.stage, "decoding images"); // the cancel came mid-run, not before it started
    EXPECT_GT(at.done, 0);
    EXPECT_LT(at.done, at.total);
    EXPECT_FALSE(std::filesystem::exists(params.outDir / PreparedDataset::kManifest));
    EXPECT_THROW(PreparedDataset::open(params.outDir), Error);
    for (const auto& name : entries(dir.path()))
        EXPECT_TRUE(before.count(name) || name == "p" || name == ".p.lock") << "left behind: " << name;

    // An earlier preparation in the folder: a cancelled one (another size, so its images are decoded
    // again) leaves it as it was, its manifest and images byte for byte, and still opens.
    const PrepareResult earlier = PrepareJob(params).run();
    ASSERT_FALSE(earlier.cancelled);
    const std::string manifest = readFile(params.outDir / PreparedDataset::kManifest);
    const std::string images = readFile(params.outDir / PreparedDataset::kImages);
    const std::set<std::string> files = entries(params.outDir);
    params.size = 40;
    ASSERT_TRUE(cancelWhileDecoding(params, at));
    EXPECT_LT(at.done, at.total);
    EXPECT_EQ(readFile(params.outDir / PreparedDataset::kManifest), manifest);
    EXPECT_EQ(readFile(params.outDir / PreparedDataset::kImages), images);
    EXPECT_EQ(entries(params.outDir), files);
    const PreparedDataset kept = PreparedDataset::open(params.outDir);
    EXPECT_EQ(kept.imageSize(), 48);
    EXPECT_EQ(kept.count(), earlier.report.imagesStored);
    for (const auto& name : entries(dir.path()))
        EXPECT_NE(name.rfind(".p.tmp-", 0), 0u) << "a cancelled run's temporary folder was left: " << name;
}

TEST(PrepareJobTest, RealUtkFaceSampleAtCapstoneSettings)
{
    FACEATLAS_REQUIRE_SHARED_DATA("utkface/images");
    TempDir dir;
    PrepareParams params;
    params.source = "utkface:" + (test::sharedData() / "utkface" / "images").string();
    params.outDir = dir / "utk";
    params.size = 32;
    const PrepareReport r = PrepareJob(params).run().report;
    EXPECT_EQ(r.recordsRead, 5000u);
    EXPECT_TRUE(r.skippedFiles.empty());
    EXPECT_EQ(r.steps[3].name, "age outside range");
    EXPECT_GT(r.steps[3].removed, 1000u); // UTKFace has many children and old people
    // UTKFace has no face scores: the aligned framing's detector gives them to every face the other
    // steps keep; those it looked at and found no face in are removed.
    EXPECT_EQ(r.framing.framing, Framing::Aligned);
    EXPECT_EQ(r.steps[2].notApplicable, r.steps[0].remaining - r.framing.looked);
    EXPECT_GT(r.steps[2].removed, 0u);
    EXPECT_LT(r.steps[2].removed, r.framing.looked / 20); // at least 95% found
    EXPECT_EQ(r.framing.found, r.imagesStored);
    EXPECT_EQ(r.train + r.val, r.steps.back().remaining);
    // Balanced: every age 15..65 present gets the same count, give or take one.
    size_t lo = SIZE_MAX, hi = 0;
    for (const auto& [age, n] : r.ageHistogramAfter) {
        lo = std::min(lo, n);
        hi = std::max(hi, n);
    }
    EXPECT_LE(hi - lo, 1u);
}

TEST(PrepareJobTest, APreparedFolderIsReplacedWholeAndNeverChangedUnderAReader)
{
    TempDir dir;
    PrepareParams params = mixedCsvParams(dir);
    params.cleaning.minImageSize = 0;
    PrepareJob(params).run();
    // A reader holds the first preparation (its images mapped) while the folder is prepared again.
    const PreparedDataset first = PreparedDataset::open(params.outDir);
    const std::string firstImages(reinterpret_cast<const char*>(first.image(0)), first.count() * first.imageBytes());
    const std::string firstManifest = first.manifestJson();
    // What a killed earlier run left beside it is removed by the next one.
    std::filesystem::create_directories(dir / ".prepared.tmp-999999-0");
    test::writeBytes(dir / ".prepared.tmp-999999-0" / "images.u8", "half");
    params.cleaning.ageMax = 35; // a stricter preparation: fewer images in a smaller file
    const PrepareResult again = PrepareJob(params).run();
    EXPECT_FALSE(again.cancelled);
    const PreparedDataset second = PreparedDataset::open(params.outDir);
    EXPECT_LT(second.count(), first.count());
    EXPECT_NE(second.manifestJson(), firstManifest);
    // The first is unchanged for its reader (not truncated, not rewritten in place).
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(first.image(0)), first.count() * first.imageBytes()),
              firstImages);
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        EXPECT_NE(entry.path().filename().string().rfind(".prepared.tmp-", 0), 0u) << entry.path();
}

TEST(PrepareJobTest, TwoPreparationsOfOneFolderNeverRunAtOnce)
{
    TempDir dir;
    PrepareParams params = mixedCsvParams(dir);
    // Another process holds the folder's lock (as a running prepare does).
    const int fd = ::open((dir / ".prepared.lock").c_str(), O_RDWR | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    try {
        PrepareJob(params).run();
        FAIL() << "a second prepare of a folder being prepared ran";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("another FaceAtlas is writing this folder"), std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(params.outDir));
    ::close(fd);
    EXPECT_NO_THROW(PrepareJob(params).run());
}
