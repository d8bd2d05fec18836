#include "data/PrepareJob.h"
#include "analysis/SliceJob.h"
#include "data/CsvExport.h"
#include "data/FaceDetections.h"
#include "data/FaceQuality.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/PrepareSteps.h"
#include "data/Provenance.h"
#include "data/QualityMetrics.h"
#include "data/Readers.h"
#include "data/ReviewFile.h"
#include "data/SourceColumns.h"
#include "ErrorOf.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mutex>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/quality.hpp>
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

namespace {

/** The source read and its pictures probed, as the Dataset page has them before Prepare. */
std::pair<LoadedDataset, std::vector<ImageProbe>> readAndProbe(const std::string& spec)
{
    LoadedDataset dataset = openSource(spec);
    std::vector<ImageProbe> probes;
    for (const Record& r : dataset.records)
        probes.push_back(probeImage(r.path));
    return {std::move(dataset), std::move(probes)};
}

void expectSameSteps(const std::vector<StepReport>& preview, const std::vector<StepReport>& prepared,
                     const std::string& what)
{
    ASSERT_EQ(preview.size(), prepared.size()) << what;
    for (size_t k = 0; k < preview.size(); ++k) {
        EXPECT_EQ(preview[k].name, prepared[k].name) << what;
        EXPECT_EQ(preview[k].removed, prepared[k].removed) << what << ": " << prepared[k].name;
        EXPECT_EQ(preview[k].remaining, prepared[k].remaining) << what << ": " << prepared[k].name;
        EXPECT_EQ(preview[k].notApplicable, prepared[k].notApplicable) << what << ": " << prepared[k].name;
        EXPECT_EQ(preview[k].enabled, prepared[k].enabled) << what << ": " << prepared[k].name;
    }
}

} // namespace

TEST(PrepareJobTest, TheStepPreviewCountsWhatPrepareRemovesWhateverTheSettingsAndReview)
{
    FACEATLAS_REQUIRE_SHARED_DATA("utkface/images");
    if (!std::filesystem::is_regular_file(landmarkModelPath()))
        GTEST_SKIP() << landmarkModelPath() << " is absent (Debian's libdlib-data installs it)";
    namespace fs = std::filesystem;
    TempDir dir;
    fs::create_directories(dir / "faces");
    // Real faces of every age (some outside 15-65), a group photo of three of them (the "more than
    // one face" step), and a grey picture with no face (the face-score step).
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(test::sharedData() / "utkface" / "images"))
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    constexpr size_t kFaces = 36;
    ASSERT_GE(files.size(), kFaces);
    for (size_t i = 0; i < kFaces; ++i) {
        const fs::path& file = files[i * files.size() / kFaces];
        fs::create_symlink(file, dir / "faces" / file.filename());
    }
    cv::Mat group(320, 3 * 200 + 4 * 60, CV_8UC3, cv::Scalar(128, 128, 128));
    for (int t = 0; t < 3; ++t)
        cv::imread(files[static_cast<size_t>(t) * files.size() / 3].string())
            .copyTo(group(cv::Rect(60 + t * 260, 60, 200, 200)));
    cv::imwrite((dir / "faces" / "30_0_0_20170101000000000.jpg.chip.jpg").string(), group);
    cv::imwrite((dir / "faces" / "40_1_0_20170101000000001.jpg.chip.jpg").string(),
                cv::Mat(200, 200, CV_8UC3, cv::Scalar(90, 90, 90)));

    PrepareParams params;
    params.source = "utkface:" + (dir / "faces").string();
    params.outDir = dir / "prepared";
    params.size = 32;
    params.cleaning.balanceAges = false;
    const auto [dataset, probes] = readAndProbe(params.source);
    ASSERT_EQ(dataset.records.size(), kFaces + 2);

    // Cold cache: the preview runs no detector and says how many pictures it has not looked at.
    const StepPreview cold = previewSteps(dataset, probes, params);
    EXPECT_EQ(cold.needDetection, kFaces + 2) << "every readable photo, whatever the age range";
    EXPECT_EQ(cold.notLooked, cold.needDetection);
    EXPECT_FALSE(cold.exact());
    ASSERT_EQ(cold.steps.size(), 7u);
    EXPECT_EQ(cold.steps[2].removed, 0u) << "nothing looked at, nothing known of face scores";

    // "Detect faces now": the detector fills the cache Prepare reads; the preview is then exact.
    const StepPreview detected = previewSteps(dataset, probes, params, FindFaces::Detect);
    EXPECT_TRUE(detected.exact());
    const StepPreview warm = previewSteps(dataset, probes, params);
    EXPECT_TRUE(warm.exact());
    EXPECT_EQ(warm.notLooked, 0u);
    expectSameSteps(warm.steps, detected.steps, "cached and detected");
    EXPECT_EQ(warm.steps[1].removed, 1u) << "the group photo";
    EXPECT_GE(warm.steps[2].removed, 1u) << "the grey picture";
    EXPECT_GT(warm.steps[3].removed, 0u) << "ages outside 15-65";

    const PrepareReport prepared = PrepareJob(params).run().report;
    EXPECT_EQ(prepared.framing.detected, 0u) << "Prepare detects nothing the preview's detection found";
    expectSameSteps(warm.steps, prepared.steps, "preview and Prepare");
    // prepared.json keeps the counts the Dataset page shows after Prepare and after a restart.
    const auto manifest = nlohmann::json::parse(readFile(params.outDir / PreparedDataset::kManifest));
    ASSERT_EQ(manifest["report"]["steps"].size(), prepared.steps.size());
    for (size_t k = 0; k < prepared.steps.size(); ++k)
        EXPECT_EQ(manifest["report"]["steps"][k]["removed"], prepared.steps[k].removed);

    // Other settings and a review (an excluded face, a corrected age) need no other detection,
    // and the counts still agree: which pictures are looked at does not depend on them.
    params.cleaning.ageMin = 25;
    params.cleaning.ageMax = 45;
    params.cleaning.minDetectorScore = 0.5;
    const std::string excludedFace = dataset.records[5].path;
    const std::string corrected = dataset.records[6].path;
    writeFileAtomic(dir / "review.csv", std::string(ReviewFile::kHeader) + "\n" + excludedFace + ",exclude,,,r,t\n"
                                            + corrected + ",age," + std::to_string(dataset.records[6].age.value_or(0))
                                            + ",30,r,t\n");
    params.review = dir / "review.csv";
    params.outDir = dir / "reviewed";
    const StepPreview reviewed = previewSteps(dataset, probes, params);
    EXPECT_TRUE(reviewed.exact());
    const PrepareReport again = PrepareJob(params).run().report;
    EXPECT_EQ(again.framing.detected, 0u);
    ASSERT_EQ(again.steps.back().name, "excluded in review");
    expectSameSteps(reviewed.steps, again.steps, "with a review and other settings");
}

