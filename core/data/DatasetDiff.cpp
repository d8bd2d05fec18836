#include "data/DatasetHistory.h"

#include "data/Cleaning.h"
#include "data/HistoryManifest.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/ReviewFile.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iterator>
#include <optional>
#include <unordered_map>

// Comparing two preparations of one source face by face, and telling why each face changed: a
// review decision, a cleaning step, or the source itself.

namespace faceatlas {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/** The cleaning options prepared.json's settings record, as cleanRecords used them (face score on its scale). */
CleaningOptions cleaningOf(const json& s, const std::string& sourceKind)
{
    CleaningOptions c;
    if (!s.is_object())
        return c;
    c.dropUnreadable = s.value("drop_unreadable", c.dropUnreadable);
    c.dropMultipleFaces = s.value("drop_multiple_faces", c.dropMultipleFaces);
    c.filterFaceScore = s.value("filter_face_score", c.filterFaceScore);
    const bool detector = s.value("framing", std::string()) == "aligned" && sourceKind != "imdb-wiki";
    c.minFaceScore =
        detector ? s.value("min_detector_score", c.minDetectorScore) : s.value("min_face_score", c.minFaceScore);
    c.filterAge = s.value("filter_age", c.filterAge);
    c.ageMin = s.value("age_min", c.ageMin);
    c.ageMax = s.value("age_max", c.ageMax);
    c.minImageSize = s.value("min_image_size", c.minImageSize);
    c.maxYaw = s.value("max_yaw", c.maxYaw);
    c.minFaceSize = s.value("min_face_size", c.minFaceSize);
    return c;
}

/** A step's setting in words, for the detail of a face it dropped. */
std::string stepSetting(const std::string& step, const CleaningOptions& c)
{
    if (step == "face score below threshold")
        return "minimum " + settingNumber(c.minFaceScore);
    if (step == "age outside range")
        return "ages " + std::to_string(c.ageMin) + "-" + std::to_string(c.ageMax);
    if (step == "image smaller than minimum")
        return "minimum " + std::to_string(c.minImageSize) + " px";
    if (step == "face turned too far")
        return "at most " + settingNumber(c.maxYaw) + " degrees";
    if (step == "face smaller than minimum")
        return "minimum " + std::to_string(c.minFaceSize) + " px";
    return {};
}

/**
 * The review decisions a preparation applied: the workspace's review file is a log that only grows,
 * each row with its time, so the decisions as they stood when the preparation was made are the rows
 * written before its "created" time. (A decision written during the preparation itself, after it read
 * the file, would count as applied; the Dataset page writes none while Prepare runs.) Nullopt when it
 * applied none; a review file that is gone is said in `notes`.
 */
std::optional<ReviewFile> reviewAsOf(const json& manifest, const std::string& which, std::vector<std::string>& notes)
{
    const json settings = manifest.value("settings", json::object());
    if (!settings.is_object() || !settings.contains("review") || !settings["review"].is_string())
        return std::nullopt;
    const fs::path file = fs::u8path(settings["review"].get<std::string>());
    const std::string created = manifest.value("created", std::string());
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        notes.push_back(which + " applied the review file " + displayPath(file)
                        + ", which is gone: its decisions cannot be told apart from other causes");
        return std::nullopt;
    }
    try {
        const std::string text = readFile(file, ReviewFile::kMaxBytes);
        std::string kept;
        kept.reserve(text.size());
        size_t start = 0;
        bool header = true;
        while (start < text.size()) {
            size_t end = text.find('\n', start);
            if (end == std::string::npos)
                break; // a last line without its line break is ignored by the reader too
            const std::string line = text.substr(start, end + 1 - start);
            start = end + 1;
            // The time is the last field, written by ReviewFile::append as ISO 8601 UTC (no comma, no
            // quotes), so it compares as text with the manifest's "created".
            std::string time = line.substr(line.rfind(',') == std::string::npos ? 0 : line.rfind(',') + 1);
            while (!time.empty() && (time.back() == '\n' || time.back() == '\r'))
                time.pop_back();
            if (header || created.empty() || time <= created)
                kept += line;
            header = false;
        }
        return ReviewFile::parse(kept, displayPath(file));
    } catch (const std::exception& e) {
        notes.push_back(which + "'s review file cannot be read: " + e.what());
        return std::nullopt;
    }
}

