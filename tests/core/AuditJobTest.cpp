#include "analysis/AuditJob.h"
#include "analysis/AuditFiles.h"
#include "data/AuditBaseline.h"
#include "data/CsvExport.h"
#include "data/MetadataChecks.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/Readers.h"
#include "ml/OutOfFold.h"
#include "PlantedFaces.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

using namespace faceatlas;
using faceatlas::test::TempDir;

namespace {

constexpr int kShifted = 15;
constexpr int kCopies = 12;

/** A planted demo dataset (300 faces, 15 ages shifted 20-40 years, 12 copies), prepared at 32 px, made once. */
struct Planted {
    TempDir dir;
    test::PlantedDataset planted;
    std::filesystem::path prepared;
    Planted()
    {
        planted = test::makePlantedDataset(dir / "src", 300, kShifted, kCopies, 5);
        const PrepareParams p = test::keepEveryFace(planted.csv, dir / "prepared", 32);
        PrepareJob(p).run();
        prepared = p.outDir;
    }
};

Planted& planted()
{
    static Planted instance;
    return instance;
}

AuditParams quickAudit(const std::filesystem::path& out)
{
    AuditParams p;
    p.data = planted().prepared;
    p.out = out;
    p.folds = 3;
    p.epochs = 8;
    p.device = "cpu";
    p.seed = 2;
    return p;
}

Record imdbRecord(int birthYear, int photoYear)
{
    Record r;
    r.path = "/x.jpg";
    r.dob = static_cast<std::int32_t>(matlabDatenum(birthYear, 3, 1));
    r.photoTaken = photoYear;
    r.age = imdbWikiAge(r.dob, r.photoTaken);
    r.gender = Gender::Male;
    r.faceScore = 2.0;
    return r;
}

bool has(const std::vector<std::string>& reasons, const std::string& token)
{
    return std::find(reasons.begin(), reasons.end(), token) != reasons.end();
}

} // namespace

TEST(AuditJobTest, MetadataChecksNameEachProblem)
{
    const MetadataContext imdb{SourceKind::ImdbWiki, true, true};
    EXPECT_TRUE(metadataReasons(imdbRecord(1970, 2000), imdb).empty());
    EXPECT_TRUE(has(metadataReasons(imdbRecord(2005, 2000), imdb), "photo_before_birth"));
    EXPECT_TRUE(has(metadataReasons(imdbRecord(2005, 2000), imdb), "age_below_0"));
    EXPECT_TRUE(has(metadataReasons(imdbRecord(1890, 2010), imdb), "age_above_100"));
    EXPECT_TRUE(has(metadataReasons(imdbRecord(1500, 2010), imdb), "dob_impossible"));
    Record r = imdbRecord(1970, 2000);
    r.dob = 0;
    r.age.reset();
    r.gender = Gender::Unknown;
    r.faceScore = -std::numeric_limits<double>::infinity();
    r.secondFaceScore = 1.5;
    EXPECT_EQ(metadataReasons(r, imdb),
              (std::vector<std::string>{"dob_missing", "gender_unknown", "no_face", "second_face"}));

    const MetadataContext utk{SourceKind::UtkFace, true, true};
    Record u;
    u.age = 117;
    u.gender = Gender::Female;
    EXPECT_EQ(metadataReasons(u, utk), (std::vector<std::string>{"age_outside_0_116"}));
    u.age = 116;
    EXPECT_TRUE(metadataReasons(u, utk).empty());
    // A folder has no labels at all: an unknown gender or age is not a gap there.
    EXPECT_TRUE(metadataReasons(Record{}, MetadataContext{SourceKind::Folder, false, false}).empty());
}