TEST(PrepareJobTest, PreparedJsonNamesTheReviewDecisionsItApplied)
{
    // The Dataset page shows a preparation's step counts only while the review file still holds
    // the decisions it applied (settings.review_decisions): a decision since then changes the counts.
    TempDir dir;
    PrepareParams params;
    params.source = "demo:40";
    params.outDir = dir / "p";
    params.size = 16;
    params.review = dir / "review.csv";
    const auto [dataset, probes] = readAndProbe(params.source);
    {
        ReviewFile review = ReviewFile::load(params.review);
        review.append({dataset.records[3].path, ReviewAction::Exclude, "", "", "r", ""});
        review.append({dataset.records[4].path, ReviewAction::Age, "", "30", "r", ""});
    }
    PrepareJob(params).run();
    const auto manifest = nlohmann::json::parse(readFile(params.outDir / PreparedDataset::kManifest));
    const auto fingerprint = [&] { return reviewFingerprint(*loadPrepareReview(params, dataset)); };
    const std::string applied = fingerprint();
    EXPECT_EQ(manifest.at("settings").at("review_decisions").get<std::string>(), applied);
    EXPECT_EQ(applied.substr(0, 2), "2:");

    ReviewFile review = ReviewFile::load(params.review);
    review.append({"/another/dataset/face.jpg", ReviewAction::Exclude, "", "", "elsewhere", ""});
    EXPECT_EQ(fingerprint(), applied) << "another dataset's decision is not this one's";
    review.append({dataset.records[5].path, ReviewAction::Exclude, "", "", "r", ""});
    const std::string more = fingerprint();
    EXPECT_NE(more, applied) << "a new exclusion";
    review.append({dataset.records[4].path, ReviewAction::Age, "", "31", "r", ""});
    EXPECT_NE(fingerprint(), more) << "another corrected age";
    review.append({dataset.records[4].path, ReviewAction::Age, "", "30", "r", ""});
    EXPECT_EQ(fingerprint(), more) << "the age as it was: the same decisions";
    review.append({dataset.records[5].path, ReviewAction::Undo, "", "", "r", ""});
    EXPECT_EQ(fingerprint(), applied) << "the exclusion undone: what was applied";

    // Without a review, no fingerprint.
    params.review.clear();
    params.outDir = dir / "plain";
    PrepareJob(params).run();
    EXPECT_FALSE(nlohmann::json::parse(readFile(params.outDir / PreparedDataset::kManifest))
                     .at("settings")
                     .contains("review_decisions"));
}

