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
            {"spread", "calibrated"}, // folds from before the spread was calibrated are trained again
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

namespace {

/**
 * One audit, in named steps: list the faces, find their copies, predict every age out of fold (which
 * may find more copies), flag the copies, write the files. The folds are trained in place under
 * OUT/folds and reused by a rerun; suspects.csv, duplicates.csv and audit.json are written last.
 */
class AuditSession {
public:
    AuditSession(const AuditParams& p, const CancelToken& cancel, const AuditJob::ProgressFn& onProgress)
        : m_p(p)
        , m_cancel(cancel)
        , m_onProgress(onProgress)
        , m_data(openChecked(p))
    {
    }

    AuditResult run()
    {
        checkFaceCount();
        listFaces();
        hashFaces();
        if (m_result.cancelled)
            return m_result;
        findCopies();
        if (m_p.predict) {
            predictOutOfFold();
            if (m_result.cancelled)
                return m_result;
        }
        flagCopies();
        writeFiles();
        return m_result;
    }

private:
    static PreparedDataset openChecked(const AuditParams& p)
    {
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
        return PreparedDataset::open(p.data);
    }

    void checkFaceCount() const
    {
        if (m_data.count() < static_cast<size_t>(m_p.folds))
            throw Error(displayPath(m_p.data) + ": " + std::to_string(m_data.count()) + " faces are too few for "
                        + std::to_string(m_p.folds) + " folds");
    }

    /** Every face with its labels, split and metadata reasons. */
    void listFaces()
    {
        m_manifest = json::parse(m_data.manifestJson());
        m_fingerprint = datasetFingerprint(m_data);
        m_faces = facesOf(m_data, parseSourceKind(m_manifest.value("source_kind", "")));
    }

    void report(const std::string& stage, long long done, long long total) const
    {
        if (m_onProgress)
            m_onProgress({stage, done, total});
    }

    /** Duplicates first: they decide the folds (copies of a face are held out together). */
    void hashFaces()
    {
        const auto hashStart = Clock::now();
        m_hashes = hashImages(m_data, m_p.threads, m_cancel,
                              [this](const JobProgress& jp) { report(jp.stage, jp.done, jp.total); });
        m_seconds.hash = secondsSince(hashStart);
        if (m_cancel.isCancelled())
            m_result.cancelled = true;
    }

    /** Groups of copies by their hashes and thumbnails; each face's group (its first member) for the folds. */
    void findCopies()
    {
        const auto searchStart = Clock::now();
        m_check = thumbnailCheck(m_data, m_p.minCorrelation);
        m_search = DuplicateSearch{m_p.nearDistance, {}};
        m_groups = findDuplicates(m_hashes, m_search, m_check, &m_stats);
        m_seconds.search = secondsSince(searchStart);
        m_groupOf.resize(m_data.count());
        for (size_t i = 0; i < m_groupOf.size(); ++i)
            m_groupOf[i] = static_cast<std::uint32_t>(i);
        for (const DuplicateGroup& g : m_groups)
            for (const DuplicateMember& m : g.members)
                m_groupOf[m.index] = g.members.front().index;
    }

    /** Out-of-fold predictions: K models, each predicting the faces it never saw; then the scores. */
    void predictOutOfFold()
    {
        const auto trainStart = Clock::now();
        const OutOfFoldResult r = trainFolds();
        if (r.cancelled) {
            m_result.cancelled = true;
            return;
        }
        m_seconds.train = secondsSince(trainStart);
        m_device = r.device;
        findCopiesInFeatures();
        if (m_result.cancelled)
            return;
        scoreLabels(r);
    }

    fs::path foldsDir() const { return m_p.out / "folds"; }

