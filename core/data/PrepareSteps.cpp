#include "data/PrepareSteps.h"

#include "data/FaceDetections.h"
#include "data/PreparedDataset.h"
#include "data/QualityMetrics.h"
#include "data/SourceKinds.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <unordered_map>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

/**
 * Every face of each picture as a record of its own (PrepareParams::everyFace), in place: a picture
 * with k > 1 faces is followed by k - 1 copies of its record, one per further face, with their
 * probes and findings. A source's labels name one person, taken to be the picture's best face, so
 * the further faces carry none. Returns the number of records added.
 */
size_t takeEveryFace(std::vector<Record>& records, std::vector<ImageProbe>& probes, std::vector<FaceFinding>& findings,
                     const std::vector<std::vector<FaceFinding>>& others)
{
    size_t added = 0;
    for (const auto& o : others)
        added += o.size();
    if (added == 0)
        return 0;
    std::vector<Record> allRecords;
    std::vector<ImageProbe> allProbes;
    std::vector<FaceFinding> allFindings;
    allRecords.reserve(records.size() + added);
    allProbes.reserve(records.size() + added);
    allFindings.reserve(records.size() + added);
    for (size_t i = 0; i < records.size(); ++i) {
        allRecords.push_back(records[i]);
        allProbes.push_back(probes[i]);
        allFindings.push_back(findings[i]);
        if (others[i].empty())
            continue;
        allRecords.back().faceIndex = 0;
        allRecords.back().secondFaceScore = Record::kNaN; // each record is one face now
        for (size_t k = 0; k < others[i].size(); ++k) {
            const FaceFinding& face = others[i][k];
            Record r = records[i];
            r.faceIndex = static_cast<std::int16_t>(k + 1);
            r.age.reset();
            r.gender = Gender::Unknown;
            r.name.clear();
            r.dob = 0;
            r.faceScore = face.score;
            r.secondFaceScore = Record::kNaN;
            for (int c = 0; c < 4; ++c)
                r.faceBox[c] = face.box[c];
            r.roll = face.roll;
            r.yaw = face.yaw;
            allRecords.push_back(std::move(r));
            allProbes.push_back(probes[i]);
            allFindings.push_back(face);
        }
    }
    records.swap(allRecords);
    probes.swap(allProbes);
    findings.swap(allFindings);
    return added;
}

/** What the cleaning steps run with: the framing, the steps' settings and where the face scores come from. */
struct CleaningSetup {
    Framing framing = Framing::Aligned;
    CleaningOptions cleaning;
    bool detectorScores = false; // the face-score step reads the detector's confidence (the source has no scores)
};

/** The framing and cleaning settings of `p` for `dataset`; throws Error for combinations Prepare refuses. */
CleaningSetup setUpCleaning(const LoadedDataset& dataset, const PrepareParams& p)
{
    CleaningSetup setup;
    // Aligned framing: the detector's findings are data the cleaning steps use (for sources without
    // the capstone's face scores, "more than one face" and "face score below threshold" read them).
    const Framing framing =
        p.framing.value_or(sourceKindInfo(dataset.kind).alreadyFramed ? Framing::CentreCrop : Framing::Aligned);
    setup.framing = framing;
    // The face-score step reads the detector's confidence, on its own scale, where the source has no scores.
    setup.cleaning = p.cleaning;
    const bool detectorScores = framing == Framing::Aligned && dataset.kind != SourceKind::ImdbWiki;
    setup.detectorScores = detectorScores;
    if (detectorScores)
        setup.cleaning.minFaceScore = setup.cleaning.minDetectorScore;
    if (p.everyFace && framing != Framing::Aligned)
        throw Error("every face of each picture needs the aligned framing: faces are found by detection");
    if (framing != Framing::Aligned)
        for (const Record& r : dataset.records)
            if (r.faceIndex >= 0)
                throw Error(p.source + ": " + r.path + " names face " + std::to_string(r.faceIndex + 1)
                            + " of its photo (a face column): faces are found only with the aligned framing");
    if (p.everyFace && !detectorScores)
        throw Error("every face of each picture is for sources of photos; IMDB-WIKI's crops are one labelled face "
                    "each, with its own face scores");
    return setup;
}

/**
 * Which pictures the detector looks at, one rule for Prepare and the step preview: every
 * readable picture that the steps *before the first step that reads the detector* keep.
 * Every step that reads the detector then sees the findings of all the records that reach
 * it, so each step's count is the one a detection of every picture would give, whatever
 * the other steps' settings, their order, or a review. For photo sources the first such
 * step is "more than one face" (step 2): every readable picture is looked at, and no
 * setting changes the set, so a warm cache stays warm when the settings change. For
 * IMDB-WIKI (its own face scores) it is "face turned too far": steps 1-5 choose, and
 * with a review the age step does not (a corrected age may bring a face into the range).
 * (Earlier the age step chose for photos too, except with a review: the same settings
 * then gave other counts for the face-score and age steps.)
 */
