#include "data/DatasetHistory.h"

#include "data/Cleaning.h"
#include "data/FaceQuality.h"
#include "data/ImageIO.h"
#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "data/ReviewFile.h"
#include "data/SourceColumns.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <unordered_map>

namespace faceatlas {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

fs::path normal(const fs::path& p)
{
    return fs::absolute(p).lexically_normal();
}

/** The files FaceAtlas writes in a preparation: the only ones history counts, a version links and removal deletes. */
std::vector<std::string> preparationFiles()
{
    // outputKindNames lists the files every preparation has; the CSV's further columns and the quality
    // columns are written beside them when there are any.
    std::vector<std::string> names = outputKindNames(OutputKind::Prepared);
    for (const char* extra : {kSourceColumnsFile, kQualityFile})
        if (std::find(names.begin(), names.end(), extra) == names.end())
            names.push_back(extra);
    return names;
}

json readManifest(const fs::path& dir)
{
    const fs::path file = dir / PreparedDataset::kManifest;
    return parseJsonBounded(readFile(file, PreparedDataset::kMaxManifestBytes), displayPath(file), 16, 20'000'000);
}

std::string number(double v)
{
    std::ostringstream out;
    out << v;
    return out.str();
}

/** The settings of prepared.json in one line, in the Dataset page's words. */
std::string settingsLine(const json& s, const std::string& sourceKind)
{
    if (!s.is_object())
        return {};
    std::string line = std::to_string(s.value("size", 0)) + " px, " + s.value("framing", std::string("?"));
    if (s.value("faces", std::string("best")) == "every")
        line += ", every face";
    const bool detector = s.value("framing", std::string()) == "aligned" && sourceKind != "imdb-wiki";
    if (s.value("filter_face_score", true))
        line += ", face score >= " + number(s.value(detector ? "min_detector_score" : "min_face_score", 0.0));
    if (s.value("filter_age", true))
        line += ", ages " + std::to_string(s.value("age_min", 0)) + "-" + std::to_string(s.value("age_max", 0));
    if (s.value("min_image_size", 0) > 0)
        line += ", image >= " + std::to_string(s.value("min_image_size", 0)) + " px";
    if (s.value("max_yaw", 0.0) > 0)
        line += ", yaw <= " + number(s.value("max_yaw", 0.0));
    if (s.value("min_face_size", 0) > 0)
        line += ", face >= " + std::to_string(s.value("min_face_size", 0)) + " px";
    if (!s.value("drop_multiple_faces", true))
        line += ", second faces kept";
    if (s.value("val_count", -1LL) >= 0)
        line += ", validation " + std::to_string(s.value("val_count", -1LL));
    else
        line += ", validation " + number(s.value("val_fraction", 0.2));
    line += ", balance " + s.value("balance", std::string("age")) + ", seed " + std::to_string(s.value("seed", 0ULL));
    if (s.contains("review"))
        line += ", review";
    return line;
}

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
        return "minimum " + number(c.minFaceScore);
    if (step == "age outside range")
        return "ages " + std::to_string(c.ageMin) + "-" + std::to_string(c.ageMax);
    if (step == "image smaller than minimum")
        return "minimum " + std::to_string(c.minImageSize) + " px";
    if (step == "face turned too far")
        return "at most " + number(c.maxYaw) + " degrees";
    if (step == "face smaller than minimum")
        return "minimum " + std::to_string(c.minFaceSize) + " px";
    return {};
}

