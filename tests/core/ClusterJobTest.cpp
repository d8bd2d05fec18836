#include "ml/ClusterJob.h"
#include "data/ImageIO.h"
#include "data/PrepareJob.h"
#include "ml/Inference.h"
#include "ml/TrainJob.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cmath>
#include <gtest/gtest.h>
#include <map>
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
    // cluster_names.json: each cluster's summary and automatic label, no names yet, as the result holds them.
    const ClusterSummaries names = readClusterNames(dir / "clusters", k);
    ASSERT_EQ(static_cast<int>(names.clusters.size()), k);
    EXPECT_EQ(clusterNamesJson(names), clusterNamesJson(r.summaries));
    EXPECT_EQ(names.all.size, total);
    for (int c = 0; c < k; ++c) {
        EXPECT_EQ(names.clusters[c].figures.size, clusters[c]["size"].get<std::int64_t>()) << c;
        EXPECT_FALSE(names.clusters[c].label.empty()) << c;
        EXPECT_TRUE(names.clusters[c].name.empty()) << c;
    }
    // A clustering made before names were kept: its summaries are computed from its preparation.
    std::filesystem::rename(dir / "clusters" / kClusterNamesFile, dir / "names.json");
    bool computed = false;
    const ClusterSummaries again = openClusterNames(dir / "clusters", &computed);
    EXPECT_TRUE(computed);
    EXPECT_EQ(clusterNamesJson(again), clusterNamesJson(r.summaries));
    std::filesystem::rename(dir / "names.json", dir / "clusters" / kClusterNamesFile);

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

namespace {

/** A record as UTKFace names it (the race is read from the name), with what the summaries count. */
Record planted(int age, Gender gender, int race, int facesFound)
{
    Record r;
    r.path = "/faces/" + std::to_string(age) + "_0_" + std::to_string(race) + "_20170116.jpg.chip.jpg";
    r.age = age;
    r.gender = gender;
    r.facesFound = static_cast<std::int16_t>(facesFound);
    return r;
}

/**
 * Two planted clusters and a face outside both. Cluster 0: ages 60 70 80 90, three women and a man,
 * three White and one Black, one face not found and one from a group photo, two flagged. Cluster 1:
 * ages 20 22 24 30 and one face without age, gender or race, three men and a woman, three Asian and
 * one Black, one flagged.
 */
struct PlantedClustering {
    std::vector<Record> records;
    std::vector<int> labels;
    std::vector<char> flagged;
    PlantedClustering()
    {
        const auto add = [&](Record r, int label, bool flag) {
            records.push_back(std::move(r));
            labels.push_back(label);
            flagged.push_back(flag);
        };
        add(planted(60, Gender::Female, 0, 1), 0, true);
        add(planted(20, Gender::Male, 2, 1), 1, false);
        add(planted(70, Gender::Female, 0, 1), 0, true);
        add(planted(22, Gender::Male, 2, 1), 1, false);
        add(planted(80, Gender::Female, 0, 0), 0, false);
        add(planted(24, Gender::Male, 2, 1), 1, false);
        add(planted(90, Gender::Male, 1, 2), 0, false);
        add(planted(30, Gender::Female, 1, 1), 1, false);
        Record unknown;
        unknown.path = "/faces/face.jpg";
        unknown.facesFound = 1;
        add(unknown, 1, true);
        add(planted(5, Gender::Female, 4, 1), -1, true); // not clustered: counted nowhere
    }
};

} // namespace

TEST(ClusterSummariesTest, FiguresMatchHandComputedValues)
{
    const PlantedClustering p;
    const ClusterSummaries s = summarizeClusters(p.records, p.labels, 2, p.flagged);
    ASSERT_EQ(s.clusters.size(), 2u);
    const GroupSummary& old = s.clusters[0].figures;
    EXPECT_EQ(old.size, 4);
    EXPECT_EQ(old.aged, 4);
    EXPECT_DOUBLE_EQ(old.ageMedian, 75);
    EXPECT_DOUBLE_EQ(old.ageQ1, 67.5); // 60 + 0.75 * 10
    EXPECT_DOUBLE_EQ(old.ageQ3, 82.5); // 80 + 0.25 * 10
    EXPECT_NEAR(old.ageSd, std::sqrt(500.0 / 3), 1e-12);
    EXPECT_EQ(old.female, 3);
    EXPECT_EQ(old.male, 1);
    EXPECT_DOUBLE_EQ(old.femaleShare(), 0.75);
    EXPECT_EQ(old.races, (std::map<std::string, std::int64_t>{{"White", 3}, {"Black", 1}}));
    EXPECT_EQ(old.flagged, 2);
    EXPECT_TRUE(old.framed);
    EXPECT_EQ(old.aligned, 3);
    EXPECT_EQ(old.noFaceFound, 1);
    EXPECT_EQ(old.severalFaces, 1);
    EXPECT_TRUE(std::isnan(old.qualityMedian)); // no quality column given: absent

    const GroupSummary& young = s.clusters[1].figures;
    EXPECT_EQ(young.size, 5);
    EXPECT_EQ(young.aged, 4);
    EXPECT_DOUBLE_EQ(young.ageMedian, 23);
    EXPECT_DOUBLE_EQ(young.ageQ1, 21.5);
    EXPECT_DOUBLE_EQ(young.ageQ3, 25.5);
    EXPECT_NEAR(young.ageSd, std::sqrt(56.0 / 3), 1e-12);
    EXPECT_EQ(young.male, 3);
    EXPECT_EQ(young.female, 1);
    EXPECT_EQ(young.unknownGender, 1);
    EXPECT_EQ(young.raced(), 4);
    EXPECT_EQ(young.races.at("Asian"), 3);
    EXPECT_EQ(young.flagged, 1);

    // Every clustered face (not the one outside): ages 20 22 24 30 60 70 80 90.
    EXPECT_EQ(s.all.size, 9);
    EXPECT_DOUBLE_EQ(s.all.ageMedian, 45);
    EXPECT_DOUBLE_EQ(s.all.ageQ1, 23.5);
    EXPECT_DOUBLE_EQ(s.all.ageQ3, 72.5);
    EXPECT_NEAR(s.all.ageSd, std::sqrt(5758.0 / 7), 1e-12);
    EXPECT_EQ(s.all.flagged, 3);

    // Without an audit nothing is said of flags; a quality column, when there is one, has its median.
    std::vector<float> quality(p.records.size(), 1.0F);
    quality[0] = 4;
    quality[2] = 2;
    quality[4] = std::numeric_limits<float>::quiet_NaN();
    const ClusterSummaries withQuality = summarizeClusters(p.records, p.labels, 2, {}, quality);
    EXPECT_EQ(withQuality.clusters[0].figures.flagged, -1);
    EXPECT_DOUBLE_EQ(withQuality.clusters[0].figures.qualityMedian, 2); // 4, 2, 1
    EXPECT_DOUBLE_EQ(withQuality.clusters[1].figures.qualityMedian, 1);
}

