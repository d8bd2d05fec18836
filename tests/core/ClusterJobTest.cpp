#include "ml/ClusterJob.h"
#include "data/ImageIO.h"
#include "data/PrepareJob.h"
#include "ml/Inference.h"
#include "ml/TrainJob.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace faceatlas;
using faceatlas::test::TempDir;

TEST(ClusterJobTest, WritesTablesPicturesAndLabelAgreement)
{
    TempDir dir;
    PrepareParams prep;
    prep.source = "demo:160";
    prep.outDir = dir / "data";
    prep.size = 32;
    PrepareJob(prep).run();
    TrainParams train;
    train.model = ModelKind::Autoencoder;
    train.data = prep.outDir;
    train.runDir = dir / "ae";
    train.epochs = 1;
    train.device = "cpu";
    TrainJob(train).run();
    encodeDataset(dir / "ae", prep.outDir, dir / "codes", "cpu");

    ClusterParams p;
    p.codes = dir / "codes";
    p.outDir = dir / "clusters";
    p.kMin = 2;
    p.kMax = 4;
    p.exemplars = 3;
    p.device = "cpu";
    const ClusterResult r = ClusterJob(p).run();
    ASSERT_EQ(r.sweep.size(), 3u);
    const int k = r.suggestedK;
    ASSERT_GE(k, 2);
    ASSERT_LE(k, 4);
    for (const char* file :
         {"assignments.csv", "clusters.json", "metrics.json", "interpolation.png", "age_direction.png"})
        EXPECT_TRUE(std::filesystem::exists(dir / "clusters" / file)) << file;
    for (int c = 0; c < k; ++c)
        for (const char* sub : {"centroids", "medoids", "galleries"})
            EXPECT_TRUE(std::filesystem::exists(dir / "clusters" / sub / (std::to_string(c) + ".png"))) << sub << c;
    const auto metrics = nlohmann::json::parse(readFile(dir / "clusters" / "metrics.json"));
    EXPECT_EQ(metrics["k"], k);
    EXPECT_EQ(metrics["sweep"].size(), 3u);
    EXPECT_TRUE(metrics["labels"]["age_decade"]["nmi"].is_number());
    EXPECT_TRUE(metrics["labels"]["gender"]["ari"].is_number());
    const auto clusters = nlohmann::json::parse(readFile(dir / "clusters" / "clusters.json"));
    ASSERT_EQ(static_cast<int>(clusters.size()), k);
    std::int64_t total = 0;
    for (const auto& c : clusters)
        total += c["size"].get<std::int64_t>();
    EXPECT_EQ(total, static_cast<std::int64_t>(Codes::open(dir / "codes").count()));
    // One line per face plus the header.
    const std::string csv = readFile(dir / "clusters" / "assignments.csv");
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), total + 1);

    // A path between any two clusters starts at the first one's decoded centroid and, walked the
    // other way, is the same path reversed.
    const CentroidPaths paths = CentroidPaths::open(dir / "clusters");
    ASSERT_EQ(paths.clusters(), k);
    const int s = paths.imageSize();
    ASSERT_EQ(s, 32);
    const size_t tile = static_cast<size_t>(s) * s * 3;
    const int steps = 5;
    const auto forward = paths.between(0, k - 1, steps);
    const auto backward = paths.between(k - 1, 0, steps);
    ASSERT_EQ(forward.size(), steps * tile);
    const auto maxDifference = [tile](const std::uint8_t* a, const std::uint8_t* b) {
        int most = 0;
        for (size_t i = 0; i < tile; ++i)
            most = std::max(most, std::abs(int(a[i]) - int(b[i])));
        return most;
    };
    for (int i = 0; i < steps; ++i)
        EXPECT_LE(maxDifference(forward.data() + i * tile, backward.data() + (steps - 1 - i) * tile), 1) << i;
    // Both ends are the decoded centroids the clustering saved.
    for (const auto& [cluster, end] : {std::pair{0, forward.data()}, {k - 1, forward.data() + (steps - 1) * tile}}) {
        std::vector<std::uint8_t> centroid(tile);
        std::string problem;
        ASSERT_TRUE(decodeSquareRgb(readFile(dir / "clusters" / "centroids" / (std::to_string(cluster) + ".png")), s,
                                    centroid.data(), problem))
            << problem;
        EXPECT_LE(maxDifference(end, centroid.data()), 1) << "cluster " << cluster;
    }
    EXPECT_THROW(paths.between(0, k, steps), Error);
    EXPECT_THROW(paths.between(0, 1, 1), Error);
    std::filesystem::remove(dir / "clusters" / "centroids.f32");
    try {
        CentroidPaths::open(dir / "clusters");
        ADD_FAILURE() << "opened a clustering without centroids.f32";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("centroids.f32"), std::string::npos) << e.what();
    }
}
