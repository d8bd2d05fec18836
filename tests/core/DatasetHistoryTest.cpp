#include "data/DatasetHistory.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/Readers.h"
#include "data/ReviewFile.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

using namespace faceatlas;
using faceatlas::test::TempDir;
using faceatlas::test::writeBytes;
namespace fs = std::filesystem;

namespace {

const FaceChange* changeOf(const PreparationDiff& diff, const std::string& key)
{
    for (const FaceChange& c : diff.changes)
        if (c.key == key)
            return &c;
    return nullptr;
}

/** Two versions of demo:80 in DIR/prepared/demo-16: A (ages 15-65), then B (ages 15-50, with a review between). */
struct TwoVersions {
    fs::path current, kept, reviewFile;
    std::vector<Record> a; // A's records
    std::string excluded, relabelled, droppedByStep, excludedAfterB;
    int newAge = 0;
};

TwoVersions prepareTwoVersions(const TempDir& dir)
{
    TwoVersions v;
    PrepareParams params;
    params.source = "demo:80";
    params.outDir = dir / "prepared" / "demo-16";
    params.size = 16;
    params.cleaning.balanceAges = false;
    PrepareJob(params).run();
    v.a = PreparedDataset::open(params.outDir).records();
    // Faces of A: one to exclude, one to relabel (both aged 15-50, so only the review explains them), and
    // one over 50, which B's age step drops.
    for (const Record& r : v.a) {
        const int age = r.age.value_or(-1);
        if (age >= 15 && age <= 50 && v.excluded.empty())
            v.excluded = r.path;
        else if (age >= 15 && age <= 45 && v.relabelled.empty()) {
            v.relabelled = r.path;
            v.newAge = age + 5;
        } else if (age > 50 && v.droppedByStep.empty())
            v.droppedByStep = r.path;
        else if (age > 50 && v.excludedAfterB.empty())
            v.excludedAfterB = r.path;
    }
    EXPECT_FALSE(v.excluded.empty() || v.relabelled.empty() || v.droppedByStep.empty() || v.excludedAfterB.empty());
    v.reviewFile = dir / "review.csv";
    {
        ReviewFile review = ReviewFile::load(v.reviewFile);
        review.append({v.excluded, ReviewAction::Exclude, "", "", "not a face", ""});
        review.append({v.relabelled, ReviewAction::Age, "", std::to_string(v.newAge), "looks older", ""});
    }
    v.kept = keepPreparationVersion(params.outDir);
    params.review = v.reviewFile;
    params.cleaning.ageMax = 50;
    PrepareJob(params).run();
    settleKeptVersion(v.kept, params.outDir);
    v.current = params.outDir;
    // A decision written after B was prepared is not one B applied: the step still explains that face.
    ReviewFile review = ReviewFile::load(v.reviewFile);
    review.append({v.excludedAfterB, ReviewAction::Exclude, "", "", "later", "2999-01-01T00:00:00Z"});
    return v;
}

TEST(DatasetHistoryTest, HistoryAndDiffSayWhichReviewDecisionOrStepChangedEachFace)
{
    TempDir dir;
    const TwoVersions v = prepareTwoVersions(dir);
    ASSERT_FALSE(v.kept.empty());
    ASSERT_TRUE(fs::exists(v.kept / "prepared.json")) << "the replaced preparation is kept";

    const std::vector<PreparationVersion> history = preparationHistory(v.current);
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(history[0].dir, fs::absolute(v.kept).lexically_normal()) << "oldest first";
    EXPECT_TRUE(history[0].kept);
    EXPECT_FALSE(history[1].kept);
    EXPECT_EQ(history[0].count, v.a.size());
    EXPECT_TRUE(history[0].reviewFile.empty());
    EXPECT_EQ(history[1].reviewDecisions, 2u);
    EXPECT_EQ(history[1].reviewExcluded, 1u);
    EXPECT_EQ(history[1].reviewAgeCorrected, 1u);
    EXPECT_NE(history[0].fingerprint, history[1].fingerprint);
    EXPECT_NE(history[1].settings.find("ages 15-50"), std::string::npos) << history[1].settings;
    EXPECT_GT(history[0].bytes, 0u);
    // The same history from the kept version's side.
    EXPECT_EQ(preparationHistory(v.kept).size(), 2u);

    const PreparationDiff diff = diffPreparations(v.kept, v.current);
    const FaceChange* excluded = changeOf(diff, v.excluded);
    ASSERT_TRUE(excluded);
    EXPECT_EQ(excluded->change, FaceChangeKind::Removed);
    EXPECT_EQ(excluded->cause, "review");
    EXPECT_NE(excluded->detail.find("excluded in review"), std::string::npos) << excluded->detail;
    EXPECT_NE(excluded->detail.find("not a face"), std::string::npos) << "the decision's reason";
    const FaceChange* relabelled = changeOf(diff, v.relabelled);
    ASSERT_TRUE(relabelled);
    EXPECT_EQ(relabelled->change, FaceChangeKind::Relabelled);
    EXPECT_EQ(relabelled->cause, "review");
    EXPECT_EQ(relabelled->newAge, v.newAge);
    EXPECT_EQ(relabelled->newAge.value_or(0) - relabelled->oldAge.value_or(0), 5);
    for (const std::string& key : {v.droppedByStep, v.excludedAfterB}) {
        const FaceChange* dropped = changeOf(diff, key);
        ASSERT_TRUE(dropped) << key;
        EXPECT_EQ(dropped->change, FaceChangeKind::Removed);
        EXPECT_EQ(dropped->cause, "step") << dropped->detail;
        EXPECT_EQ(dropped->detail, "age outside range (ages 15-50)");
    }
    // Every face of A over 50 is removed by the step, and nothing else changed.
    size_t over50 = 0;
    for (const Record& r : v.a)
        over50 += r.age.value_or(0) > 50;
    EXPECT_EQ(diff.count(FaceChangeKind::Removed, "step"), over50);
    EXPECT_EQ(diff.count(FaceChangeKind::Removed), over50 + 1);
    EXPECT_EQ(diff.count(FaceChangeKind::Added), 0u);
    EXPECT_EQ(diff.count(FaceChangeKind::Relabelled), 1u);
    EXPECT_EQ(diff.unchanged + diff.count(FaceChangeKind::Removed) + diff.count(FaceChangeKind::Relabelled),
              v.a.size());

    // Backwards: what B removed comes back, by what A lacked.
    const PreparationDiff back = diffPreparations(v.current, v.kept);
    EXPECT_EQ(back.count(FaceChangeKind::Added), over50 + 1);
    EXPECT_EQ(back.count(FaceChangeKind::Added, "review"), 1u);
    EXPECT_EQ(changeOf(back, v.excluded)->cause, "review");
    EXPECT_NE(changeOf(back, v.droppedByStep)->detail.find("A's step age outside range"), std::string::npos);
    EXPECT_EQ(changeOf(back, v.relabelled)->cause, "review");

    // Written as CSV and JSON, with the output-folder contract.
    writeDiff(diff, dir / "diff");
    const std::string csv = readFile(dir / "diff" / "diff.csv");
    EXPECT_EQ(csv.substr(0, csv.find('\n')), "path,change,cause,detail,old_age,new_age,old_gender,new_gender");
    EXPECT_EQ(static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')), diff.changes.size() + 1);
    const auto json = nlohmann::json::parse(readFile(dir / "diff" / "diff.json"));
    EXPECT_EQ(json.at("format"), "faceatlas-diff");
    EXPECT_EQ(json.at("counts").at("removed").at("by_cause").at("review"), 1);
    EXPECT_EQ(json.at("changes").size(), diff.changes.size());
    writeDiff(diff, dir / "diff"); // an earlier diff is replaced
    EXPECT_THROW(writeDiff(diff, v.current), Error) << "never into a preparation";
    EXPECT_TRUE(fs::exists(v.current / "prepared.json"));
}

TEST(DatasetHistoryTest, ThePrepareThatReplacesNothingKeepsNoVersion)
{
    TempDir dir;
    PrepareParams params;
    params.source = "demo:30";
    params.outDir = dir / "p";
    params.size = 16;
    EXPECT_TRUE(keepPreparationVersion(params.outDir).empty()) << "nothing there yet";
    PrepareJob(params).run();
    const fs::path kept = keepPreparationVersion(params.outDir);
    ASSERT_FALSE(kept.empty());
    PrepareJob(params).run(); // the same settings: the same preparation
    settleKeptVersion(kept, params.outDir);
    EXPECT_FALSE(fs::exists(kept));
    EXPECT_EQ(preparationHistory(params.outDir).size(), 1u);
}

TEST(DatasetHistoryTest, HostileInputsGiveErrorsNamingTheFile)
{
    TempDir dir;
    PrepareParams params;
    params.source = "demo:30";
    params.outDir = dir / "p";
    params.size = 16;
    PrepareJob(params).run();
    // Not a preparation: a folder of the user's.
    fs::create_directories(dir / "mine");
    writeBytes(dir / "mine" / "notes.txt", "mine");
    try {
        diffPreparations(dir / "mine", params.outDir);
        FAIL() << "a folder that is not a preparation was compared";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find((dir / "mine" / "prepared.json").string()), std::string::npos) << e.what();
    }
    EXPECT_THROW(preparationHistory(dir / "mine"), Error);
    // Two sources: CSVs of the same faces, in two files.
    const LoadedDataset demo = openSource("demo:30");
    for (const char* name : {"one.csv", "two.csv"}) {
        std::ofstream csv(dir / name);
        csv << "path,age\n";
        for (const Record& r : demo.records)
            csv << r.path << ',' << r.age.value_or(30) << '\n';
    }
    for (const char* name : {"one", "two"}) {
        PrepareParams p;
        p.source = std::string("csv:") + (dir / (std::string(name) + ".csv")).string();
        p.outDir = dir / name;
        p.size = 16;
        p.framing = Framing::CentreCrop;
        p.cleaning.minImageSize = 0;
        PrepareJob(p).run();
    }
    try {
        diffPreparations(dir / "one", dir / "two");
        FAIL() << "preparations of two sources were compared";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find((dir / "two" / "prepared.json").string()), std::string::npos) << what;
        EXPECT_NE(what.find("one.csv"), std::string::npos) << what;
        EXPECT_NE(what.find("one source"), std::string::npos) << what;
    }
    // Beside each other, a preparation of another source is not a version of this one.
    EXPECT_EQ(preparationHistory(dir / "one").size(), 1u);
}