TEST(AuditJobTest, ScoresAreCalibratedAndAShiftedLabelStandsOut)
{
    std::vector<std::optional<int>> ages;
    std::vector<float> mean, sd;
    for (int i = 0; i < 200; ++i) {
        ages.push_back(30 + (i % 11) - 5); // within 5 years of the prediction
        mean.push_back(30.0f);
        sd.push_back(4.0f);
    }
    ages.push_back(65); // a label 35 years off
    mean.push_back(30.0f);
    sd.push_back(4.0f);
    ages.push_back(std::nullopt); // no label: no score
    mean.push_back(30.0f);
    sd.push_back(4.0f);
    const auto scores = scoreAges(ages, mean, sd);
    EXPECT_GT(scores[200], 5.0);
    EXPECT_TRUE(std::isnan(scores[201]));
    std::vector<double> sorted(scores.begin(), scores.begin() + 200);
    std::sort(sorted.begin(), sorted.end());
    EXPECT_NEAR(sorted[100], 0.6745, 0.15); // the median is a standard normal's median |z|
    EXPECT_LT(sorted.back(), 3.0);
}

TEST(AuditJobTest, FoldsKeepCopiesTogetherAndAreDeterministic)
{
    std::vector<std::uint32_t> groupOf(1000);
    for (std::uint32_t i = 0; i < groupOf.size(); ++i)
        groupOf[i] = i % 10 == 9 ? i - 1 : i; // every tenth face is a copy of the one before
    const auto folds = assignFolds(groupOf, 5, 3);
    EXPECT_EQ(folds, assignFolds(groupOf, 5, 3));
    EXPECT_NE(folds, assignFolds(groupOf, 5, 4));
    std::map<int, int> sizes;
    for (std::uint32_t i = 0; i < groupOf.size(); ++i) {
        EXPECT_EQ(folds[i], folds[groupOf[i]]);
        ++sizes[folds[i]];
    }
    ASSERT_EQ(sizes.size(), 5u);
    for (const auto& [fold, size] : sizes)
        EXPECT_NEAR(size, 200, 12);
    EXPECT_THROW(assignFolds(groupOf, 1, 3), Error);
}

TEST(AuditJobTest, FindsPlantedAgeErrorsAndCopiesAndResumesFinishedFolds)
{
    TempDir out;
    const AuditResult r = AuditJob(quickAudit(out.path())).run();
    ASSERT_FALSE(r.cancelled);
    const auto& truth = planted().planted;
    const PreparedDataset data = PreparedDataset::open(planted().prepared);
    ASSERT_EQ(r.suspects.size(), data.count());

    for (size_t i = 1; i < r.suspects.size(); ++i)
        EXPECT_GE(r.suspects[i - 1].score, r.suspects[i].score);
    // Age errors: planted ones at the top of the queue, and age_outlier flags mostly them. Chance
    // would put 1.4 of the 15 among the top 30; a small model at 32 px after 8 epochs finds more.
    const test::PlantedScores s = test::scorePlanted(truth, r, data);
    std::printf("planted age errors: %zu among the top %d; age_outlier: %zu flagged, %zu of them planted\n",
                s.topPlanted, 2 * kShifted, s.flagged, s.flaggedPlanted);
    std::printf("duplicates: %s\n", nlohmann::json::parse(r.summaryJson)["duplicates"].dump().c_str());
    EXPECT_GE(s.topPlanted, 5u) << "planted age errors among the top " << 2 * kShifted;
    EXPECT_GE(s.flaggedPlanted * 2, s.flagged) << "precision of age_outlier";

    // Copies: the planted pairs in one group, groups mostly of planted copies, conflicts and leaks flagged.
    EXPECT_GE(s.found(), static_cast<size_t>(kCopies) - 2) << "copy pairs found";
    // Synthetic faces at 32 px look alike: a few groups of different faces are tolerated.
    EXPECT_GE(s.plantedMembers * 10, s.members * 7) << s.plantedMembers << " of " << s.members << " members planted";
    const std::set<std::uint32_t> val(data.valIndices().begin(), data.valIndices().end());
    for (const AuditGroup& g : r.groups) {
        std::set<bool> sides;
        bool conflicting = false;
        for (const auto& m : g.members) {
            sides.insert(val.count(m.index) > 0);
            conflicting |= truth.conflicting.count(data.records()[m.index].path) > 0;
        }
        EXPECT_EQ(g.leak, sides.size() == 2) << "group " << g.id;
        if (conflicting) { // a copy labelled 15 years off its original
            EXPECT_TRUE(g.ageConflict) << "group " << g.id;
        }
    }

    // The files say the same, and a rerun reuses every fold.
    const AuditResult back = readAudit(out.path(), &data.records());
    ASSERT_EQ(back.suspects.size(), r.suspects.size());
    EXPECT_EQ(back.suspects.front().path, r.suspects.front().path);
    EXPECT_EQ(back.groups.size(), r.groups.size());
    EXPECT_EQ(back.reasonCounts, r.reasonCounts);
    // The baseline stands beside the MAE, in the result and in audit.json, and reads back.
    ASSERT_TRUE(std::isfinite(r.baselineMae));
    EXPECT_GT(r.baselineMae, 0.0);
    EXPECT_DOUBLE_EQ(nlohmann::json::parse(r.summaryJson)["oof"]["baseline_mae"].get<double>(), r.baselineMae);
    EXPECT_NEAR(back.baselineMae, r.baselineMae, 1e-9);
    EXPECT_EQ(back.warning, r.warning);
    EXPECT_EQ(r.warning.empty(), r.mae <= 0.9 * r.baselineMae);
    const std::string suspects = readFile(out / "suspects.csv");
    const AuditResult again = AuditJob(quickAudit(out.path())).run();
    EXPECT_EQ(nlohmann::json::parse(again.summaryJson)["oof"]["folds_reused"], 3);
    EXPECT_EQ(readFile(out / "suspects.csv"), suspects);
}

