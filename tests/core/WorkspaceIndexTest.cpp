#include "data/WorkspaceIndex.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "data/Provenance.h"
#include "ml/ClusterJob.h"
#include "ml/Inference.h"
#include "ml/MapJob.h"
#include "ml/Runs.h"
#include "ml/TrainJob.h"
#include "TestSupport.h"
#include "util/FileUtil.h"

#include <chrono>
#include <gtest/gtest.h>
#include <thread>

using namespace faceatlas;
using faceatlas::test::TempDir;
namespace fs = std::filesystem;

namespace {

/** A preparation of `faces` demo faces in the workspace, and its fingerprint. */
std::string prepare(const fs::path& workspace, const std::string& name, int faces)
{
    PrepareParams p;
    p.source = "demo:" + std::to_string(faces);
    p.outDir = workspace / "prepared" / name;
    p.size = 32;
    PrepareJob(p).run();
    return datasetFingerprint(PreparedDataset::open(p.outDir));
}

/** Codes, a clustering and a map of one preparation, the way the window names them. */
void encodeClusterMap(const fs::path& workspace, const fs::path& run, const std::string& name)
{
    const fs::path codes = workspace / "codes" / (name + "-codes");
    encodeDataset(run, workspace / "prepared" / name, codes, "cpu");
    ClusterParams c;
    c.codes = codes;
    c.outDir = workspace / "clusters" / (name + "-k3");
    c.k = 3;
    c.exemplars = 2;
    c.device = "cpu";
    ClusterJob(c).run();
    MapParams m;
    m.codes = codes;
    m.method = "pca";
    m.outDir = workspace / "maps" / (name + "-pca");
    computeMap(m);
}

} // namespace

// Two preparations' artifacts side by side in one workspace: each is found by its own
// preparation's fingerprint, never as the other's, by a fresh index (a new settings profile has
// nothing but the folder); a damaged manifest is listed as damaged, and nothing throws.
TEST(WorkspaceIndexTest, ArtifactsOfTwoPreparationsAreFoundByTheirOwnPreparation)
{
    TempDir dir;
    const fs::path ws = dir.path();
    const std::string demo = prepare(ws, "demo", 90);
    const std::string other = prepare(ws, "other", 70);
    ASSERT_NE(demo, other);
    TrainParams train;
    train.model = ModelKind::Autoencoder;
    train.data = ws / "prepared" / "demo";
    train.runDir = ws / "runs" / "autoencoder-demo";
    train.workspace = ws;
    train.epochs = 1;
    train.device = "cpu";
    TrainJob(train).run();
    encodeClusterMap(ws, train.runDir, "demo");
    encodeClusterMap(ws, train.runDir, "other"); // the demo's autoencoder on the other faces

    WorkspaceIndex index(ws);
    EXPECT_TRUE(index.refresh());
    for (const OutputKind kind : {OutputKind::Codes, OutputKind::Clustering, OutputKind::Map}) {
        const Artifact* mine = index.newest(kind, {demo});
        const Artifact* theirs = index.newest(kind, {other});
        ASSERT_NE(mine, nullptr) << outputKindName(kind);
        ASSERT_NE(theirs, nullptr) << outputKindName(kind);
        EXPECT_EQ(mine->dir.parent_path().filename(), WorkspaceIndex::folderName(kind));
        EXPECT_EQ(mine->dir.filename().string().rfind("demo", 0), 0u) << mine->dir;
        EXPECT_EQ(theirs->dir.filename().string().rfind("other", 0), 0u) << theirs->dir;
        EXPECT_EQ(index.of(kind, {demo}).size(), 1u);
        EXPECT_EQ(index.countOfOthers(kind, {demo}), 1);
    }
    // The codes name the autoencoder they were made with; the run names the preparation it was trained on.
    EXPECT_EQ(index.newest(OutputKind::Codes, {other})->madeFrom, fs::absolute(train.runDir).lexically_normal());
    const Artifact* run = index.newest(OutputKind::Run, {demo});
    ASSERT_NE(run, nullptr);
    EXPECT_EQ(run->model, "autoencoder");
    EXPECT_EQ(run->imageSize, 32);
    EXPECT_EQ(index.newest(OutputKind::Run, {other}), nullptr); // no run was trained on the other faces
    EXPECT_EQ(index.newest(OutputKind::Audit, {demo}), nullptr);
    EXPECT_EQ(index.newest(OutputKind::Codes, {""}), nullptr); // no preparation open: nothing is current

    // Nothing changed: the next scan reads no manifest again and says so.
    EXPECT_FALSE(index.refresh());

    // A damaged manifest is listed as damaged, with the file named, and is never anyone's newest.
    const fs::path damagedClusters = index.newest(OutputKind::Clustering, {other})->dir;
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // a newer modification time
    test::writeBytes(damagedClusters / "metrics.json", "{\"format\": \"faceatlas-clustering\", \"k\": ");
    EXPECT_TRUE(index.refresh());
    const Artifact* damaged = index.find(damagedClusters);
    ASSERT_NE(damaged, nullptr);
    EXPECT_FALSE(damaged->usable());
    EXPECT_NE(damaged->damaged.find("metrics.json"), std::string::npos) << damaged->damaged;
    EXPECT_EQ(index.newest(OutputKind::Clustering, {other}), nullptr);
    EXPECT_NE(index.newest(OutputKind::Clustering, {demo}), nullptr);

    // A folder that lost a file its kind needs is damaged too; one being written (hidden) is not listed.
    const fs::path map = index.newest(OutputKind::Map, {demo})->dir;
    fs::remove(map / "map.csv");
    fs::create_directories(ws / "maps" / ".demo-pca.tmp-1-1");
    test::writeBytes(ws / "maps" / ".demo-pca.tmp-1-1" / "map.json", "{}");
    EXPECT_TRUE(index.refresh());
    ASSERT_NE(index.find(map), nullptr);
    EXPECT_NE(index.find(map)->damaged.find("map.csv"), std::string::npos) << index.find(map)->damaged;
    EXPECT_EQ(index.find(ws / "maps" / ".demo-pca.tmp-1-1"), nullptr);
}