std::vector<char> picturesToLookAt(const std::vector<Record>& records, const std::vector<ImageProbe>& probes,
                                   const CleaningSetup& setup, bool withReview)
{
    CleaningOptions trial = setup.cleaning;
    trial.maxYaw = 0;      // "face turned too far" reads the detector's yaw
    trial.minFaceSize = 0; // and after it, in any case
    if (setup.detectorScores) {
        trial.dropMultipleFaces = false;
        trial.filterFaceScore = false;
        trial.filterAge = false;
        trial.minImageSize = 0;
    }
    trial.filterAge = trial.filterAge && !withReview;
    std::vector<StepReport> trialSteps;
    std::vector<SkippedFile> trialSkipped;
    std::vector<char> wanted(records.size(), 0);
    for (size_t i : applyFilters(records, probes, trial, trialSteps, trialSkipped))
        wanted[i] = probes[i].ok; // only a picture whose header reads can be decoded
    return wanted;
}

/**
 * Gives each record the detector looked at its finding: the face its source names (a CSV's face
 * column) or the best one, its face count and pose, and with detector scores its score and box.
 * Returns how many records were looked at.
 */
size_t giveFindings(std::vector<Record>& records, DetectionPass& pass, bool detectorScores)
{
    size_t looked = 0;
    for (size_t i = 0; i < records.size(); ++i) {
        if (!pass.looked[i])
            continue;
        ++looked;
        Record& r = records[i];
        if (r.faceIndex > 0) { // the source names one face of the photo (a CSV's face column)
            const size_t other = static_cast<size_t>(r.faceIndex) - 1;
            if (other < pass.others[i].size()) {
                pass.findings[i] = pass.others[i][other];
            } else { // not there (any more): centre-cropped, face score -inf
                pass.findings[i] = FaceFinding();
                pass.findings[i].landmarks.fill(FaceFinding::kNaN);
            }
        }
        if (r.faceIndex >= 0)
            pass.others[i].clear(); // one face, named: not taken again as every face
        const FaceFinding& f = pass.findings[i];
        r.facesFound = static_cast<std::int16_t>(std::min(f.faces, 32767));
        r.roll = f.roll;
        r.yaw = f.yaw;
        if (detectorScores) {
            r.faceScore = f.found() ? f.score : -std::numeric_limits<double>::infinity();
            r.secondFaceScore = f.faces > 1 && r.faceIndex < 0 ? f.secondScore : Record::kNaN;
            for (int k = 0; k < 4; ++k)
                r.faceBox[k] = f.found() ? f.box[k] : Record::kNaN;
        }
    }
    return looked;
}

/**
 * The aligned framing's part of cleanRecords: finds the faces of the pictures the steps need,
 * gives the records their findings and takes every face of each picture when asked. Sets
 * out.cancelled (and returns) when the detection was cancelled.
 */
void findRecordFaces(LoadedDataset& dataset, std::vector<ImageProbe>& probes, const PrepareParams& p,
                     const CleaningSetup& setup, bool withReview, FindFaces mode, const CancelToken& cancel,
                     const std::function<void(const JobProgress&)>& onProgress, CleanedRecords& out)
{
    std::vector<Record>& records = dataset.records;
    const std::vector<char> wanted = picturesToLookAt(records, probes, setup, withReview);
    out.needDetection = static_cast<size_t>(std::count(wanted.begin(), wanted.end(), 1));
    std::vector<std::string> paths;
    paths.reserve(records.size());
    for (const auto& r : records)
        paths.push_back(r.path);
    DetectionPass pass = mode == FindFaces::Detect ? detectFaces(paths, probes, wanted, p.threads, cancel, onProgress)
                                                   : cachedFaces(paths, probes, wanted, cancel);
    out.cacheWarnings = pass.warnings;
    if (pass.cancelled) {
        out.cancelled = true;
        return;
    }
    out.notLooked = pass.notCached;
    out.framing.detected = pass.detected;
    out.framing.reused = pass.reused;
    out.framing.seconds = pass.seconds;
    out.framing.looked += giveFindings(records, pass, setup.detectorScores);
    out.findings = std::move(pass.findings);
    if (p.everyFace)
        out.framing.moreFaces = takeEveryFace(records, probes, out.findings, pass.others);
}

} // namespace

std::optional<ReviewFile> loadPrepareReview(const PrepareParams& p, const LoadedDataset& dataset)
{
    if (p.review.empty())
        return std::nullopt;
    std::error_code ec;
    if (!fs::exists(p.review, ec)) // a FIFO or /dev/stdin is refused by load(), as not a regular file
        throw Error(displayPath(p.review) + ": no such review file");
    // Only the decisions about this dataset's faces are kept: memory follows the dataset, not the file.
    return ReviewFile::load(p.review, decisionsAbout(dataset.records));
}