TEST(PrepareJobTest, ACancelledStepPreviewStopsBeforeCountingAndReadsNoFindingsCache)
{
    // The Dataset page's preview runs on the interactive lane: a newer request or the window's
    // close cancels it, and it returns without counting.
    TempDir dir;
    const PrepareParams params = mixedCsvParams(dir);
    const auto [dataset, probes] = readAndProbe(params.source);
    CancelToken cancel;
    cancel.requestCancel();
    const StepPreview preview = previewSteps(dataset, probes, params, FindFaces::CachedOnly, cancel);
    EXPECT_TRUE(preview.cancelled);
    EXPECT_TRUE(preview.steps.empty());
    std::vector<std::string> paths;
    for (const Record& r : dataset.records)
        paths.push_back(r.path);
    const DetectionPass pass = cachedFaces(paths, probes, std::vector<char>(paths.size(), 1), cancel);
    EXPECT_TRUE(pass.cancelled);
    EXPECT_EQ(std::count(pass.looked.begin(), pass.looked.end(), 1), 0);
    // Not cancelled: counted as always.
    const StepPreview counted = previewSteps(dataset, probes, params);
    EXPECT_FALSE(counted.cancelled);
    EXPECT_EQ(counted.steps.size(), 7u);
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

// Issue 27: a CSV's further columns (kept as text) survive prepare, export and preparing the export.
TEST(PrepareJobTest, CsvColumnsAreKeptThroughPrepareExportAndReRead)
{
    TempDir dir;
    const auto writeSource = [&](const std::string& file, const std::string& firstSite) {
        std::string csv = "path,age,site,gender,Camera Model\n";
        for (int i = 0; i < 4; ++i) {
            const std::string name = "f" + std::to_string(i) + ".jpg";
            test::writeBytes(dir / "img" / name, test::makeJpeg(100 + i, 110, i));
            csv += "img/" + name + "," + std::to_string(30 + i) + ","
                   + (i == 0 ? firstSite : "site " + std::to_string(i)) + ",F,\"cam, " + std::to_string(i % 2) + "\"\n";
        }
        csv += "img/f1.jpg,31,repeat,F,x\n"; // a repeat: the first row's values are kept, as parseCsv keeps its labels
        csv += "img/missing.jpg,40,gone,M,y\n";
        test::writeBytes(dir / file, csv);
        return dir / file;
    };
    const auto prepare = [&](const std::filesystem::path& csv, const std::string& out) {
        PrepareParams params;
        params.source = "csv:" + csv.string();
        params.outDir = dir / out;
        params.size = 32;
        params.cleaning.valCount = 1;
        params.framing = Framing::CentreCrop;
        PrepareJob(params).run();
        return PreparedDataset::open(dir / out);
    };
    const PreparedDataset first = prepare(writeSource("a.csv", "north"), "prepared");
    ASSERT_EQ(first.count(), 4u);
    const SourceColumns columns = readPreparedColumns(first);
    ASSERT_EQ(columns.names, (std::vector<std::string>{"site", "Camera Model"}));
    ASSERT_EQ(columns.rows.size(), 4u);
    for (size_t i = 0; i < first.count(); ++i) {
        const std::string stem = std::filesystem::path(first.records()[i].path).stem().string();
        const int k = stem.back() - '0';
        EXPECT_EQ(columns.rows[i][0], k == 0 ? "north" : "site " + std::to_string(k)) << stem;
        EXPECT_EQ(columns.rows[i][1], "cam, " + std::to_string(k % 2)) << stem;
    }

    // Other values in the same file are another preparation: the fingerprint holds the columns.
    const PreparedDataset other = prepare(writeSource("a.csv", "south"), "prepared-b");
    EXPECT_NE(datasetFingerprint(first), datasetFingerprint(other));

    // Exported and prepared again: the same columns for the same faces.
    const auto exported = dir / "export.csv";
    ASSERT_EQ(exportCsvDataset(first, {}, exported), 4u);
    EXPECT_EQ(readFile(exported).substr(0, readFile(exported).find('\n')), "path,age,gender,split,site,Camera Model");
    const PreparedDataset again = prepare(exported, "prepared-again");
    const SourceColumns reread = readPreparedColumns(again);
    ASSERT_EQ(reread.names, columns.names);
    ASSERT_EQ(again.count(), first.count());
    for (size_t i = 0; i < again.count(); ++i) {
        const auto at = std::find_if(first.records().begin(), first.records().end(),
                                     [&](const Record& r) { return r.path == again.records()[i].path; });
        ASSERT_NE(at, first.records().end());
        EXPECT_EQ(reread.rows[i], columns.rows[at - first.records().begin()]);
    }

    // A changed side file is refused, naming it.
    test::writeBytes(dir / "prepared" / "columns.csv", sourceColumnsCsv(columns) + "extra,row\n");
    try {
        readPreparedColumns(PreparedDataset::open(dir / "prepared"));
        FAIL() << "a changed columns.csv was read";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("columns.csv"), std::string::npos) << e.what();
    }
}

