// Audit benchmark: precision and recall on errors we planted (ages shifted 20-40 years, re-encoded,
// resized, cropped and brightened copies) and the duplicate search's time on 200,000 faces.
// Usage: faceatlas_bench_audit [FACES] [SEARCH_FACES] [EPOCHS] [DRAWN_FACES]
//        (defaults 1000, 200000, 10, SEARCH_FACES: how many of the search's faces are drawn demo faces)
//        faceatlas_bench_audit --replant AUDIT_DIR [SHARE]
//        (errors planted into real labels: SHARE (default 0.05) of an audited dataset's ages shifted
//        20-40 years and scored against the audit's own out-of-fold predictions)
#include "analysis/AuditFiles.h"
#include "analysis/AuditJob.h"
#include "BenchSupport.h"
#include "data/DemoFaces.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"
#include "PlantedFaces.h"
#include "TestSupport.h"
#include "util/FileUtil.h"
#include "util/Parallel.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>

using namespace faceatlas;
using namespace faceatlas::bench;

namespace {

void plantedErrors(int faces, int epochs)
{
    test::TempDir dir;
    const int shifted = faces / 20, copies = faces / 20;
    auto start = Clock::now();
    const test::PlantedDataset planted = test::makePlantedDataset(dir / "src", faces, shifted, copies, 11);
    const PrepareParams prep = test::keepEveryFace(planted.csv, dir / "prepared", 64);
    PrepareJob(prep).run();
    std::printf("planted: %d faces + %d copies, %d ages shifted 20-40 years (made and prepared at 64 px in %.1f s)\n",
                faces, copies, shifted, seconds(start));

    AuditParams p;
    p.data = prep.outDir;
    p.out = dir / "audit";
    p.epochs = epochs;
    p.device = "cpu";
    start = Clock::now();
    const AuditResult r = AuditJob(p).run();
    const auto summary = nlohmann::json::parse(r.summaryJson);
    std::printf("audit: %.1f s (hash %.2f s, duplicate search %.3f s, %d folds x %d epochs %.1f s), "
                "out-of-fold MAE %.2f\n",
                seconds(start), summary["seconds"]["hash"].get<double>(),
                summary["seconds"]["duplicate_search"].get<double>(), p.folds, p.epochs,
                summary["seconds"]["out_of_fold"].get<double>(), r.mae);

    const PreparedDataset data = PreparedDataset::open(prep.outDir);
    const test::PlantedScores s = test::scorePlanted(planted, r, data);
    std::printf("age errors: age_outlier flags %zu faces: precision %.2f, recall %.2f; precision of the top %d "
                "suspects %.2f\n",
                s.flagged, s.flagged ? double(s.flaggedPlanted) / s.flagged : 0.0, double(s.flaggedPlanted) / shifted,
                2 * shifted, double(s.topPlanted) / (2 * shifted));
    std::printf("duplicates: %zu groups; copy pairs found: recall %.2f (", r.groups.size(),
                double(s.found()) / planted.copies.size());
    for (int k = 0; k < test::PlantedScores::kKinds; ++k)
        std::printf("%s%s %zu/%zu", k ? ", " : "", test::PlantedScores::kKindNames[k], s.pairsFound[k], s.pairs[k]);
    std::printf("); precision of group members %.2f\n", s.members ? double(s.plantedMembers) / s.members : 1.0);
    const auto& joined = summary["duplicates"]["joined_by"];
    std::printf("pairs joined by: exact pixels %d, hash %d, mirrored hash %d, feature neighbours %d (%.2f s)\n",
                joined["exact_pixels"].get<int>(), joined["hash"].get<int>(), joined["mirrored_hash"].get<int>(),
                joined["feature_neighbours"].get<int>(), summary["seconds"]["feature_neighbours"].get<double>());
}

/** Duplicate search on `faces` demo faces drawn at 64 px plus 1% near copies. */
void duplicateSearch(size_t faces)
{
    constexpr int kSize = 64;
    const size_t copies = faces / 100;
    std::vector<std::uint64_t> exact(faces + copies), hashes(faces + copies), zoomed(faces + copies),
        mirrored(faces + copies);
    auto start = Clock::now();
    const auto hashOf = [&](const cv::Mat& bgr, size_t i) {
        cv::Mat small, rgb;
        cv::resize(bgr, small, cv::Size(kSize, kSize), 0, 0, cv::INTER_AREA);
        cv::cvtColor(small, rgb, cv::COLOR_BGR2RGB);
        hashes[i] = perceptualHash(rgb.data, kSize);
        zoomed[i] = perceptualHash(rgb.data, kSize, kCropZoom);
        mirrored[i] = perceptualHash(rgb.data, kSize, 1.0, true);
        exact[i] = fnv1a64(std::string_view(reinterpret_cast<const char*>(rgb.data), rgb.total() * 3));
    };
    parallelFor(faces + copies, 0, [&](size_t i) {
        const size_t face = i < faces ? i : (i - faces) * 97 % faces;
        cv::Mat image = drawDemoFace(demoFace(kDemoSeed, face), 2 * kSize);
        if (i >= faces)
            image.convertTo(image, -1, 1.0, 30.0); // a brighter copy
        hashOf(image, i);
    });
    std::printf("duplicate search on %zu faces (+%zu brighter copies): drawn and hashed in %.1f s\n", faces, copies,
                seconds(start));
    for (int d : {4, 6, 8}) {
        start = Clock::now();
        const auto groups = findDuplicates({exact, hashes, zoomed, mirrored}, {d, {}});
        const double t = seconds(start);
        size_t members = 0;
        for (const auto& g : groups)
            members += g.members.size();
        std::printf("  max distance %d: %.3f s, %zu groups, %zu faces in groups\n", d, t, groups.size(), members);
    }
}

/** The search alone on `n` uniformly random hashes (with their near copies): no drawing needed. */
void randomSearch(size_t n)
{
    SplitMix rng(3);
    ImageHashes h;
    for (size_t i = 0; i < n; ++i) {
        const bool copy = i % 100 == 99; // 1% near copies, 0-6 bits from the face before
        std::uint64_t p = copy ? h.perceptual.back() : rng.next();
        for (size_t f = copy ? rng.below(7) : 0; f > 0; --f)
            p ^= std::uint64_t(1) << rng.below(64);
        h.perceptual.push_back(p);
        h.zoomed.push_back(rng.next());
        h.mirrored.push_back(rng.next());
        h.exact.push_back(rng.next());
    }
    const auto start = Clock::now();
    const auto groups = findDuplicates(h, {6, {}});
    std::printf("duplicate search on %zu random hashes (1%% near copies), max distance 6: %.3f s, %zu groups\n", n,
                seconds(start), groups.size());
}

/**
 * Precision and recall of the age scores on errors planted into an audited dataset's real labels.
 * Each face's prediction came from a model that never saw it, so shifting its label after the
 * audit leaves its prediction as it was; what this leaves out is the planted noise in the other
 * folds' training labels (the models here trained on the labels as they were).
 */
void replant(const std::filesystem::path& auditDir, double share)
{
    const AuditResult audit = readAudit(auditDir);
    std::vector<std::optional<int>> ages;
    std::vector<float> mean, sd;
    for (const Suspect& s : audit.suspects) {
        ages.push_back(s.age);
        mean.push_back(s.predicted);
        sd.push_back(s.predictedSd);
    }
    std::vector<size_t> aged;
    for (size_t i = 0; i < ages.size(); ++i)
        if (ages[i] && std::isfinite(mean[i]))
            aged.push_back(i);
    if (aged.size() < 100) {
        std::fprintf(stderr, "%s: %zu faces with an age and a prediction; the replant needs 100\n",
                     auditDir.string().c_str(), aged.size());
        std::exit(1);
    }
    SplitMix rng(0x5EED);
    for (size_t i = aged.size(); i > 1; --i)
        std::swap(aged[i - 1], aged[rng.below(i)]);
    const size_t planted = std::max<size_t>(1, static_cast<size_t>(share * static_cast<double>(aged.size())));
    std::vector<bool> isPlanted(ages.size(), false);
    std::vector<std::optional<int>> shifted = ages;
    for (size_t k = 0; k < planted; ++k) {
        int& age = *shifted[aged[k]];
        const int by = 20 + static_cast<int>(rng.below(21));
        age = age + by <= 95 ? age + by : std::max(0, age - by);
        isPlanted[aged[k]] = true;
    }
    const std::vector<double> before = scoreAges(ages, mean, sd), after = scoreAges(shifted, mean, sd);
    std::printf("replant: %zu of %zu aged faces of %s shifted 20-40 years, scored against their out-of-fold "
                "predictions\n",
                planted, aged.size(), auditDir.string().c_str());
    for (double threshold : {2.0, 2.5, 3.0, 3.5, 4.0}) {
        size_t flagged = 0, hits = 0, flaggedBefore = 0;
        for (size_t i = 0; i < after.size(); ++i) {
            if (!std::isfinite(after[i]))
                continue;
            flaggedBefore += std::isfinite(before[i]) && before[i] >= threshold;
            if (after[i] >= threshold) {
                ++flagged;
                hits += isPlanted[i];
            }
        }
        std::printf("  score >= %.1f: %5zu flagged (%zu before planting), precision %.2f, recall %.2f\n", threshold,
                    flagged, flaggedBefore, flagged ? double(hits) / flagged : 0.0, double(hits) / planted);
    }
    std::vector<size_t> order;
    for (size_t i = 0; i < after.size(); ++i)
        if (std::isfinite(after[i]))
            order.push_back(i);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return after[a] > after[b]; });
    for (size_t top : {planted, 2 * planted, 4 * planted}) {
        size_t hits = 0;
        for (size_t k = 0; k < top && k < order.size(); ++k)
            hits += isPlanted[order[k]];
        std::printf("  top %5zu of the queue: precision %.2f, recall %.2f\n", top, double(hits) / top,
                    double(hits) / planted);
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc > 2 && std::string(argv[1]) == "--replant") {
        replant(std::filesystem::u8path(argv[2]), argc > 3 ? std::atof(argv[3]) : 0.05);
        return 0;
    }
    const int faces = argc > 1 ? std::atoi(argv[1]) : 1000;
    const size_t searchFaces = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 200000;
    const int epochs = argc > 3 ? std::atoi(argv[3]) : 10;
    if (faces >= 100)
        plantedErrors(faces, epochs);
    const size_t drawn = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : searchFaces;
    if (searchFaces >= 1000)
        randomSearch(searchFaces);
    if (drawn >= 1000)
        duplicateSearch(drawn);
    return 0;
}
