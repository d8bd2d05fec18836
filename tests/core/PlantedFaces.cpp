#include "PlantedFaces.h"

#include "data/DemoFaces.h"
#include "data/Readers.h"
#include "util/FileUtil.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace faceatlas::test {

namespace fs = std::filesystem;

PlantedDataset makePlantedDataset(const fs::path& dir, int faces, int shifted, int copies, std::uint64_t seed)
{
    PlantedDataset planted;
    // Demo faces of nearby indices can share their random stream (demoFace seeds SplitMix with
    // index * its increment), which makes some of them copies of each other: every 16th is drawn.
    fs::create_directories(dir / "faces");
    std::vector<Record> records;
    for (int i = 0; i < faces; ++i) {
        const DemoFace face = demoFace(seed, 16 * static_cast<std::uint64_t>(i));
        Record r;
        r.path = fs::absolute(dir / "faces" / ("face" + std::to_string(i) + ".jpg")).lexically_normal().string();
        r.age = face.age;
        r.gender = face.gender;
        cv::imwrite(r.path, drawDemoFace(face, kDemoImageSize), {cv::IMWRITE_JPEG_QUALITY, 92});
        records.push_back(r);
    }
    SplitMix rng(seed ^ 0x9A17ED);
    std::vector<size_t> order(records.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    for (size_t i = order.size(); i > 1; --i)
        std::swap(order[i - 1], order[rng.below(i)]);
    for (int k = 0; k < shifted && k < static_cast<int>(order.size()); ++k) {
        Record& r = records[order[k]];
        const int shift = 20 + static_cast<int>(rng.below(21));
        r.age = *r.age + shift <= 95 ? *r.age + shift : std::max(0, *r.age - shift);
        planted.shifted.insert(r.path);
    }
    fs::create_directories(dir / "copies");
    for (int k = 0; k < copies && shifted + k < static_cast<int>(order.size()); ++k) {
        const Record& original = records[order[shifted + k]];
        cv::Mat image = cv::imread(original.path, cv::IMREAD_COLOR), copy;
        std::vector<int> quality = {cv::IMWRITE_JPEG_QUALITY, 95};
        switch (k % PlantedScores::kKinds) {
        case 0:
            copy = image;
            quality[1] = 30;
            break;
        case 1: cv::resize(image, copy, cv::Size(), 0.6, 0.6, cv::INTER_AREA); break;
        case 2: {
            const int m = image.cols / 20;
            copy = image(cv::Rect(m, m, image.cols - 2 * m, image.rows - 2 * m)).clone();
            break;
        }
        case 3: image.convertTo(copy, -1, 1.0, 35.0); break;
        default: cv::flip(image, copy, 1); break;
        }
        const fs::path file = dir / "copies" / ("copy" + std::to_string(k) + ".jpg");
        cv::imwrite(file.string(), copy, quality);
        Record r = original;
        r.path = fs::absolute(file).lexically_normal().string();
        if (k % 3 == 2) {
            r.age = *r.age + 15;
            planted.conflicting.insert(r.path);
        }
        planted.copies.emplace_back(original.path, r.path);
        records.push_back(r);
    }
    std::string csv = "path,age,gender\n";
    for (const Record& r : records)
        csv += r.path + "," + std::to_string(*r.age) + "," + genderName(r.gender) + "\n";
    planted.csv = dir / "planted.csv";
    writeFileAtomic(planted.csv, csv);
    return planted;
}

PrepareParams keepEveryFace(const fs::path& csv, const fs::path& out, int size)
{
    PrepareParams p;
    p.framing = Framing::CentreCrop; // drawn faces, drawn framed: these tests are not about the detector
    p.source = "csv:" + csv.string();
    p.outDir = out;
    p.size = size;
    p.cleaning.filterAge = false;
    p.cleaning.filterFaceScore = false;
    p.cleaning.minImageSize = 0;
    p.cleaning.balanceAges = false;
    return p;
}

PlantedScores scorePlanted(const PlantedDataset& planted, const AuditResult& audit, const PreparedDataset& data)
{
    PlantedScores s;
    for (size_t i = 0; i < audit.suspects.size(); ++i) {
        const bool isPlanted = planted.shifted.count(audit.suspects[i].path) > 0;
        s.topPlanted += i < 2 * planted.shifted.size() && isPlanted;
        const auto& reasons = audit.suspects[i].reasons;
        if (std::find(reasons.begin(), reasons.end(), "age_outlier") != reasons.end()) {
            ++s.flagged;
            s.flaggedPlanted += isPlanted;
        }
    }
    std::set<std::string> copyPaths;
    for (const auto& [original, copy] : planted.copies) {
        copyPaths.insert(original);
        copyPaths.insert(copy);
    }
    std::map<std::string, int> groupOf;
    for (const AuditGroup& g : audit.groups)
        for (const auto& m : g.members) {
            groupOf[data.records()[m.index].path] = g.id;
            ++s.members;
            s.plantedMembers += copyPaths.count(data.records()[m.index].path);
        }
    for (size_t k = 0; k < planted.copies.size(); ++k) {
        const auto& [original, copy] = planted.copies[k];
        ++s.pairs[k % PlantedScores::kKinds];
        s.pairsFound[k % PlantedScores::kKinds] +=
            groupOf.count(original) && groupOf.count(copy) && groupOf[original] == groupOf[copy];
    }
    return s;
}

} // namespace faceatlas::test
