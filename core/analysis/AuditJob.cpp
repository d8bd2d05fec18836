#include "analysis/AuditJob.h"

#include "analysis/AuditFiles.h"
#include "data/AuditBaseline.h"
#include "data/MetadataChecks.h"
#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "ml/Inference.h"
#include "ml/OutOfFold.h"
#include "ml/Projection.h"
#include "ml/Runs.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

namespace faceatlas {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/** Every face with its labels, split and metadata reasons, in record order. */
std::vector<Suspect> facesOf(const PreparedDataset& data, SourceKind kind)
{
    std::vector<bool> isVal(data.count(), false);
    for (std::uint32_t i : data.valIndices())
        isVal[i] = true;
    const MetadataContext context = metadataContext(data.records(), kind);
    std::vector<Suspect> faces(data.count());
    for (size_t i = 0; i < data.count(); ++i) {
        const Record& r = data.records()[i];
        Suspect& s = faces[i];
        s.index = static_cast<std::uint32_t>(i);
        s.path = recordKey(r); // unique, as the audit's files need
        s.split = isVal[i] ? "val" : "train";
        s.age = r.age;
        s.gender = r.gender;
        s.reasons = metadataReasons(r, context);
    }
    return faces;
}

/** The settings that decide the folds' contents: a rerun with others starts the folds afresh. */
json foldSettings(const AuditParams& p, const std::string& fingerprint, const std::vector<int>& foldOf)
{
    std::string folds(foldOf.begin(), foldOf.end());
    return {{"model", modelKindName(p.model)},
            {"folds", p.folds},
            {"epochs", p.epochs},
            {"seed", p.seed},
            {"data", fingerprint},
            {"fold_key", hexKey(fnv1a64(folds))}};
}

} // namespace

std::vector<double> scoreAges(const std::vector<std::optional<int>>& ages, const std::vector<float>& mean,
                              const std::vector<float>& sd)
{
    std::vector<double> r(ages.size(), std::nan(""));
    std::vector<double> finite;
    for (size_t i = 0; i < ages.size(); ++i) {
        if (!ages[i] || i >= mean.size() || !std::isfinite(mean[i]))
            continue;
        const double spread = i < sd.size() && std::isfinite(sd[i]) ? sd[i] : 0.0;
        r[i] = std::fabs(*ages[i] - static_cast<double>(mean[i])) / std::sqrt(spread * spread + 1.0);
        finite.push_back(r[i]);
    }
    if (finite.empty())
        return r;
    std::nth_element(finite.begin(), finite.begin() + static_cast<std::ptrdiff_t>(finite.size() / 2), finite.end());
    const double scale = std::max(1e-6, finite[finite.size() / 2] / 0.6745);
    for (double& v : r)
        v /= scale;
    return r;
}

void flagGroup(AuditGroup& group, const std::vector<const Suspect*>& members, int ageTolerance)
{
    int young = 1 << 20, old = -(1 << 20);
    bool male = false, female = false, train = false, val = false;
    for (const Suspect* s : members) {
        if (s->age) {
            young = std::min(young, *s->age);
            old = std::max(old, *s->age);
        }
        male |= s->gender == Gender::Male;
        female |= s->gender == Gender::Female;
        (s->split == "val" ? val : train) = true;
    }
    group.ageConflict = old >= young && old - young > ageTolerance;
    group.genderConflict = male && female;
    group.leak = train && val;
}

std::vector<AuditGroup> auditGroups(const std::vector<DuplicateGroup>& groups, const std::vector<Suspect>& faces,
                                    int ageTolerance)
{
    std::vector<AuditGroup> out;
    out.reserve(groups.size());
    std::vector<const Suspect*> members;
    for (const DuplicateGroup& g : groups) {
        AuditGroup a;
        a.id = static_cast<int>(out.size()) + 1;
        a.members = g.members;
        members.clear();
        for (const DuplicateMember& m : g.members)
            members.push_back(&faces.at(m.index));
        flagGroup(a, members, ageTolerance);
        out.push_back(std::move(a));
    }
    return out;
}