// Manifests that lie or are not ours are listed as damaged with the file named; a foreign folder
// without a manifest is not an artifact at all; runs listed in runs.index (made by the CLI
// elsewhere) are found.
TEST(WorkspaceIndexTest, HostileManifestsAreListedAsDamagedNeverThrown)
{
    TempDir dir;
    const fs::path ws = dir.path();
    test::writeBytes(ws / "codes" / "nested" / "codes.json", std::string(100000, '['));
    test::writeBytes(ws / "codes" / "other-kind" / "codes.json",
                     R"({"format": "faceatlas-map", "data_fingerprint": "abc"})");
    test::writeBytes(ws / "audits" / "old" / "audit.json", R"({"format": "faceatlas-audit"})");
    test::writeBytes(ws / "audits" / "old" / "suspects.csv", "path\n");
    test::writeBytes(ws / "runs" / "huge-size" / "run.json", R"({"format": "faceatlas-run", "size": 1e300})");
    fs::create_directories(ws / "clusters" / "my-notes"); // the user's own folder
    test::writeBytes(ws / "elsewhere" / "age-1" / "run.json",
                     R"({"format": "faceatlas-run", "model": "age", "data_fingerprint": "f1", "size": 64})");
    test::writeBytes(ws / "runs.index", (ws / "elsewhere" / "age-1").string() + "\nnot/absolute\n\n");

    WorkspaceIndex index(ws);
    ASSERT_NO_THROW(index.refresh());
    const auto damagedIn = [&](const fs::path& folder, const std::string& word) {
        const Artifact* a = index.find(folder);
        ASSERT_NE(a, nullptr) << folder;
        EXPECT_FALSE(a->usable()) << folder;
        EXPECT_NE(a->damaged.find(word), std::string::npos) << a->damaged;
    };
    damagedIn(ws / "codes" / "nested", "nested deeper");
    damagedIn(ws / "codes" / "other-kind", "faceatlas-map");
    damagedIn(ws / "audits" / "old", "which preparation");
    damagedIn(ws / "runs" / "huge-size", "size");
    EXPECT_EQ(index.find(ws / "clusters" / "my-notes"), nullptr);
    const Artifact* elsewhere = index.newest(OutputKind::Run, {"f1"});
    ASSERT_NE(elsewhere, nullptr);
    EXPECT_EQ(elsewhere->model, "age");
    EXPECT_EQ(index.artifacts().size(), 5u);
}

// A preparation is what it holds: preparing the same source again with the same settings gives the
// same fingerprint (what was made from it stays its own); another setting gives another.
TEST(WorkspaceIndexTest, PreparingAgainAlikeKeepsTheFingerprintAndOtherSettingsChangeIt)
{
    TempDir dir;
    const std::string first = prepare(dir.path(), "demo", 90);
    const std::string again = prepare(dir.path(), "demo", 90);
    EXPECT_EQ(first, again);
    PrepareParams p;
    p.source = "demo:90";
    p.outDir = dir / "prepared" / "demo";
    p.size = 32;
    p.cleaning.ageMin = 30;
    PrepareJob(p).run();
    const PreparedDataset other = PreparedDataset::open(p.outDir);
    EXPECT_NE(datasetFingerprint(other), first);
    // What an earlier FaceAtlas recorded (the whole manifest's hash) still names its preparation.
    EXPECT_TRUE(madeFromDataset(legacyDatasetFingerprint(other), other));
    EXPECT_TRUE(madeFromDataset(datasetFingerprint(other), other));
    EXPECT_FALSE(madeFromDataset(first, other));
    EXPECT_FALSE(madeFromDataset("", other));
}