/** The latest decision about a face: by its key, else (one face of a photo) by its photo's path, as applyReview. */
const ReviewDecision* decisionFor(const std::optional<ReviewFile>& review, const Record& r)
{
    if (!review)
        return nullptr;
    const std::string key = recordKey(r);
    if (const ReviewDecision* d = review->latestFor(key))
        return d;
    return key != r.path ? review->latestFor(r.path) : nullptr;
}

std::string decisionText(const ReviewDecision& d)
{
    std::string text;
    switch (d.action) {
    case ReviewAction::Exclude: text = "excluded in review"; break;
    case ReviewAction::Age: text = "age corrected in review to " + d.newLabel; break;
    case ReviewAction::Gender: text = "gender corrected in review to " + d.newLabel; break;
    default: text = std::string(reviewActionName(d.action)) + " in review"; break;
    }
    if (!d.time.empty())
        text += " (" + d.time + (d.reason.empty() ? "" : ": " + d.reason) + ")";
    return text;
}

/** Applies an age or gender decision to a copy of the record (what Prepare would have read). */
Record corrected(Record r, const ReviewDecision* d)
{
    if (d && d->action == ReviewAction::Age)
        r.age = d->newAge();
    if (d && d->action == ReviewAction::Gender)
        r.gender = d->newGender();
    return r;
}

/**
 * The first of a preparation's cleaning steps that drops `r`, or "" when all keep it. The steps are
 * applyFilters itself, on this one record: first with an image probe that passes, so the metadata
 * steps answer without touching the file; the file is probed only when none of them drops it.
 */
std::string droppingStep(const Record& r, const CleaningOptions& options, std::string& problem)
{
    const std::vector<Record> one{r};
    std::vector<StepReport> steps;
    std::vector<SkippedFile> skipped;
    ImageProbe pass;
    pass.ok = true;
    pass.width = pass.height = 1 << 20;
    std::vector<ImageProbe> probes{pass};
    if (applyFilters(one, probes, options, steps, skipped).empty())
        for (const StepReport& s : steps)
            if (s.removed > 0)
                return s.name;
    steps.clear();
    probes[0] = probeImage(r.path);
    if (applyFilters(one, probes, options, steps, skipped).empty())
        for (const StepReport& s : steps)
            if (s.removed > 0) {
                problem = skipped.empty() ? std::string() : skipped.front().problem;
                return s.name;
            }
    return {};
}

/** The problem a preparation's report gives for a file it skipped (unreadable, failed to decode), or "". */
std::string skippedProblem(const json& manifest, const std::string& path)
{
    for (const char* list : {"decode_skipped"}) {
        const auto it = manifest.find(list);
        if (it != manifest.end() && it->is_array())
            for (const auto& s : *it)
                if (s.is_object() && s.value("path", std::string()) == path)
                    return s.value("problem", std::string("skipped"));
    }
    const auto report = manifest.find("report");
    if (report != manifest.end() && report->is_object() && report->contains("skipped_files")
        && (*report)["skipped_files"].is_array())
        for (const auto& s : (*report)["skipped_files"])
            if (s.is_object() && s.value("path", std::string()) == path)
                return s.value("problem", std::string("skipped"));
    return {};
}

} // namespace

const char* faceChangeName(FaceChangeKind kind)
{
    switch (kind) {
    case FaceChangeKind::Removed: return "removed";
    case FaceChangeKind::Added: return "added";
    case FaceChangeKind::Relabelled: return "relabelled";
    }
    return "";
}

std::size_t PreparationDiff::count(FaceChangeKind kind) const
{
    return static_cast<std::size_t>(
        std::count_if(changes.begin(), changes.end(), [&](const FaceChange& c) { return c.change == kind; }));
}

std::size_t PreparationDiff::count(FaceChangeKind kind, const std::string& cause) const
{
    return static_cast<std::size_t>(std::count_if(
        changes.begin(), changes.end(), [&](const FaceChange& c) { return c.change == kind && c.cause == cause; }));
}