std::string reviewFingerprint(const ReviewFile& review)
{
    // FNV-1a per decision, the hashes sorted (the order the decisions were made in changes nothing
    // Prepare does), then FNV-1a over them: cheap enough to run on every step preview.
    const auto fnv = [](std::uint64_t h, const void* data, size_t size) {
        const auto* bytes = static_cast<const unsigned char*>(data);
        for (size_t k = 0; k < size; ++k)
            h = (h ^ bytes[k]) * 1099511628211ull;
        return h;
    };
    constexpr std::uint64_t kBasis = 14695981039346656037ull;
    const std::vector<ReviewDecision> decisions = review.latest();
    std::vector<std::uint64_t> hashes;
    hashes.reserve(decisions.size());
    for (const ReviewDecision& d : decisions) {
        const std::string action = reviewActionName(d.action);
        std::uint64_t h = fnv(kBasis, d.path.data(), d.path.size() + 1); // the NUL separates the fields
        h = fnv(h, action.c_str(), action.size() + 1);
        hashes.push_back(fnv(h, d.newLabel.data(), d.newLabel.size()));
    }
    std::sort(hashes.begin(), hashes.end());
    std::uint64_t all = kBasis;
    for (std::uint64_t h : hashes)
        all = fnv(all, &h, sizeof h);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(all));
    return std::to_string(decisions.size()) + ":" + hex;
}

CleanedRecords cleanRecords(LoadedDataset& dataset, std::vector<ImageProbe>& probes, const PrepareParams& p,
                            const std::optional<ReviewFile>& review, FindFaces mode, const CancelToken& cancel,
                            const std::function<void(const JobProgress&)>& onProgress)
{
    CleanedRecords out;
    std::vector<Record>& records = dataset.records;
    if (probes.size() != records.size())
        throw Error("internal: one image probe per record is required");
    const CleaningSetup setup = setUpCleaning(dataset, p);
    out.framing.framing = setup.framing;
    out.framing.everyFace = p.everyFace;
    if (setup.framing == Framing::Aligned) {
        findRecordFaces(dataset, probes, p, setup, review.has_value(), mode, cancel, onProgress, out);
        if (out.cancelled)
            return out;
    }
    // The review is applied once the records are final (after every face of each picture was
    // taken): its decisions may name one face of a group photo.
    if (cancel.isCancelled()) { // the step preview: a newer request, or the window closing
        out.cancelled = true;
        return out;
    }
    std::vector<size_t> excluded;
    if (review)
        excluded = applyReview(*review, records, out.review);
    out.kept = applyFilters(records, probes, setup.cleaning, out.steps, out.skipped);
    if (review)
        excludeReviewed(excluded, out.kept, out.steps);
    return out;
}

StepPreview previewSteps(const LoadedDataset& dataset, const std::vector<ImageProbe>& probes,
                         const PrepareParams& params, FindFaces mode, const CancelToken& cancel,
                         const std::function<void(const JobProgress&)>& onProgress)
{
    // On copies: the findings, more faces and corrected labels are Prepare's business, not the caller's records'.
    StepPreview preview;
    if (cancel.isCancelled()) {
        preview.cancelled = true;
        return preview;
    }
    LoadedDataset records = dataset;
    std::vector<ImageProbe> recordProbes = probes;
    const std::optional<ReviewFile> review = loadPrepareReview(params, records);
    CleanedRecords cleaned = cleanRecords(records, recordProbes, params, review, mode, cancel, onProgress);
    preview.cancelled = cleaned.cancelled;
    preview.steps = std::move(cleaned.steps);
    preview.skipped = std::move(cleaned.skipped);
    preview.needDetection = cleaned.needDetection;
    preview.notLooked = cleaned.notLooked;
    if (params.quality.any() && !cleaned.cancelled) {
        // The quality steps need the stored faces, which only Prepare makes: they are counted from the
        // quality columns of the preparation Prepare will replace (params.outDir, at the same size),
        // matched by record key; a face it does not hold counts as not applicable (not measured yet).
        std::vector<float> values(cleaned.kept.size() * kQualityColumnCount, NAN);
        try {
            const PreparedDataset old = PreparedDataset::open(params.outDir);
            const FaceQuality quality = old.imageSize() == params.size ? readPreparedQuality(old) : FaceQuality{};
            if (quality.names.size() == kQualityColumnCount) {
                std::unordered_map<std::string, size_t> rowOf;
                for (size_t i = 0; i < old.count(); ++i)
                    rowOf.emplace(recordKey(old.records()[i]), i);
                for (size_t k = 0; k < cleaned.kept.size(); ++k) {
                    const auto it = rowOf.find(recordKey(records.records[cleaned.kept[k]]));
                    if (it != rowOf.end())
                        for (size_t c = 0; c < kQualityColumnCount; ++c)
                            values[k * kQualityColumnCount + c] = quality.at(it->second, c);
                }
            }
        } catch (const std::exception&) {
            // no earlier preparation (or an unreadable one): every face is not measured yet
        }
        std::vector<size_t> positions(cleaned.kept.size());
        for (size_t i = 0; i < positions.size(); ++i)
            positions[i] = i;
        applyQualitySteps(values, positions, params.quality, preview.steps);
    }
    preview.cacheWarnings = std::move(cleaned.cacheWarnings);
    return preview;
}

} // namespace faceatlas