TEST(AuditJobTest, TheBaselineGuessesTheTrainingFoldsMedianOutOfFold)
{
    // Fold 0 holds ages 10 and 20 (trained on 30, 40, 50: median 40); fold 1 holds 30, 40, 50
    // (trained on 10, 20: the upper middle, 20). Unlabelled faces count for neither.
    const std::vector<std::optional<int>> ages{10, 20, 30, 40, 50, std::nullopt};
    const std::vector<int> foldOf{0, 0, 1, 1, 1, 0};
    const double expected = (30 + 20 + 10 + 20 + 30) / 5.0;
    EXPECT_DOUBLE_EQ(medianBaselineMae(ages, foldOf, 2), expected);
    EXPECT_TRUE(std::isnan(medianBaselineMae({std::nullopt, std::nullopt}, {0, 1}, 2)));
    // A fold whose training folds hold no age has no baseline.
    EXPECT_TRUE(std::isnan(medianBaselineMae({std::nullopt, 30}, {0, 1}, 2)));
}

TEST(AuditJobTest, AModelNotClearlyBetterThanTheBaselineIsWarnedOf)
{
    // The audit: 9.99 against a median guess of 10.5 is no better than guessing.
    const std::string warning = baselineWarning(9.99, 10.5);
    EXPECT_NE(warning.find("9.99"), std::string::npos) << warning;
    EXPECT_NE(warning.find("10.50"), std::string::npos) << warning;
    EXPECT_NE(warning.find("not to be trusted"), std::string::npos) << warning;
    EXPECT_FALSE(baselineWarning(9.5, 10.5).empty()); // 9.5% better: not clearly
    EXPECT_TRUE(baselineWarning(9.4, 10.5).empty());  // 10.5% better
    EXPECT_TRUE(baselineWarning(std::nan(""), 10.5).empty());
    EXPECT_TRUE(baselineWarning(9.99, std::nan("")).empty());
}

