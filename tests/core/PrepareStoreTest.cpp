// Prepare's steps after the cleaning (data/PrepareStore.h), each called on its own.
#include "data/PrepareStore.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "TestSupport.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace faceatlas;
using faceatlas::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::vector<StepReport> threeSteps(size_t remaining)
{
    return {{"missing or unreadable image", 1, remaining + 6},
            {"age outside range", 5, remaining + 1},
            {"face turned too far", 1, remaining}};
}

Record recordAt(const std::string& path, float age)
{
    Record r;
    r.path = path;
    r.age = age;
    return r;
}

} // namespace

TEST(PrepareStoreTest, FailedDecodesLeaveTheKeptRecordsAndCountAsUnreadable)
{
    std::vector<size_t> kept{3, 5, 7, 9};
    std::vector<StepReport> steps = threeSteps(4);
    dropFailedDecodes({1, 3}, kept, steps); // positions in kept: records 5 and 9
    EXPECT_EQ(kept, (std::vector<size_t>{3, 7}));
    EXPECT_EQ(steps[0].removed, 3u);
    EXPECT_EQ(steps[0].remaining, 8u);
    EXPECT_EQ(steps[1].removed, 5u) << "a later step's removals are its own";
    EXPECT_EQ(steps[2].remaining, 2u);
    dropFailedDecodes({}, kept, steps);
    EXPECT_EQ(kept.size(), 2u);
    EXPECT_EQ(steps[0].removed, 3u);
}

TEST(PrepareStoreTest, TheImageKeyFollowsWhatGoesIntoTheCache)
{
    const std::vector<Record> records{recordAt("/a.jpg", 20), recordAt("/b.jpg", 30), recordAt("/c.jpg", 40)};
    std::vector<ImageProbe> probes(3);
    for (size_t i = 0; i < 3; ++i) {
        probes[i].ok = true;
        probes[i].fileSize = 1000 + static_cast<long long>(i);
        probes[i].modifiedNs = 5;
    }
    PrepareParams p;
    p.size = 64;
    const std::string key = imageCacheKey(p, Framing::CentreCrop, records, probes, {0, 2});
    EXPECT_EQ(key, imageCacheKey(p, Framing::CentreCrop, records, probes, {0, 2}));
    EXPECT_NE(key, imageCacheKey(p, Framing::CentreCrop, records, probes, {0, 1})) << "other faces";
    EXPECT_NE(key, imageCacheKey(p, Framing::Aligned, records, probes, {0, 2})) << "another framing";
    PrepareParams bigger = p;
    bigger.size = 96;
    EXPECT_NE(key, imageCacheKey(bigger, Framing::CentreCrop, records, probes, {0, 2})) << "another size";
    probes[2].modifiedNs = 6;
    EXPECT_NE(key, imageCacheKey(p, Framing::CentreCrop, records, probes, {0, 2})) << "a replaced file";
    probes[1].modifiedNs = 7; // a face that is not kept does not count
    EXPECT_EQ(imageCacheKey(p, Framing::CentreCrop, records, probes, {0, 2}),
              imageCacheKey(p, Framing::CentreCrop, records, probes, {0, 2}));
}

TEST(PrepareStoreTest, TheSplitCoversTheStoredFacesAndBalancingOnlyResamplesTraining)
{
    std::vector<Record> records;
    for (int i = 0; i < 200; ++i)
        records.push_back(
            recordAt("/f" + std::to_string(i) + ".jpg", static_cast<float>(i % 3 == 0 ? 25 : 15 + i % 50)));
    std::vector<size_t> kept;
    for (size_t i = 0; i < records.size(); i += 2)
        kept.push_back(i);
    CleaningOptions cleaning;
    cleaning.valCount = 20;
    cleaning.balanceAges = false;
    PrepareReport rep;
    const SplitFaces plain = splitAndBalance(records, kept, cleaning, rep);
    ASSERT_EQ(plain.stored.size(), kept.size());
    EXPECT_EQ(plain.stored[3].path, records[6].path);
    EXPECT_EQ(plain.val.size(), 20u);
    EXPECT_EQ(plain.train.size(), 80u);
    EXPECT_EQ(rep.trainUnique, 80u);
    std::vector<bool> seen(kept.size(), false);
    for (const auto* part : {&plain.train, &plain.val})
        for (const std::uint32_t i : *part) {
            ASSERT_LT(i, kept.size());
            EXPECT_FALSE(seen[i]) << "position " << i << " is in both parts";
            seen[i] = true;
        }
    cleaning.balanceAges = true;
    PrepareReport balancedReport;
    const SplitFaces balanced = splitAndBalance(records, kept, cleaning, balancedReport);
    EXPECT_EQ(balanced.val, plain.val) << "balancing never touches the validation faces";
    EXPECT_EQ(balancedReport.train, balanced.train.size());
    EXPECT_NE(balancedReport.ageHistogramAfter, balancedReport.ageHistogramBefore);
}

TEST(PrepareStoreTest, AnOldCacheIsReusedOnlyWhenItsManifestAndSizeAgree)
{
    TempDir dir;
    PrepareParams p;
    p.source = "demo:40";
    p.outDir = dir / "prep";
    p.size = 32;
    p.cleaning.minImageSize = 0;
    PrepareJob(p).run();
    const fs::path manifest = dir / "prep" / PreparedDataset::kManifest;
    const nlohmann::json m = nlohmann::json::parse(readFile(manifest));
    const PreparedDataset data = PreparedDataset::open(dir / "prep");
    const std::string key = m.at("image_key").get<std::string>();
    std::vector<Record> records = data.records();
    std::vector<size_t> kept(records.size());
    for (size_t i = 0; i < kept.size(); ++i)
        kept[i] = i;
    const auto tryReuse = [&](const std::string& name) {
        const fs::path work = dir / name;
        fs::create_directories(work);
        return storeImages({dir / "prep", work, key}, records, kept, {}, p, {}, {});
    };
    const StoredImages reused = tryReuse("work1");
    EXPECT_TRUE(reused.reused);
    EXPECT_EQ(fs::file_size(dir / "work1" / PreparedDataset::kImages),
              fs::file_size(dir / "prep" / PreparedDataset::kImages));
    // A hostile manifest (a failed row beyond the faces) is not believed: the images are decoded again.
    nlohmann::json hostile = m;
    hostile["decode_failed"] = {kept.size() + 5};
    writeFileAtomic(manifest, hostile.dump());
    const StoredImages rebuilt = tryReuse("work2");
    EXPECT_FALSE(rebuilt.reused);
    EXPECT_TRUE(rebuilt.failed.empty());
    EXPECT_EQ(fs::file_size(dir / "work2" / PreparedDataset::kImages), kept.size() * 32u * 32u * 3u);
}