TEST(DatasetHistoryTest, RemovalRefusesWhatIsNotAPreparationAndDeletesOnlyFaceAtlasFiles)
{
    TempDir dir;
    fs::create_directories(dir / "mine");
    writeBytes(dir / "mine" / "records.bin", "the user's own file of that name");
    EXPECT_THROW(removePreparation(dir / "mine"), Error);
    EXPECT_TRUE(fs::exists(dir / "mine" / "records.bin")) << "nothing removed";
    EXPECT_THROW(removePreparation(dir / "absent"), Error);

    PrepareParams params;
    params.source = "demo:30";
    params.outDir = dir / "p";
    params.size = 16;
    PrepareJob(params).run();
    fs::create_directory_symlink(params.outDir, dir / "link");
    EXPECT_THROW(removePreparation(dir / "link"), Error) << "a link is not followed";
    EXPECT_THROW(removePreparation(params.outDir, params.outDir), Error) << "the open one";
    EXPECT_TRUE(fs::exists(params.outDir / "prepared.json"));

    writeBytes(params.outDir / "my-notes.txt", "kept");
    const RemovedPreparation removed = removePreparation(params.outDir, dir / "another");
    EXPECT_GT(removed.freed, 0u);
    EXPECT_EQ(removed.leftFiles, std::vector<std::string>{"my-notes.txt"});
    EXPECT_FALSE(fs::exists(params.outDir / "prepared.json"));
    EXPECT_FALSE(fs::exists(params.outDir / "images.u8"));
    EXPECT_TRUE(fs::exists(params.outDir / "my-notes.txt"));

    fs::remove(params.outDir / "my-notes.txt");
    PrepareJob(params).run();
    removePreparation(params.outDir);
    EXPECT_FALSE(fs::exists(params.outDir)) << "an emptied folder goes";
}

} // namespace