// A source's further columns never fail a preparation: past the limits they are dropped or cut, and said.
TEST(PrepareJobTest, CsvColumnsPastTheLimitsAreKeptInPartAndSaid)
{
    std::string header = "path", row = "a.jpg";
    for (size_t k = 0; k < kMaxSourceColumns + 8; ++k) {
        header += ",c" + std::to_string(k);
        row += ",v" + std::to_string(k);
    }
    const SourceColumnTable wide = parseSourceColumns(header + "\n" + row + "\n", "/data", "wide.csv");
    ASSERT_EQ(wide.names.size(), kMaxSourceColumns);
    EXPECT_EQ(wide.names.back(), "c" + std::to_string(kMaxSourceColumns - 1));
    ASSERT_EQ(wide.byKey.size(), 1u);
    EXPECT_EQ(wide.byKey.begin()->second.back(), "v" + std::to_string(kMaxSourceColumns - 1));
    ASSERT_FALSE(wide.notes.empty());
    EXPECT_NE(wide.notes[0].find("wide.csv: kept 32 of 40 further columns"), std::string::npos) << wide.notes[0];
    EXPECT_NE(wide.notes[0].find("c39"), std::string::npos) << wide.notes[0];

    // A long value is cut at a character's end (255 bytes, then a 2-byte character across the limit).
    const std::string caption = std::string(kMaxSourceColumnValue - 1, 'x') + "\xC3\xA9" + std::string(40, 'y');
    const SourceColumnTable longer =
        parseSourceColumns("path,note\na.jpg,short\nb.jpg," + caption + "\n", "/data", "long.csv");
    ASSERT_EQ(longer.byKey.size(), 2u);
    EXPECT_EQ(longer.byKey.at("/data/b.jpg")[0], std::string(kMaxSourceColumnValue - 1, 'x'));
    EXPECT_EQ(longer.byKey.at("/data/a.jpg")[0], "short");
    ASSERT_EQ(longer.notes.size(), 1u);
    EXPECT_NE(longer.notes[0].find("long.csv: column 'note': 1 values over 256 bytes"), std::string::npos)
        << longer.notes[0];

    // A repeated name: the first column is kept, the second dropped.
    const SourceColumnTable twice = parseSourceColumns("path,x,x\na.jpg,1,2\n", "/data", "twice.csv");
    EXPECT_EQ(twice.names, std::vector<std::string>{"x"});
    EXPECT_EQ(twice.byKey.at("/data/a.jpg"), std::vector<std::string>{"1"});
    ASSERT_EQ(twice.notes.size(), 1u);
    // Only the columns FaceAtlas does not read itself; none: an empty table.
    EXPECT_TRUE(parseSourceColumns("path,age,gender,split,face,\na.jpg,3,F,val,1,\n", "/d", "w").names.empty());
    const SourceColumnTable table = parseSourceColumns("file,note\n/d/a.jpg,one\n", "/d", "w");
    ASSERT_EQ(table.byKey.size(), 1u);
}

// The columns are of the row the record came from: a row parseCsv refuses gives no values, even
// when it comes first (parseSourceColumns once read the rows by its own rules).
TEST(PrepareJobTest, CsvColumnsComeFromTheRowTheRecordCameFrom)
{
    const std::string text = "path,age,gender,face,site\n"
                             "img/f0.jpg,abc,F,,WRONG\n" // age not a number: malformed
                             "img/f0.jpg,30,F,,right\n"
                             "img/f1.jpg,31,X,,WRONG\n" // gender: malformed
                             "img/f1.jpg,31,F,,right\n"
                             "img/f2.jpg,32,F,0,WRONG\n" // face 0: malformed
                             "img/f2.jpg,32,F,,right\n"
                             "img/f3.jpg,33,F,65,WRONG\n" // face over kMaxFacesKept: malformed
                             "img/f3.jpg,33,F,1,right\n"
                             "img/f4.jpg,34,F,,right\n"
                             "img/f4.jpg,35,F,,WRONG\n"; // a repeat: the first is kept
    const LoadedDataset dataset = parseCsv(text, "/data", "rows.csv");
    const SourceColumnTable table = parseSourceColumns(text, "/data", "rows.csv");
    ASSERT_EQ(dataset.records.size(), 5u);
    EXPECT_EQ(table.byKey.size(), dataset.records.size());
    const SourceColumns columns = columnsFor(table, dataset.records);
    for (size_t i = 0; i < dataset.records.size(); ++i)
        EXPECT_EQ(columns.rows[i], std::vector<std::string>{"right"}) << dataset.records[i].path;
}