    OutOfFoldResult trainFolds()
    {
        m_foldOf = assignFolds(m_groupOf, m_p.folds, m_p.seed);
        keepOrClearFolds();
        OutOfFoldParams o;
        o.model = m_p.model;
        o.data = m_p.data;
        o.dir = foldsDir();
        o.foldOf = m_foldOf;
        o.folds = m_p.folds;
        o.epochs = m_p.epochs;
        o.seed = m_p.seed;
        o.device = m_p.device;
        o.threads = m_p.threads;
        return runOutOfFold(o, m_cancel, [this](const OutOfFoldProgress& op) {
            const std::string fold = "fold " + std::to_string(op.fold) + "/" + std::to_string(op.folds);
            if (op.predicting)
                report(fold + ": predicting", 0, 0);
            else
                report(fold + ": epoch " + std::to_string(op.train.epoch) + "/" + std::to_string(op.train.epochs),
                       op.train.batch, op.train.batches);
        });
    }

    /** Keeps the folds of an earlier run with the same settings (folds.json); otherwise starts them afresh. */
    void keepOrClearFolds() const
    {
        const json settings = foldSettings(m_p, m_fingerprint, m_foldOf);
        const fs::path settingsPath = foldsDir() / "folds.json";
        bool same = false;
        try {
            same = fs::is_regular_file(settingsPath) && json::parse(readFile(settingsPath)) == settings;
        } catch (const std::exception&) {
            same = false; // a damaged record of settings only means the folds start afresh
        }
        if (!same) {
            fs::remove_all(foldsDir());
            fs::create_directories(foldsDir());
            writeFileAtomic(settingsPath, jsonText(settings, 2) + "\n");
        }
    }

    /**
     * Copies edited more than the hash forgives (or mirrored) are near in what a model sees:
     * each face's nearest neighbours in the first fold model's features are candidate pairs,
     * which the thumbnail check accepts or not. They do not change the folds, made before.
     */
    void findCopiesInFeatures()
    {
        if (m_p.featureNeighbours <= 0 || m_data.count() <= static_cast<size_t>(m_p.featureNeighbours))
            return;
        report("nearest faces in the model's features", 0, 0);
        const auto featureStart = Clock::now();
        const fs::path firstFold = foldsDir() / "fold-1" / "last.pt";
        if (fs::is_regular_file(firstFold)) {
            addNeighbourPairs(firstFold);
            if (m_result.cancelled)
                return;
            m_groups = findDuplicates(m_hashes, m_search, m_check, &m_stats);
        }
        m_seconds.features = secondsSince(featureStart);
    }

    /** Each face and its nearest faces in the features of the fold model `checkpoint`, as candidate pairs. */
    void addNeighbourPairs(const fs::path& checkpoint)
    {
        const LoadedModel loaded = loadCheckpoint(checkpoint);
        torch::Tensor features = embedDataset(*loaded.model, m_data, resolveDevice(m_p.device), m_cancel);
        if (m_cancel.isCancelled()) {
            m_result.cancelled = true;
            return;
        }
        features = torch::nn::functional::normalize(features, torch::nn::functional::NormalizeFuncOptions().dim(1));
        const KnnGraph knn = exactKnn(features, m_p.featureNeighbours, m_cancel);
        if (knn.cancelled) {
            m_result.cancelled = true;
            return;
        }
        const auto idx = knn.indices.accessor<int64_t, 2>();
        for (int64_t i = 0; i < idx.size(0); ++i)
            for (int64_t k = 0; k < idx.size(1); ++k)
                m_search.candidates.emplace_back(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(idx[i][k]));
    }