TEST(ClusterSummariesTest, TheAutomaticLabelSaysWhatSetsAClusterApartAndIsDeterministic)
{
    const PlantedClustering p;
    const ClusterSummaries s = summarizeClusters(p.records, p.labels, 2, p.flagged);
    // Cluster 0: the median age 30 years above the dataset's (1.05 sd), then 3 of 4 White against 3 of 8 (h 0.78).
    EXPECT_EQ(s.clusters[0].label, "older · more White");
    EXPECT_EQ(s.clusters[1].label, "more Asian · younger");
    // The same figures give the same label, whatever order the faces come in.
    std::vector<Record> reversed(p.records.rbegin(), p.records.rend());
    std::vector<int> labels(p.labels.rbegin(), p.labels.rend());
    std::vector<char> flagged(p.flagged.rbegin(), p.flagged.rend());
    const ClusterSummaries again = summarizeClusters(reversed, labels, 2, flagged);
    EXPECT_EQ(again.clusters[0].label, s.clusters[0].label);
    EXPECT_EQ(again.clusters[1].label, s.clusters[1].label);

    // Mostly one gender, a typical cluster, an empty one.
    GroupSummary all, women, typical;
    all.size = 100;
    all.aged = 100;
    all.ageMedian = 40;
    all.ageSd = 10;
    all.female = 50;
    all.male = 50;
    women = all;
    women.size = 20;
    women.female = 18;
    women.male = 2;
    EXPECT_EQ(automaticLabel(women, all), "mostly female");
    typical = all;
    typical.ageMedian = 41;
    EXPECT_EQ(automaticLabel(typical, all), "typical");
    EXPECT_EQ(automaticLabel(GroupSummary{}, all), "empty");
}

TEST(ClusterSummariesTest, NamesSurviveAReopenAndAHostileFileIsAClearError)
{
    TempDir dir;
    const PlantedClustering p;
    ClusterSummaries s = summarizeClusters(p.records, p.labels, 2, p.flagged);
    s.audit = "/audits/a";
    s.clusters[1].name = checkClusterName("  Die Jungen · 若者 ");
    writeClusterNames(dir.path(), s);
    const ClusterSummaries back = readClusterNames(dir.path(), 2);
    EXPECT_EQ(back.clusters[1].name, "Die Jungen · 若者");
    EXPECT_EQ(back.clusters[1].shown(), "Die Jungen · 若者");
    EXPECT_EQ(back.clusters[0].shown(), "older · more White");
    EXPECT_EQ(back.audit, "/audits/a");
    EXPECT_EQ(clusterNamesJson(back), clusterNamesJson(s)); // every figure read back as written

    const auto file = dir / kClusterNamesFile;
    const std::string good = readFile(file);
    const auto expectError = [&](const std::string& bytes, int k, const std::string& words) {
        writeFileAtomic(file, bytes);
        try {
            readClusterNames(dir.path(), k);
            ADD_FAILURE() << "read a bad names file: " << words;
        } catch (const Error& e) {
            const std::string message = e.what();
            EXPECT_NE(message.find(displayPath(file)), std::string::npos) << message;
            EXPECT_NE(message.find(words), std::string::npos) << message;
        }
        EXPECT_EQ(readFile(file), bytes); // nothing was rewritten
    };
    expectError(good, 3, "holds 2 clusters; the clustering has 3");
    expectError(good, 1, "holds 2 clusters; the clustering has 1");
    expectError("\x89PNG junk", 2, "not JSON");
    expectError("[]", 2, "not a FaceAtlas cluster names file");
    auto j = nlohmann::json::parse(good);
    j["clusters"][1]["name"] = "two\nlines";
    expectError(j.dump(), 2, "cluster 1: a cluster name cannot hold control characters");
    j = nlohmann::json::parse(good);
    j["clusters"][1]["name"] = std::string(121, 'x');
    expectError(j.dump(), 2, "at most 120 bytes");
    j = nlohmann::json::parse(good);
    std::swap(j["clusters"][0], j["clusters"][1]);
    expectError(j.dump(), 2, "cluster 0: expected the entry of cluster 0");
    j = nlohmann::json::parse(good);
    j["clusters"][0]["summary"]["size"] = 1000;
    expectError(j.dump(), 2, "do not add up");
    j = nlohmann::json::parse(good);
    j["clusters"][0]["summary"]["gender"]["F"] = "many";
    expectError(j.dump(), 2, "'F' must be a count");
    EXPECT_THROW(checkClusterName("bad \xff byte"), Error);
}