// Names and values that are not UTF-8 (a Latin-1 file) are kept with U+FFFD, the same in
// prepared.json and columns.csv, so the preparation reads back and exports.
TEST(PrepareJobTest, CsvColumnsThatAreNotUtf8AreKeptAsUtf8)
{
    TempDir dir;
    std::string csv = "path,age,gender,R\xE9gion\n";
    for (int i = 0; i < 3; ++i) {
        const std::string name = "f" + std::to_string(i) + ".jpg";
        test::writeBytes(dir / "img" / name, test::makeJpeg(100 + i, 110, i));
        csv += "img/" + name + "," + std::to_string(30 + i) + ",F,Mont\xE9r\xE9gie " + std::to_string(i) + "\n";
    }
    test::writeBytes(dir / "latin1.csv", csv);
    PrepareParams params;
    params.source = "csv:" + (dir / "latin1.csv").string();
    params.outDir = dir / "prepared";
    params.size = 32;
    params.cleaning.valCount = 1;
    params.framing = Framing::CentreCrop;
    PrepareJob(params).run();
    const PreparedDataset data = PreparedDataset::open(params.outDir);
    EXPECT_EQ(preparedColumnNames(data), std::vector<std::string>{"R\xEF\xBF\xBDgion"});
    const SourceColumns columns = readPreparedColumns(data);
    ASSERT_EQ(columns.rows.size(), 3u);
    EXPECT_EQ(columns.rows[0][0].rfind("Mont\xEF\xBF\xBDr\xEF\xBF\xBDgie ", 0), 0u) << columns.rows[0][0];
    EXPECT_EQ(exportCsvDataset(data, {}, dir / "export.csv"), 3u);
    EXPECT_EQ(readFile(dir / "export.csv").substr(0, readFile(dir / "export.csv").find('\n')),
              "path,age,gender,split,R\xEF\xBF\xBDgion");
    // The report says what changed.
    const auto report = nlohmann::json::parse(data.manifestJson()).at("report");
    ASSERT_TRUE(report.contains("column_notes")) << report.dump();
    EXPECT_NE(report.at("column_notes").dump().find("valid UTF-8"), std::string::npos);
}

// A prepare whose CSV has 40 further columns and a 300-byte caption prepares, keeping what it can.
TEST(PrepareJobTest, CsvColumnsPastTheLimitsNeverFailAPreparation)
{
    TempDir dir;
    std::string csv = "path,age,gender";
    for (int k = 0; k < 40; ++k)
        csv += ",attr" + std::to_string(k);
    csv += ",caption\n";
    for (int i = 0; i < 3; ++i) {
        const std::string name = "f" + std::to_string(i) + ".jpg";
        test::writeBytes(dir / "img" / name, test::makeJpeg(100 + i, 110, i));
        csv += "img/" + name + "," + std::to_string(30 + i) + ",F";
        for (int k = 0; k < 40; ++k)
            csv += k % 2 ? ",1" : ",-1";
        csv += "," + std::string(300, 'c') + "\n";
    }
    test::writeBytes(dir / "celeba.csv", csv);
    PrepareParams params;
    params.source = "csv:" + (dir / "celeba.csv").string();
    params.outDir = dir / "prepared";
    params.size = 32;
    params.cleaning.valCount = 1;
    params.framing = Framing::CentreCrop;
    const PrepareResult result = PrepareJob(params).run();
    ASSERT_FALSE(result.report.columnNotes.empty());
    EXPECT_NE(result.report.columnNotes[0].find("kept 32 of 41 further columns"), std::string::npos)
        << result.report.columnNotes[0];
    const PreparedDataset data = PreparedDataset::open(params.outDir);
    const SourceColumns columns = readPreparedColumns(data);
    ASSERT_EQ(columns.names.size(), kMaxSourceColumns);
    EXPECT_EQ(columns.names.back(), "attr31");
}