    /** Each face's prediction and score (age_outlier at or above the threshold); the MAE against its baseline. */
    void scoreLabels(const OutOfFoldResult& r)
    {
        std::vector<Suspect>& faces = m_faces;
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
            if (std::isfinite(scores[i]) && scores[i] >= m_p.outlierScore)
                faces[i].reasons.insert(faces[i].reasons.begin(), "age_outlier");
            if (ages[i] && std::isfinite(faces[i].predicted)) {
                absSum += std::fabs(*ages[i] - faces[i].predicted);
                ++aged;
            }
        }
        if (aged)
            m_result.mae = absSum / static_cast<double>(aged);
        // What a model that learnt nothing scores, measured the same way: the MAE means little without it.
        m_result.baselineMae = medianBaselineMae(ages, m_foldOf, m_p.folds);
        m_result.warning = baselineWarning(m_result.mae, m_result.baselineMae);
        const auto number = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
        m_oof = {{"mae", number(m_result.mae)},
                 {"baseline_mae", number(m_result.baselineMae)},
                 {"baseline", "always the median age of the training folds, out of fold"},
                 {"fold_mae", r.foldMae},
                 {"folds_reused", r.foldsReused},
                 {"device", r.device}};
    }

    /** The groups' conflicts and leaks, counted and added to their members' reasons; then every reason counted. */
    void flagCopies()
    {
        m_result.groups = auditGroups(m_groups, m_faces, m_p.ageTolerance);
        for (const AuditGroup& g : m_result.groups) {
            m_counts.conflicts += g.ageConflict || g.genderConflict;
            m_counts.ageConflicts += g.ageConflict;
            m_counts.genderConflicts += g.genderConflict;
            m_counts.leaks += g.leak;
            m_counts.inGroups += g.members.size();
            bool anyExact = false;
            for (const DuplicateMember& m : g.members) {
                anyExact |= m.exact;
                auto& reasons = m_faces[m.index].reasons;
                reasons.emplace_back(m.exact ? "exact_duplicate" : "near_duplicate");
                if (g.ageConflict || g.genderConflict)
                    reasons.emplace_back("duplicate_conflict");
                if (g.leak)
                    reasons.emplace_back("split_leak");
            }
            m_counts.exactGroups += anyExact;
        }
        for (const Suspect& s : m_faces)
            for (const auto& reason : s.reasons)
                ++m_result.reasonCounts[reason];
    }

    /**
     * The suspects sorted, then the three files. They are all written beside their places first, then
     * renamed in one after another, audit.json last: a failure before that leaves the earlier audit whole,
     * and audit.json names the two tables by their hashes, so a reader never takes a mix of two audits
     * (readAudit).
     */
    void writeFiles()
    {
        m_result.suspects = m_faces;
        sortSuspects(m_result.suspects);
        report("writing", 0, 0);
        fs::create_directories(m_p.out);
        const std::string suspectsText = suspectsCsv(m_result.suspects),
                          duplicatesText = duplicatesCsv(m_result.groups, m_faces);
        m_result.summaryJson = jsonText(summary(suspectsText, duplicatesText), 2);
        AtomicFile suspectsFile(m_p.out / "suspects.csv"), duplicatesFile(m_p.out / "duplicates.csv"),
            summaryFile(m_p.out / "audit.json");
        suspectsFile.write(suspectsText.data(), suspectsText.size());
        duplicatesFile.write(duplicatesText.data(), duplicatesText.size());
        summaryFile.write(m_result.summaryJson.data(), m_result.summaryJson.size());
        summaryFile.write("\n", 1);
        suspectsFile.commit();
        duplicatesFile.commit();
        summaryFile.commit();
    }