/** Allocated bytes of the preparation's own files, and of those another folder links too. */
void diskUse(const fs::path& dir, std::uint64_t& bytes, std::uint64_t& shared)
{
    bytes = shared = 0;
    for (const std::string& name : preparationFiles()) {
        struct stat st {};
        if (::lstat((dir / name).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        const std::uint64_t b = static_cast<std::uint64_t>(st.st_blocks) * 512u;
        bytes += b;
        if (st.st_nlink > 1)
            shared += b;
    }
}

bool sameSource(const json& a, const json& b)
{
    if (a.value("source_kind", std::string()) != b.value("source_kind", std::string()))
        return false;
    const std::string la = a.value("location", std::string()), lb = b.value("location", std::string());
    if (!la.empty() && !lb.empty())
        return la == lb;
    return a.value("source", std::string()) == b.value("source", std::string());
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

std::string ageText(const std::optional<int>& age)
{
    return age ? std::to_string(*age) : std::string();
}

json versionJson(const PreparationVersion& v)
{
    return {{"dir", displayPath(v.dir)},
            {"fingerprint", v.fingerprint},
            {"created", v.created},
            {"source", v.source},
            {"size", v.size},
            {"count", v.count},
            {"settings", v.settings},
            {"review_file", v.reviewFile}};
}

} // namespace

PreparationVersion readPreparationVersion(const fs::path& dir)
{
    const PreparedDataset data = PreparedDataset::open(dir);
    const fs::path manifestPath = dir / PreparedDataset::kManifest;
    PreparationVersion v;
    v.dir = data.dir();
    v.fingerprint = datasetFingerprint(data);
    v.count = data.count();
    v.size = data.imageSize();
    v.source = data.sourceSpec();
    try {
        // PreparedDataset::open checked it; the fields history shows are read leniently.
        const json m = json::parse(data.manifestJson());
        v.sourceKind = m.value("source_kind", std::string());
        v.location = m.value("location", std::string());
        v.created = m.value("created", std::string());
        v.settings = settingsLine(m.value("settings", json::object()), v.sourceKind);
        const json report = m.value("report", json::object());
        v.train = report.value("train", size_t(0));
        v.val = report.value("val", size_t(0));
        if (report.contains("review") && report["review"].is_object()) {
            const json& r = report["review"];
            v.reviewFile = r.value("file", std::string());
            v.reviewDecisions = r.value("decisions", size_t(0));
            v.reviewExcluded = r.value("excluded", size_t(0));
            v.reviewAgeCorrected = r.value("age_corrected", size_t(0));
            v.reviewGenderCorrected = r.value("gender_corrected", size_t(0));
        }
    } catch (const json::exception& e) {
        throw Error(displayPath(manifestPath) + ": " + e.what());
    }
    v.kept = v.dir.parent_path().filename() == kVersionsFolder;
    diskUse(v.dir, v.bytes, v.sharedBytes);
    return v;
}

std::vector<PreparationVersion> preparationHistory(const fs::path& dir, std::vector<std::string>* problems)
{
    const PreparationVersion self = readPreparationVersion(dir);
    const json selfManifest = readManifest(self.dir);
    // The workspace keeps one preparation per source and image size in prepared/, and the ones it
    // replaced in prepared/versions/: both folders, whichever of them `dir` is in.
    fs::path home = self.dir.parent_path();
    if (self.kept)
        home = home.parent_path();
    std::vector<PreparationVersion> versions;
    for (const fs::path& folder : {home, home / kVersionsFolder}) {
        std::error_code ec;
        for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            std::error_code fileError;
            if (name.empty() || name[0] == '.'
                || !fs::is_regular_file(fs::symlink_status(it->path() / PreparedDataset::kManifest, fileError)))
                continue;
            try {
                if (normal(it->path()) == self.dir) {
                    versions.push_back(self);
                    continue;
                }
                if (!sameSource(readManifest(it->path()), selfManifest))
                    continue;
                versions.push_back(readPreparationVersion(it->path()));
            } catch (const std::exception& e) {
                if (problems)
                    problems->push_back(e.what());
            }
        }
    }
    if (std::none_of(versions.begin(), versions.end(), [&](const auto& v) { return v.dir == self.dir; }))
        versions.push_back(self);
    // Times are whole seconds: at the same time, a kept version first (it was replaced by the other).
    std::sort(versions.begin(), versions.end(), [](const PreparationVersion& a, const PreparationVersion& b) {
        return std::make_tuple(a.created, !a.kept, a.dir) < std::make_tuple(b.created, !b.kept, b.dir);
    });
    return versions;
}

fs::path keepPreparationVersion(const fs::path& dir)
{
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(dir / PreparedDataset::kManifest, ec))
        || !inspectOutputFolder(dir, OutputKind::Prepared).sameKind)
        return {};
    const fs::path from = normal(dir);
    std::string created;
    try {
        created = readManifest(from).value("created", std::string());
    } catch (const std::exception&) {
        return {}; // a damaged preparation is not a version worth keeping
    }
    created.erase(std::remove_if(created.begin(), created.end(), [](char c) { return c == ':' || c == '-'; }),
                  created.end());
    const fs::path versions = from.parent_path() / kVersionsFolder;
    fs::create_directories(versions, ec);
    if (ec)
        throw Error(displayPath(versions) + ": cannot create the folder for earlier versions: " + ec.message());
    fs::path target = versions / (from.filename().string() + "-" + (created.empty() ? "unknown" : created));
    for (int n = 2; fs::exists(fs::symlink_status(target, ec)); ++n)
        target = versions / (from.filename().string() + "-" + created + "-" + std::to_string(n));
    // Linked into a temporary folder and renamed whole, so a version folder is never half there.
    const fs::path work = versions / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
    fs::remove_all(work, ec);
    fs::create_directory(work, ec);
    if (ec)
        throw Error(displayPath(work) + ": " + ec.message());
    try {
        for (const std::string& name : preparationFiles()) {
            const fs::path file = from / name;
            if (!fs::is_regular_file(fs::symlink_status(file, ec)))
                continue;
            // A preparation's files never change once its manifest exists (prepare writes a new folder
            // and swaps it in), so a link is the preparation as it is now, and stays so.
            fs::create_hard_link(file, work / name, ec);
            if (ec)
                fs::copy_file(file, work / name);
        }
        PreparedDataset::open(work); // a swap while linking gives a mix: not kept
        fs::rename(work, target);
    } catch (const std::exception& e) {
        fs::remove_all(work, ec); // ours: links to the preparation's files, or copies
        throw Error(displayPath(from) + ": cannot keep it as a version: " + e.what());
    }
    return target;
}