// A column named as a slice grouping (an attribute, "cluster", "all", a face set) is kept as
// csv_NAME, so the Slices page and the CLI cannot take it for the other; two given attributes of
// one name are refused by the slice job rather than one of them chosen by order.
TEST(PrepareJobTest, CsvColumnsNamedAsAGroupingAreRenamed)
{
    const SourceColumnTable table = parseSourceColumns(
        "path,race,Cluster,all,selection 2,subset,age_decade,site,csv_race\na.jpg,r,c,a,s,t,d,x,y\n", "/d", "g.csv");
    EXPECT_EQ(table.names, (std::vector<std::string>{"csv_race", "csv_Cluster", "csv_all", "csv_selection 2",
                                                     "csv_subset", "csv_age_decade", "site"}));
    EXPECT_EQ(table.byKey.at("/d/a.jpg"), (std::vector<std::string>{"r", "c", "a", "s", "t", "d", "x"}));
    EXPECT_EQ(table.notes.size(), 7u); // six renamed, the file's own csv_race dropped as a repeat

    TempDir dir;
    test::writeBytes(dir / "img" / "a.jpg", test::makeJpeg(100, 110, 0));
    test::writeBytes(dir / "img" / "b.jpg", test::makeJpeg(101, 110, 1));
    test::writeBytes(dir / "s.csv", "path,age,site\nimg/a.jpg,30,north\nimg/b.jpg,40,south\n");
    PrepareParams params;
    params.source = "csv:" + (dir / "s.csv").string();
    params.outDir = dir / "prepared";
    params.size = 32;
    params.cleaning.valCount = 1;
    params.framing = Framing::CentreCrop;
    PrepareJob(params).run();
    const PreparedDataset data = PreparedDataset::open(params.outDir);
    SliceJobParams p;
    p.run = dir / "no-run"; // refused before the model would be loaded
    p.allFaces = true;
    p.groupings = {{"site"}};
    const std::vector<std::string> site = readPreparedColumns(data).values(0);
    p.extraAttributes = {{"site", site}, {"site", site}};
    try {
        runSliceJob(data, p);
        FAIL() << "two attributes of one name were taken";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("two attributes are named 'site'"), std::string::npos) << e.what();
    }
}

// Issue 29's quality columns: measured at prepare on each stored face, kept in quality.f32.
namespace {

/**
 * A fixed 64 x 64 RGB picture, the same bytes on every machine: a lit oval with two dark eyes and a
 * seeded LCG's noise (of an amplitude that leaves BRISQUE's score mid-range, not clamped at 0 or 100).
 */
std::vector<std::uint8_t> knownFace()
{
    std::vector<std::uint8_t> rgb(64 * 64 * 3);
    std::uint32_t state = 12345;
    for (int y = 0; y < 64; ++y)
        for (int x = 0; x < 64; ++x)
            for (int c = 0; c < 3; ++c) {
                state = state * 1664525u + 1013904223u;
                const int noise = (static_cast<int>(state >> 28) - 8) * 7 / 8;
                const double dx = (x - 32) / 20.0, dy = (y - 30) / 26.0;
                const double lit = 150 * std::exp(-(dx * dx + dy * dy));
                const double eyes = (std::abs(x - 22) < 4 || std::abs(x - 42) < 4) && std::abs(y - 26) < 2 ? -60 : 0;
                const int v = static_cast<int>(40 + lit + eyes + 10 * c) + noise;
                rgb[(static_cast<size_t>(y) * 64 + x) * 3 + c] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
            }
    return rgb;
}

} // namespace