namespace {

/** Why a face's label differs between A and B: a review decision of B's, one of A's that B lacks, or the source. */
void explainRelabel(FaceChange& c, const Record& r, const Record& s, const std::optional<ReviewFile>& aReview,
                    const std::optional<ReviewFile>& bReview)
{
    const ReviewDecision* inB = decisionFor(bReview, s);
    const ReviewDecision* inA = decisionFor(aReview, r);
    const bool bAge = inB && inB->action == ReviewAction::Age && s.age == inB->newAge();
    const bool bGender = inB && inB->action == ReviewAction::Gender && s.gender == inB->newGender();
    if (bAge || bGender) {
        c.cause = "review";
        c.detail = decisionText(*inB);
    } else if (inA && (inA->action == ReviewAction::Age || inA->action == ReviewAction::Gender)) {
        c.cause = "review";
        c.detail = "A's correction (" + decisionText(*inA) + ") is not among B's decisions";
    } else {
        c.cause = "source";
        c.detail = "the source's label changed";
    }
}

/** Why a face of A is not in B: B's exclusion, a step of B's, an unreadable image, or the source. */
void explainRemoval(FaceChange& c, const Record& r, const std::optional<ReviewFile>& bReview,
                    const CleaningOptions& bSteps, const json& bm)
{
    const ReviewDecision* d = decisionFor(bReview, r);
    std::string problem;
    if (d && d->action == ReviewAction::Exclude) {
        c.cause = "review";
        c.detail = decisionText(*d);
    } else if (const std::string step = droppingStep(corrected(r, d), bSteps, problem); !step.empty()) {
        c.cause = "step";
        c.detail = step;
        const std::string setting = problem.empty() ? stepSetting(step, bSteps) : problem;
        if (!setting.empty())
            c.detail += " (" + setting + ")";
        if (d && (d->action == ReviewAction::Age || d->action == ReviewAction::Gender))
            c.detail += ", after " + decisionText(*d);
    } else if (const std::string skipped = skippedProblem(bm, r.path); !skipped.empty()) {
        c.cause = "step";
        c.detail = "missing or unreadable image (" + skipped + ")";
    } else {
        c.cause = "source";
        c.detail = "B's steps and review keep it: not among B's source records";
    }
}

/** Why a face of B is not in A: an exclusion of A's, a step of A's, an image A could not read, or new in the source. */
void explainAddition(FaceChange& c, const Record& s, const std::optional<ReviewFile>& aReview,
                     const CleaningOptions& aSteps, const json& am)
{
    const ReviewDecision* inA = decisionFor(aReview, s);
    std::string problem;
    if (inA && inA->action == ReviewAction::Exclude) {
        c.cause = "review";
        c.detail = "A's exclusion (" + decisionText(*inA) + ") is not among B's decisions";
    } else if (const std::string step = droppingStep(s, aSteps, problem); !step.empty()) {
        c.cause = "step";
        c.detail = "A's step " + step;
        const std::string setting = stepSetting(step, aSteps);
        if (!setting.empty())
            c.detail += " (" + setting + ")";
        c.detail += " dropped it; B's settings keep it";
    } else if (const std::string skipped = skippedProblem(am, s.path); !skipped.empty()) {
        c.cause = "step";
        c.detail = "A could not read the image (" + skipped + ")";
    } else {
        c.cause = "source";
        c.detail = "new in the source";
    }
}

/** Each face's key (recordKey) and the first row that holds it. */
std::unordered_map<std::string, size_t> firstRowOfEachKey(const PreparedDataset& data)
{
    std::unordered_map<std::string, size_t> rows;
    rows.reserve(data.count());
    for (size_t i = 0; i < data.count(); ++i)
        rows.emplace(recordKey(data.records()[i]), i);
    return rows;
}

} // namespace