    /** audit.json: the counts, the out-of-fold figures, the settings and the two tables' hashes. */
    json summary(const std::string& suspectsText, const std::string& duplicatesText) const
    {
        const json reportJson = m_manifest.value("report", json::object());
        return {{"format", "faceatlas-audit"},
                {"version", 1},
                {"data", m_data.dir().string()},
                {"data_fingerprint", m_fingerprint},
                {"faces", m_data.count()},
                {"settings", settingsJson()},
                {"reasons", m_result.reasonCounts},
                {"duplicates",
                 {{"groups", m_result.groups.size()},
                  {"exact_groups", m_counts.exactGroups},
                  {"near_groups", m_result.groups.size() - m_counts.exactGroups},
                  {"faces", m_counts.inGroups},
                  {"joined_by",
                   {{"exact_pixels", m_stats.exactPairs},
                    {"hash", m_stats.hashPairs},
                    {"mirrored_hash", m_stats.mirrorPairs},
                    {"feature_neighbours", m_stats.candidatePairs}}}}},
                {"conflicts", m_counts.conflicts},
                {"age_conflicts", m_counts.ageConflicts},
                {"gender_conflicts", m_counts.genderConflicts},
                {"leaking_groups", m_counts.leaks},
                {"oof", m_oof},
                {"warning", m_result.warning.empty() ? json(nullptr) : json(m_result.warning)},
                {"source_malformed",
                 {{"count", reportJson.value("malformed", 0)},
                  {"examples", reportJson.value("malformed_examples", json::array())}}},
                {"seconds",
                 {{"hash", m_seconds.hash},
                  {"duplicate_search", m_seconds.search},
                  {"feature_neighbours", m_seconds.features},
                  {"out_of_fold", m_seconds.train},
                  {"total", secondsSince(m_start)}}},
                {"created", utcTimestamp()},
                {"files", auditFileHashes(suspectsText, duplicatesText)}};
    }

    json settingsJson() const
    {
        return {{"model", modelKindName(m_p.model)},
                {"folds", m_p.folds},
                {"epochs", m_p.epochs},
                {"seed", m_p.seed},
                {"device", m_device},
                {"near_distance", m_p.nearDistance},
                {"feature_neighbours", m_p.featureNeighbours},
                {"min_correlation", m_p.minCorrelation},
                {"age_tolerance", m_p.ageTolerance},
                {"outlier_score", m_p.outlierScore},
                {"predict", m_p.predict},
                {"score", "|age - mean| / sqrt(sd^2 + 1), divided by median / 0.6745 over all faces"},
                {"near_hash", "pHash: 64 bits of the 8x8 lowest DCT frequencies of the 32x32 grey image (and of its "
                              "centre 90%, for crops, and of its mirror image); with the nearest faces in the first "
                              "fold model's features as further candidates, near pairs also need a correlation of "
                              "their 16x16 grey thumbnails (one mirrored for a mirrored copy) of min_correlation or "
                              "more"}};
    }

    /** Seconds spent in each stage, for audit.json. */
    struct Seconds {
        double hash = 0, search = 0, train = 0, features = 0;
    };
    /** The duplicate groups' flags, counted for audit.json. */
    struct GroupCounts {
        size_t conflicts = 0, ageConflicts = 0, genderConflicts = 0, leaks = 0, exactGroups = 0, inGroups = 0;
    };

    const AuditParams& m_p;
    const CancelToken& m_cancel;
    const AuditJob::ProgressFn& m_onProgress;
    const Clock::time_point m_start = Clock::now(); // before the checks: audit.json's total time
    const PreparedDataset m_data;
    json m_manifest;
    std::string m_fingerprint;
    std::vector<Suspect> m_faces; // every face, in record order
    ImageHashes m_hashes;
    DuplicateCheck m_check;
    DuplicateSearch m_search;
    DuplicateStats m_stats;
    std::vector<DuplicateGroup> m_groups;
    std::vector<std::uint32_t> m_groupOf; // each face's group, by its first member
    std::vector<int> m_foldOf;
    json m_oof = {{"mae", nullptr}, {"fold_mae", json::array()}, {"folds_reused", 0}};
    std::string m_device = "none";
    Seconds m_seconds;
    GroupCounts m_counts;
    AuditResult m_result;
};

} // namespace

AuditJob::AuditJob(AuditParams params)
    : m_params(std::move(params))
{
}

AuditResult AuditJob::run(const CancelToken& cancel, const ProgressFn& onProgress)
{
    AuditSession session(m_params, cancel, onProgress);
    return session.run();
}

} // namespace faceatlas
