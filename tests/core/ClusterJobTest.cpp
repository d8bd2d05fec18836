#include "ml/ClusterJob.h"
#include "data/PrepareJob.h"
#include "ml/Inference.h"
#include "ml/TrainJob.h"
#include "TestSupport.h"
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
}