namespace {

/** One side of a diff: the preparation, its manifest, each key's first row, its steps and its review as of then. */
struct DiffSide {
    const PreparedDataset& data;
    const json& manifest;
    const std::unordered_map<std::string, size_t>& rows;
    const CleaningOptions& steps;
    const std::optional<ReviewFile>& review;
};

/** The changes found so far, in the three lists diffPreparations joins, and the faces found unchanged. */
struct ChangeLists {
    std::vector<FaceChange> removed, added, relabelled;
    std::size_t unchanged = 0;
};

/** Each face of A, at its key's first row: unchanged in B, relabelled in B, or removed from B (with why). */
void compareFacesOfA(const DiffSide& a, const DiffSide& b, ChangeLists& out)
{
    for (size_t i = 0; i < a.data.count(); ++i) {
        const Record& r = a.data.records()[i];
        const std::string key = recordKey(r);
        if (a.rows.at(key) != i)
            continue; // a repeated key: counted at its first row
        const auto other = b.rows.find(key);
        FaceChange c;
        c.key = key;
        c.aRow = static_cast<long long>(i);
        c.oldAge = r.age;
        c.oldGender = r.gender;
        if (other != b.rows.end()) {
            const Record& s = b.data.records()[other->second];
            if (s.age == r.age && s.gender == r.gender) {
                ++out.unchanged;
                continue;
            }
            c.change = FaceChangeKind::Relabelled;
            c.bRow = static_cast<long long>(other->second);
            c.newAge = s.age;
            c.newGender = s.gender;
            explainRelabel(c, r, s, a.review, b.review);
            out.relabelled.push_back(std::move(c));
            continue;
        }
        c.change = FaceChangeKind::Removed;
        explainRemoval(c, r, b.review, b.steps, b.manifest);
        out.removed.push_back(std::move(c));
    }
}

/** Each face of B, at its key's first row, that A does not have: added (with why). */
void collectAdditions(const DiffSide& a, const DiffSide& b, ChangeLists& out)
{
    for (size_t i = 0; i < b.data.count(); ++i) {
        const Record& s = b.data.records()[i];
        const std::string key = recordKey(s);
        if (a.rows.count(key) || b.rows.at(key) != i)
            continue;
        FaceChange c;
        c.change = FaceChangeKind::Added;
        c.key = key;
        c.bRow = static_cast<long long>(i);
        c.newAge = s.age;
        c.newGender = s.gender;
        explainAddition(c, s, a.review, a.steps, a.manifest);
        out.added.push_back(std::move(c));
    }
}

} // namespace

PreparationDiff diffPreparations(const fs::path& aDir, const fs::path& bDir)
{
    const PreparedDataset a = PreparedDataset::open(aDir), b = PreparedDataset::open(bDir);
    const json am = json::parse(a.manifestJson()), bm = json::parse(b.manifestJson());
    const std::string aFile = displayPath(a.dir() / PreparedDataset::kManifest),
                      bFile = displayPath(b.dir() / PreparedDataset::kManifest);
    if (!sameSource(am, bm))
        throw Error(bFile + ": prepared from " + b.sourceSpec() + ", but " + aFile + " from " + a.sourceSpec()
                    + ": a diff compares two preparations of one source");
    PreparationDiff diff;
    diff.a = readPreparationVersion(a.dir());
    diff.b = readPreparationVersion(b.dir());
    const std::string kind = am.value("source_kind", std::string());
    const CleaningOptions aSteps = cleaningOf(am.value("settings", json::object()), kind);
    const CleaningOptions bSteps = cleaningOf(bm.value("settings", json::object()), kind);
    const std::optional<ReviewFile> aReview = reviewAsOf(am, "A", diff.notes);
    const std::optional<ReviewFile> bReview = reviewAsOf(bm, "B", diff.notes);

    // A face is the same face in two preparations when its source path is (recordKey: the path, or
    // PATH#faceN for one of several faces of a photo). That is what records.bin, the review file and the
    // fingerprint key faces by; rows are renumbered by every preparation (a step dropping one face
    // shifts all after it) and the stored pixels change with the size and framing, so neither names a
    // face across preparations. A key repeated within one preparation counts once (its first row).
    const std::unordered_map<std::string, size_t> aRows = firstRowOfEachKey(a), bRows = firstRowOfEachKey(b);
    const DiffSide aSide{a, am, aRows, aSteps, aReview}, bSide{b, bm, bRows, bSteps, bReview};

    ChangeLists lists;
    compareFacesOfA(aSide, bSide, lists);
    collectAdditions(aSide, bSide, lists);
    diff.unchanged = lists.unchanged;
    diff.changes = std::move(lists.removed);
    diff.changes.insert(diff.changes.end(), std::make_move_iterator(lists.added.begin()),
                        std::make_move_iterator(lists.added.end()));
    diff.changes.insert(diff.changes.end(), std::make_move_iterator(lists.relabelled.begin()),
                        std::make_move_iterator(lists.relabelled.end()));
    return diff;
}

} // namespace faceatlas