TEST(FaceQualityTest, TheColumnsAreOpenCvsMeasuresOfTheStoredFace)
{
    std::vector<std::uint8_t> rgb = knownFace();
    const auto q = measureFaceQuality(rgb.data(), 64);
    // The same measures, computed here directly with OpenCV.
    const cv::Mat face(64, 64, CV_8UC3, rgb.data());
    cv::Mat grey, laplacian, bgr;
    cv::cvtColor(face, grey, cv::COLOR_RGB2GRAY);
    cv::Laplacian(grey, laplacian, CV_64F);
    cv::Scalar mean, sd;
    cv::meanStdDev(laplacian, mean, sd);
    EXPECT_NEAR(q[0], sd[0] * sd[0], 1e-3 * sd[0] * sd[0]) << "sharpness: the variance of the Laplacian";
    cv::meanStdDev(grey, mean, sd);
    EXPECT_NEAR(q[1], mean[0], 1e-4) << "brightness";
    EXPECT_NEAR(q[2], sd[0], 1e-4) << "contrast";
    cv::Mat channels[3], rg, yb;
    face.convertTo(bgr, CV_32FC3);
    cv::split(bgr, channels); // R, G, B (the face is RGB)
    rg = channels[0] - channels[1];
    yb = 0.5 * (channels[0] + channels[1]) - channels[2];
    cv::Scalar mRg, sRg, mYb, sYb;
    cv::meanStdDev(rg, mRg, sRg);
    cv::meanStdDev(yb, mYb, sYb);
    const double colourfulness =
        std::sqrt(sRg[0] * sRg[0] + sYb[0] * sYb[0]) + 0.3 * std::sqrt(mRg[0] * mRg[0] + mYb[0] * mYb[0]);
    EXPECT_NEAR(q[3], colourfulness, 1e-3) << "colourfulness (Hasler and Suesstrunk)";
    cv::cvtColor(face, bgr, cv::COLOR_RGB2BGR);
    const BrisqueModel model = brisqueModelFiles();
    const double brisque = cv::quality::QualityBRISQUE::compute(bgr, model.model, model.range)[0];
    EXPECT_NEAR(q[4], brisque, 1e-3) << "BRISQUE, as OpenCV's own call scores the face";
    // The known picture's score with OpenCV 4.6's LIVE model (a regression pin: a change of model,
    // colour order or resampling moves it).
    EXPECT_NEAR(q[4], 28.527, 1e-3);

    // A missing model file is a clear error naming the package that installs it.
    const char* old = std::getenv("FACEATLAS_BRISQUE_MODELS");
    setenv("FACEATLAS_BRISQUE_MODELS", "/nonexistent-quality-models", 1);
    const std::string missing = errorOf([] { brisqueModelFiles(); });
    old ? setenv("FACEATLAS_BRISQUE_MODELS", old, 1) : unsetenv("FACEATLAS_BRISQUE_MODELS");
    EXPECT_NE(missing.find("/nonexistent-quality-models/brisque_model_live.yml"), std::string::npos) << missing;
    EXPECT_NE(missing.find("opencv-data"), std::string::npos) << missing;
}

TEST(FaceQualityTest, TheSideFileIsCheckedBeforeItSizesAnything)
{
    const std::vector<float> values(3 * kQualityColumnCount, 1.5f);
    const std::string bytes = qualityBytes(values);
    const nlohmann::json entry = qualityManifest(3, bytes);
    const FaceQuality good = parseQuality(entry, bytes, 3, "q.f32");
    EXPECT_EQ(good.rows, 3u);
    EXPECT_EQ(good.names.size(), kQualityColumnCount);
    EXPECT_EQ(good.at(2, 4), 1.5f);

    EXPECT_NE(errorOf([&] { parseQuality(entry, bytes.substr(0, bytes.size() - 4), 3, "q.f32"); }).find("truncated"),
              std::string::npos);
    EXPECT_NE(errorOf([&] { parseQuality(entry, bytes, 4, "q.f32"); }).find("3 rows for the preparation's 4"),
              std::string::npos);
    nlohmann::json huge = entry;
    huge["rows"] = 1ull << 60; // a count from the file: refused before it sizes anything
    EXPECT_NE(errorOf([&] { parseQuality(huge, bytes, 3, "q.f32"); }).find("rows for the preparation's 3"),
              std::string::npos);
    std::string flipped = bytes;
    flipped[5] ^= 1;
    EXPECT_NE(errorOf([&] { parseQuality(entry, flipped, 3, "q.f32"); }).find("changed since"), std::string::npos);
    nlohmann::json unknown = entry;
    unknown["columns"][1] = "prettiness";
    EXPECT_NE(errorOf([&] { parseQuality(unknown, bytes, 3, "q.f32"); }).find("prettiness"), std::string::npos);
    nlohmann::json repeated = entry;
    repeated["columns"][1] = "sharpness";
    EXPECT_NE(errorOf([&] { parseQuality(repeated, bytes, 3, "q.f32"); }).find("repeated"), std::string::npos);
    EXPECT_NE(errorOf([&] { parseQuality(nlohmann::json::object(), bytes, 3, "q.f32"); }).find("q.f32"),
              std::string::npos);
}