void settleKeptVersion(const fs::path& kept, const fs::path& dir)
{
    if (kept.empty())
        return;
    try {
        if (datasetFingerprint(kept) == datasetFingerprint(dir))
            removePreparation(kept, dir);
    } catch (const std::exception&) {
        // Kept: an extra version the user can remove is better than one lost.
    }
}

RemovedPreparation removePreparation(const fs::path& dir, const fs::path& open)
{
    std::error_code ec;
    const auto status = fs::symlink_status(dir, ec);
    if (fs::is_symlink(status))
        throw Error(displayPath(dir) + ": a symbolic link, not a preparation: nothing removed");
    if (!fs::is_directory(status))
        throw Error(displayPath(dir) + ": no such folder: nothing removed");
    if (!inspectOutputFolder(dir, OutputKind::Prepared).sameKind
        || !fs::is_regular_file(fs::symlink_status(dir / PreparedDataset::kManifest, ec)))
        throw Error(displayPath(dir)
                    + ": not a FaceAtlas preparation (it has no prepared.json of format "
                      "faceatlas-prepared): nothing removed");
    if (!open.empty() && fs::exists(open, ec) && fs::equivalent(dir, open, ec))
        throw Error(displayPath(dir) + ": is the preparation open; open another before removing it: nothing removed");
    RemovedPreparation removed;
    std::uint64_t bytes = 0, shared = 0;
    diskUse(dir, bytes, shared);
    removed.freed = bytes - shared;
    // Only FaceAtlas's names, the manifest last: a folder cut short by a failure stays recognisable.
    std::vector<std::string> names = preparationFiles();
    std::stable_partition(names.begin(), names.end(),
                          [](const std::string& n) { return n != PreparedDataset::kManifest; });
    for (const std::string& name : names) {
        const fs::path file = dir / name;
        if (!fs::is_regular_file(fs::symlink_status(file, ec)))
            continue;
        if (!fs::remove(file, ec) && ec)
            throw Error(displayPath(file) + ": cannot remove it: " + ec.message());
    }
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        removed.leftFiles.push_back(it->path().filename().string());
    if (removed.leftFiles.empty())
        fs::remove(dir, ec);
    return removed;
}

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

    std::vector<FaceChange> removed, added, relabelled;
    for (size_t i = 0; i < a.count(); ++i) {
        const Record& r = a.records()[i];
        const std::string key = recordKey(r);
        if (aRows.at(key) != i)
            continue; // a repeated key: counted at its first row
        const auto other = bRows.find(key);
        FaceChange c;
        c.key = key;
        c.aRow = static_cast<long long>(i);
        c.oldAge = r.age;
        c.oldGender = r.gender;
        if (other != bRows.end()) {
            const Record& s = b.records()[other->second];
            if (s.age == r.age && s.gender == r.gender) {
                ++diff.unchanged;
                continue;
            }
            c.change = FaceChangeKind::Relabelled;
            c.bRow = static_cast<long long>(other->second);
            c.newAge = s.age;
            c.newGender = s.gender;
            explainRelabel(c, r, s, aReview, bReview);
            relabelled.push_back(std::move(c));
            continue;
        }
        c.change = FaceChangeKind::Removed;
        explainRemoval(c, r, bReview, bSteps, bm);
        removed.push_back(std::move(c));
    }
    for (size_t i = 0; i < b.count(); ++i) {
        const Record& s = b.records()[i];
        const std::string key = recordKey(s);
        if (aRows.count(key) || bRows.at(key) != i)
            continue;
        FaceChange c;
        c.change = FaceChangeKind::Added;
        c.key = key;
        c.bRow = static_cast<long long>(i);
        c.newAge = s.age;
        c.newGender = s.gender;
        explainAddition(c, s, aReview, aSteps, am);
        added.push_back(std::move(c));
    }
    diff.changes = std::move(removed);
    diff.changes.insert(diff.changes.end(), std::make_move_iterator(added.begin()),
                        std::make_move_iterator(added.end()));
    diff.changes.insert(diff.changes.end(), std::make_move_iterator(relabelled.begin()),
                        std::make_move_iterator(relabelled.end()));
    return diff;
}