void sortSuspects(std::vector<Suspect>& suspects)
{
    std::stable_sort(suspects.begin(), suspects.end(), [](const Suspect& a, const Suspect& b) {
        const bool aScored = std::isfinite(a.score), bScored = std::isfinite(b.score);
        if (aScored != bScored)
            return aScored;
        if (aScored && a.score != b.score)
            return a.score > b.score;
        if (a.reasons.size() != b.reasons.size())
            return a.reasons.size() > b.reasons.size();
        return a.index < b.index;
    });
}

AuditJob::AuditJob(AuditParams params)
    : m_params(std::move(params))
{
}

AuditResult AuditJob::run(const CancelToken& cancel, const ProgressFn& onProgress)
{
    const AuditParams& p = m_params;
    const auto start = Clock::now();
    if (p.out.empty())
        throw Error("an output folder is required");
    // Folds are trained in place and reused by a rerun: a new or empty folder, or an earlier audit (no --force).
    checkOutputFolder(p.out, OutputKind::Audit, {false, {p.data}});
    if (p.epochs < 1 || p.epochs > 1000)
        throw Error("--epochs must be between 1 and 1000, got " + std::to_string(p.epochs));
    if (p.folds < 2 || p.folds > 20)
        throw Error("--folds must be between 2 and 20, got " + std::to_string(p.folds));
    if (p.featureNeighbours < 0 || p.featureNeighbours > 50)
        throw Error("--feature-neighbours must be between 0 and 50, got " + std::to_string(p.featureNeighbours));
    const PreparedDataset data = PreparedDataset::open(p.data);
    if (data.count() < static_cast<size_t>(p.folds))
        throw Error(displayPath(p.data) + ": " + std::to_string(data.count()) + " faces are too few for "
                    + std::to_string(p.folds) + " folds");
    json manifest = json::parse(data.manifestJson());
    const std::string fingerprint = datasetFingerprint(data);
    AuditResult result;
    std::vector<Suspect> faces = facesOf(data, parseSourceKind(manifest.value("source_kind", "")));
    const auto report = [&](const std::string& stage, long long done, long long total) {
        if (onProgress)
            onProgress({stage, done, total});
    };

    // Duplicates first: they decide the folds (copies of a face are held out together).
    const auto hashStart = Clock::now();
    const ImageHashes hashes =
        hashImages(data, p.threads, cancel, [&](const JobProgress& jp) { report(jp.stage, jp.done, jp.total); });
    const double hashSeconds = secondsSince(hashStart);
    if (cancel.isCancelled()) {
        result.cancelled = true;
        return result;
    }
    const auto searchStart = Clock::now();
    const DuplicateCheck check = thumbnailCheck(data, p.minCorrelation);
    DuplicateSearch search{p.nearDistance, {}};
    DuplicateStats stats;
    std::vector<DuplicateGroup> groups = findDuplicates(hashes, search, check, &stats);
    const double searchSeconds = secondsSince(searchStart);
    std::vector<std::uint32_t> groupOf(data.count());
    for (size_t i = 0; i < groupOf.size(); ++i)
        groupOf[i] = static_cast<std::uint32_t>(i);
    for (const DuplicateGroup& g : groups)
        for (const DuplicateMember& m : g.members)
            groupOf[m.index] = g.members.front().index;

    // Out-of-fold predictions: K models, each predicting the faces it never saw.
    json oof = {{"mae", nullptr}, {"fold_mae", json::array()}, {"folds_reused", 0}};
    double trainSeconds = 0, featureSeconds = 0;
    std::string device = "none";
    if (p.predict) {
        const auto trainStart = Clock::now();
        const std::vector<int> foldOf = assignFolds(groupOf, p.folds, p.seed);
        const fs::path foldsDir = p.out / "folds";
        const json settings = foldSettings(p, fingerprint, foldOf);
        const fs::path settingsPath = foldsDir / "folds.json";
        bool same = false;
        try {
            same = fs::is_regular_file(settingsPath) && json::parse(readFile(settingsPath)) == settings;
        } catch (const std::exception&) {
            same = false; // a damaged record of settings only means the folds start afresh
        }
        if (!same) {
            fs::remove_all(foldsDir);
            fs::create_directories(foldsDir);
            writeFileAtomic(settingsPath, jsonText(settings, 2) + "\n");
        }
        OutOfFoldParams o;
        o.model = p.model;
        o.data = p.data;
        o.dir = foldsDir;
        o.foldOf = foldOf;
        o.folds = p.folds;
        o.epochs = p.epochs;
        o.seed = p.seed;
        o.device = p.device;
        o.threads = p.threads;
        const OutOfFoldResult r = runOutOfFold(o, cancel, [&](const OutOfFoldProgress& op) {
            const std::string fold = "fold " + std::to_string(op.fold) + "/" + std::to_string(op.folds);
            if (op.predicting)
                report(fold + ": predicting", 0, 0);
            else
                report(fold + ": epoch " + std::to_string(op.train.epoch) + "/" + std::to_string(op.train.epochs),
                       op.train.batch, op.train.batches);
        });
        if (r.cancelled) {
            result.cancelled = true;
            return result;
        }
        trainSeconds = secondsSince(trainStart);
        device = r.device;

        // Copies edited more than the hash forgives (or mirrored) are near in what a model sees:
        // each face's nearest neighbours in the first fold model's features are candidate pairs,
        // which the thumbnail check accepts or not. They do not change the folds, made before.
        if (p.featureNeighbours > 0 && data.count() > static_cast<size_t>(p.featureNeighbours)) {
            report("nearest faces in the model's features", 0, 0);
            const auto featureStart = Clock::now();
            const fs::path firstFold = foldsDir / "fold-1" / "last.pt";
            if (fs::is_regular_file(firstFold)) {
                const LoadedModel loaded = loadCheckpoint(firstFold);
                torch::Tensor features = embedDataset(*loaded.model, data, resolveDevice(p.device), cancel);
                if (cancel.isCancelled()) {
                    result.cancelled = true;
                    return result;
                }
                features =
                    torch::nn::functional::normalize(features, torch::nn::functional::NormalizeFuncOptions().dim(1));
                const KnnGraph knn = exactKnn(features, p.featureNeighbours, cancel);
                if (knn.cancelled) {
                    result.cancelled = true;
                    return result;
                }
                const auto idx = knn.indices.accessor<int64_t, 2>();
                for (int64_t i = 0; i < idx.size(0); ++i)
                    for (int64_t k = 0; k < idx.size(1); ++k)
                        search.candidates.emplace_back(static_cast<std::uint32_t>(i),
                                                       static_cast<std::uint32_t>(idx[i][k]));
                groups = findDuplicates(hashes, search, check, &stats);
            }
            featureSeconds = secondsSince(featureStart);
        }
        std::vector<std::optional<int>> ages(faces.size());
        for (size_t i = 0; i < faces.size(); ++i) {
            ages[i] = faces[i].age;
            faces[i].predicted = r.predictions.mean[i];
            faces[i].predictedSd = r.predictions.sd[i];
        }
        const std::vector<double> scores = scoreAges(ages, r.predictions.mean, r.predictions.sd);
        double absSum = 0;
        size_t aged = 0;
        for (size_t i = 0; i < faces.size(); ++i) {
            faces[i].score = scores[i];
            if (std::isfinite(scores[i]) && scores[i] >= p.outlierScore)
                faces[i].reasons.insert(faces[i].reasons.begin(), "age_outlier");
            if (ages[i] && std::isfinite(faces[i].predicted)) {
                absSum += std::fabs(*ages[i] - faces[i].predicted);
                ++aged;
            }
        }
        if (aged)
            result.mae = absSum / static_cast<double>(aged);
        // What a model that learnt nothing scores, measured the same way: the MAE means little without it.
        result.baselineMae = medianBaselineMae(ages, foldOf, p.folds);
        result.warning = baselineWarning(result.mae, result.baselineMae);
        const auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
        oof = {{"mae", number(result.mae)},
               {"baseline_mae", number(result.baselineMae)},
               {"baseline", "always the median age of the training folds, out of fold"},
               {"fold_mae", r.foldMae},
               {"folds_reused", r.foldsReused},
               {"device", r.device}};
    }
    result.groups = auditGroups(groups, faces, p.ageTolerance);
    size_t conflicts = 0, ageConflicts = 0, genderConflicts = 0, leaks = 0, exactGroups = 0, inGroups = 0;
    for (const AuditGroup& g : result.groups) {
        conflicts += g.ageConflict || g.genderConflict;
        ageConflicts += g.ageConflict;
        genderConflicts += g.genderConflict;
        leaks += g.leak;
        inGroups += g.members.size();
        bool anyExact = false;
        for (const DuplicateMember& m : g.members) {
            anyExact |= m.exact;
            auto& reasons = faces[m.index].reasons;
            reasons.emplace_back(m.exact ? "exact_duplicate" : "near_duplicate");
            if (g.ageConflict || g.genderConflict)
                reasons.emplace_back("duplicate_conflict");
            if (g.leak)
                reasons.emplace_back("split_leak");
        }
        exactGroups += anyExact;
    }
    for (const Suspect& s : faces)
        for (const auto& reason : s.reasons)
            ++result.reasonCounts[reason];

    result.suspects = faces;
    sortSuspects(result.suspects);
    report("writing", 0, 0);
    fs::create_directories(p.out);
    const std::string suspectsText = suspectsCsv(result.suspects), duplicatesText = duplicatesCsv(result.groups, faces);
    const json reportJson = manifest.value("report", json::object());
    const json summary = {
        {"format", "faceatlas-audit"},
        {"version", 1},
        {"data", data.dir().string()},
        {"data_fingerprint", fingerprint},
        {"faces", data.count()},
        {"settings",
         {{"model", modelKindName(p.model)},
          {"folds", p.folds},
          {"epochs", p.epochs},
          {"seed", p.seed},
          {"device", device},
          {"near_distance", p.nearDistance},
          {"feature_neighbours", p.featureNeighbours},
          {"min_correlation", p.minCorrelation},
          {"age_tolerance", p.ageTolerance},
          {"outlier_score", p.outlierScore},
          {"predict", p.predict},
          {"score", "|age - mean| / sqrt(sd^2 + 1), divided by median / 0.6745 over all faces"},
          {"near_hash", "pHash: 64 bits of the 8x8 lowest DCT frequencies of the 32x32 grey image (and of its "
                        "centre 90%, for crops, and of its mirror image); with the nearest faces in the first fold "
                        "model's features as further candidates, near pairs also need a correlation of their 16x16 "
                        "grey thumbnails (one mirrored for a mirrored copy) of min_correlation or more"}}},
        {"reasons", result.reasonCounts},
        {"duplicates",
         {{"groups", result.groups.size()},
          {"exact_groups", exactGroups},
          {"near_groups", result.groups.size() - exactGroups},
          {"faces", inGroups},
          {"joined_by",
           {{"exact_pixels", stats.exactPairs},
            {"hash", stats.hashPairs},
            {"mirrored_hash", stats.mirrorPairs},
            {"feature_neighbours", stats.candidatePairs}}}}},
        {"conflicts", conflicts},
        {"age_conflicts", ageConflicts},
        {"gender_conflicts", genderConflicts},
        {"leaking_groups", leaks},
        {"oof", oof},
        {"warning", result.warning.empty() ? json(nullptr) : json(result.warning)},
        {"source_malformed",
         {{"count", reportJson.value("malformed", 0)},
          {"examples", reportJson.value("malformed_examples", json::array())}}},
        {"seconds",
         {{"hash", hashSeconds},
          {"duplicate_search", searchSeconds},
          {"feature_neighbours", featureSeconds},
          {"out_of_fold", trainSeconds},
          {"total", secondsSince(start)}}},
        {"created", utcTimestamp()},
        {"files", auditFileHashes(suspectsText, duplicatesText)}};
    result.summaryJson = jsonText(summary, 2);
    // The result's three files are all written beside their places first, then renamed in one after
    // another, audit.json last: a failure before that leaves the earlier audit whole, and audit.json
    // names the two tables by their hashes, so a reader never takes a mix of two audits (readAudit).
    AtomicFile suspectsFile(p.out / "suspects.csv"), duplicatesFile(p.out / "duplicates.csv"),
        summaryFile(p.out / "audit.json");
    suspectsFile.write(suspectsText.data(), suspectsText.size());
    duplicatesFile.write(duplicatesText.data(), duplicatesText.size());
    summaryFile.write(result.summaryJson.data(), result.summaryJson.size());
    summaryFile.write("\n", 1);
    suspectsFile.commit();
    duplicatesFile.commit();
    summaryFile.commit();
    return result;
}

} // namespace faceatlas