TEST(FaceQualityTest, APreparationsColumnsAreReadAfterReopenAndAbsentFromAnOlderOne)
{
    namespace fs = std::filesystem;
    TempDir dir;
    PrepareParams params;
    params.source = "demo:120";
    params.outDir = dir / "prepared";
    params.threads = 2;
    const PrepareResult first = PrepareJob(params).run();
    EXPECT_GT(first.report.qualitySeconds, 0);
    {
        const PreparedDataset data = PreparedDataset::open(params.outDir);
        const FaceQuality quality = readPreparedQuality(data);
        ASSERT_EQ(quality.rows, data.count());
        ASSERT_EQ(quality.names, preparedQualityNames(data));
        for (size_t i = 0; i < data.count(); i += 17) {
            const auto row = measureFaceQuality(data.image(i), data.imageSize());
            for (size_t k = 0; k < kQualityColumnCount; ++k)
                EXPECT_EQ(quality.at(i, k), row[k]) << "face " << i << " column " << quality.names[k];
        }
        // The export's columns are these values.
        exportCsvDataset(data, {}, dir / "out.csv", true);
        const std::string csv = readFile(dir / "out.csv");
        EXPECT_EQ(csv.substr(0, csv.find('\n')),
                  "path,age,gender,split,sharpness,brightness,contrast,colourfulness,brisque");
    }
    // A second run reuses the image cache, and the quality columns with it.
    const PrepareResult second = PrepareJob(params).run();
    EXPECT_TRUE(second.report.imagesReused);
    EXPECT_EQ(second.report.qualitySeconds, 0);
    const PreparedDataset again = PreparedDataset::open(params.outDir);
    EXPECT_EQ(readPreparedQuality(again).rows, again.count());

    // The file truncated under the manifest: an Error naming it.
    const std::string bytes = readFile(params.outDir / kQualityFile);
    test::writeBytes(params.outDir / kQualityFile, bytes.substr(0, bytes.size() / 2));
    const std::string truncated = errorOf([&] { readPreparedQuality(again); });
    EXPECT_NE(truncated.find(kQualityFile), std::string::npos) << truncated;

    // A preparation from before the quality columns: it opens, the columns are absent, and asking says why.
    nlohmann::json manifest = nlohmann::json::parse(readFile(params.outDir / PreparedDataset::kManifest));
    manifest.erase("quality");
    test::writeBytes(params.outDir / PreparedDataset::kManifest, manifest.dump(2));
    fs::remove(params.outDir / kQualityFile);
    const PreparedDataset older = PreparedDataset::open(params.outDir);
    EXPECT_TRUE(readPreparedQuality(older).empty());
    EXPECT_TRUE(preparedQualityNames(older).empty());
    const std::string asked = errorOf([&] { exportCsvDataset(older, {}, dir / "old.csv", true); });
    EXPECT_NE(asked.find("prepared before FaceAtlas measured image quality"), std::string::npos) << asked;
}

TEST(FaceQualityTest, AQualityStepRemovesWhatThePreviewSaid)
{
    TempDir dir;
    PrepareParams params;
    params.source = "demo:200";
    params.outDir = dir / "prepared";
    params.threads = 2;
    PrepareJob(params).run();
    // The threshold: the median sharpness of the preparation, so about half the faces go.
    std::vector<float> sharpness;
    {
        const PreparedDataset data = PreparedDataset::open(params.outDir);
        sharpness = readPreparedQuality(data).column(0);
    }
    ASSERT_GT(sharpness.size(), 20u);
    std::vector<float> sorted = sharpness;
    std::sort(sorted.begin(), sorted.end());
    const double threshold = sorted[sorted.size() / 2];
    const size_t below =
        static_cast<size_t>(std::count_if(sharpness.begin(), sharpness.end(), [&](float v) { return v < threshold; }));
    ASSERT_GT(below, 0u);

    params.quality.threshold[0] = threshold; // min-sharpness
    const auto [dataset, probes] = readAndProbe(params.source);
    const StepPreview preview = previewSteps(dataset, probes, params);
    ASSERT_FALSE(preview.steps.empty());
    EXPECT_EQ(preview.steps.back().name, qualitySteps()[0].name);
    EXPECT_EQ(preview.steps.back().removed, below);
    EXPECT_EQ(preview.steps.back().notApplicable, 0u) << "every face was measured by the earlier preparation";

    const PrepareResult result = PrepareJob(params).run();
    ASSERT_FALSE(result.report.steps.empty());
    EXPECT_EQ(result.report.steps.back().name, qualitySteps()[0].name);
    EXPECT_EQ(result.report.steps.back().removed, preview.steps.back().removed);
    const PreparedDataset data = PreparedDataset::open(params.outDir);
    EXPECT_EQ(data.count(), sharpness.size() - below);
    const FaceQuality quality = readPreparedQuality(data);
    ASSERT_EQ(quality.rows, data.count());
    for (size_t i = 0; i < data.count(); ++i) {
        EXPECT_GE(quality.at(i, 0), threshold);
        // The image cache kept the rows the quality did: each face still measures as its row says.
        if (i % 13 == 0) {
            EXPECT_EQ(measureFaceQuality(data.image(i), data.imageSize())[0], quality.at(i, 0)) << i;
        }
    }
}