std::string diffCsv(const PreparationDiff& diff)
{
    std::string out = "path,change,cause,detail,old_age,new_age,old_gender,new_gender\n";
    for (const FaceChange& c : diff.changes)
        out += csvField(c.key) + ',' + faceChangeName(c.change) + ',' + c.cause + ',' + csvField(c.detail) + ','
               + ageText(c.oldAge) + ',' + ageText(c.newAge) + ',' + genderName(c.oldGender) + ','
               + genderName(c.newGender) + '\n';
    return out;
}

std::string diffJson(const PreparationDiff& diff, int indent)
{
    json counts = json::object();
    for (const FaceChangeKind kind : {FaceChangeKind::Removed, FaceChangeKind::Added, FaceChangeKind::Relabelled}) {
        json byCause = json::object();
        for (const char* cause : {"review", "step", "source"})
            byCause[cause] = diff.count(kind, cause);
        counts[faceChangeName(kind)] = {{"total", diff.count(kind)}, {"by_cause", byCause}};
    }
    counts["unchanged"] = diff.unchanged;
    json changes = json::array();
    for (const FaceChange& c : diff.changes)
        changes.push_back({{"path", c.key},
                           {"change", faceChangeName(c.change)},
                           {"cause", c.cause},
                           {"detail", c.detail},
                           {"old_age", c.oldAge ? json(*c.oldAge) : json()},
                           {"new_age", c.newAge ? json(*c.newAge) : json()},
                           {"old_gender", genderName(c.oldGender)},
                           {"new_gender", genderName(c.newGender)},
                           {"a_row", c.aRow},
                           {"b_row", c.bRow}});
    const json out = {{"format", outputKindFormat(OutputKind::Diff)},
                      {"version", 1},
                      {"created", utcTimestamp()},
                      {"a", versionJson(diff.a)},
                      {"b", versionJson(diff.b)},
                      {"counts", counts},
                      {"notes", diff.notes},
                      {"changes", changes}};
    return jsonText(out, indent);
}

std::string diffSummary(const PreparationDiff& diff)
{
    std::string out = "A: " + displayPath(diff.a.dir) + " (" + diff.a.created + ", " + std::to_string(diff.a.count)
                      + " faces)\nB: " + displayPath(diff.b.dir) + " (" + diff.b.created + ", "
                      + std::to_string(diff.b.count) + " faces)\n";
    for (const FaceChangeKind kind : {FaceChangeKind::Removed, FaceChangeKind::Added, FaceChangeKind::Relabelled}) {
        out += std::string(faceChangeName(kind)) + ": " + std::to_string(diff.count(kind));
        std::string causes;
        for (const char* cause : {"review", "step", "source"})
            if (const size_t n = diff.count(kind, cause))
                causes += (causes.empty() ? "" : ", ") + std::to_string(n) + " by " + cause;
        out += (causes.empty() ? "" : " (" + causes + ")") + "\n";
    }
    out += "unchanged: " + std::to_string(diff.unchanged) + "\n";
    for (const std::string& note : diff.notes)
        out += "note: " + note + "\n";
    return out;
}

void writeDiff(const PreparationDiff& diff, const fs::path& out)
{
    const OutputRules rules{false, {diff.a.dir, diff.b.dir}};
    StagedFolder staged(out, OutputKind::Diff, rules);
    writeFileAtomic(staged.work() / "diff.csv", diffCsv(diff));
    writeFileAtomic(staged.work() / "diff.json", diffJson(diff) + "\n"); // the manifest, last
    staged.commit();
}

} // namespace faceatlas