TEST(AuditJobTest, ACancelledAuditWritesNoResultsAndTheRerunFinishes)
{
    TempDir out;
    AuditParams p = quickAudit(out.path());
    p.epochs = 1;
    CancelToken cancel;
    int calls = 0;
    const AuditResult r = AuditJob(p).run(cancel, [&](const AuditProgress& progress) {
        if (progress.stage.rfind("fold 2/", 0) == 0 && ++calls == 1)
            cancel.requestCancel();
    });
    EXPECT_TRUE(r.cancelled);
    EXPECT_FALSE(std::filesystem::exists(out / "suspects.csv"));
    EXPECT_TRUE(std::filesystem::exists(out / "folds" / "fold-1" / "oof.bin"));
    const AuditResult done = AuditJob(p).run();
    EXPECT_FALSE(done.cancelled);
    EXPECT_EQ(nlohmann::json::parse(done.summaryJson)["oof"]["folds_reused"], 1);
}

TEST(AuditJobTest, PrepareAppliesAReviewAndTheExportReadsBackAsACsvSource)
{
    TempDir dir;
    const PreparedDataset before = PreparedDataset::open(planted().prepared);
    const auto& recs = before.records();
    ReviewFile review = ReviewFile::load(dir / "review.csv");
    for (int i = 0; i < 3; ++i)
        review.append({recs[i].path, ReviewAction::Exclude, "", "", "age_outlier", ""});
    review.append({recs[3].path, ReviewAction::Age, std::to_string(*recs[3].age), "77", "age_outlier", ""});
    review.append({recs[4].path, ReviewAction::Gender, genderName(recs[4].gender),
                   recs[4].gender == Gender::Male ? "F" : "M", "duplicate_conflict", ""});
    review.append({recs[5].path, ReviewAction::Keep, "", "", "age_outlier", ""});
    review.append({"/not/in/the/source.jpg", ReviewAction::Exclude, "", "", "", ""});

    PrepareParams p = test::keepEveryFace(planted().planted.csv, dir / "cleaned", 32);
    p.review = dir / "review.csv";
    const PrepareReport report = PrepareJob(p).run().report;
    EXPECT_EQ(report.review.excluded, 3u);
    EXPECT_EQ(report.review.ageCorrected, 1u);
    EXPECT_EQ(report.review.genderCorrected, 1u);
    EXPECT_EQ(report.review.kept, 1u);
    EXPECT_EQ(report.review.unmatched, 1u);
    const StepReport& step = report.steps.back();
    EXPECT_EQ(step.name, "excluded in review");
    EXPECT_EQ(step.removed, 3u);
    EXPECT_EQ(step.remaining, before.count() - 3);
    const auto json = nlohmann::json::parse(reportToJson(report));
    EXPECT_EQ(json["review"]["excluded"], 3);

    const PreparedDataset cleaned = PreparedDataset::open(p.outDir);
    ASSERT_EQ(cleaned.count(), before.count() - 3);
    std::map<std::string, const Record*> byPath;
    for (const Record& r : cleaned.records())
        byPath[r.path] = &r;
    EXPECT_EQ(byPath.count(recs[0].path), 0u);
    EXPECT_EQ(byPath.at(recs[3].path)->age, 77);
    EXPECT_NE(byPath.at(recs[4].path)->gender, recs[4].gender);

    exportCsvDataset(cleaned, {}, dir / "export" / "cleaned.csv");
    const LoadedDataset reread = openSource("csv:" + (dir / "export" / "cleaned.csv").string());
    EXPECT_EQ(reread.malformed, 0u);
    ASSERT_EQ(reread.records.size(), cleaned.count());
    for (size_t i = 0; i < cleaned.count(); ++i) {
        EXPECT_EQ(reread.records[i].path, cleaned.records()[i].path);
        EXPECT_EQ(reread.records[i].age, cleaned.records()[i].age);
        EXPECT_EQ(reread.records[i].gender, cleaned.records()[i].gender);
    }

    p.review = dir / "missing.csv";
    EXPECT_THROW(PrepareJob(p).run(), Error);
}
