#include "data/DatasetHistory.h"

#include "data/FaceQuality.h"
#include "data/HistoryManifest.h"
#include "data/PreparedDataset.h"
#include "data/Provenance.h"
#include "data/SourceColumns.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/OutputFolder.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>

// The versions of a dataset: reading a preparation's folder as a version, listing a source's
// versions, keeping and removing them. Comparing two of them is DatasetDiff.cpp, writing the
// comparison DatasetDiffFiles.cpp.

namespace faceatlas {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string settingNumber(double v)
{
    std::ostringstream out;
    out << v;
    return out.str();
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
        line += ", face score >= " + settingNumber(s.value(detector ? "min_detector_score" : "min_face_score", 0.0));
    if (s.value("filter_age", true))
        line += ", ages " + std::to_string(s.value("age_min", 0)) + "-" + std::to_string(s.value("age_max", 0));
    if (s.value("min_image_size", 0) > 0)
        line += ", image >= " + std::to_string(s.value("min_image_size", 0)) + " px";
    if (s.value("max_yaw", 0.0) > 0)
        line += ", yaw <= " + settingNumber(s.value("max_yaw", 0.0));
    if (s.value("min_face_size", 0) > 0)
        line += ", face >= " + std::to_string(s.value("min_face_size", 0)) + " px";
    if (!s.value("drop_multiple_faces", true))
        line += ", second faces kept";
    if (s.value("val_count", -1LL) >= 0)
        line += ", validation " + std::to_string(s.value("val_count", -1LL));
    else
        line += ", validation " + settingNumber(s.value("val_fraction", 0.2));
    line += ", balance " + s.value("balance", std::string("age")) + ", seed " + std::to_string(s.value("seed", 0ULL));
    if (s.contains("review"))
        line += ", review";
    return line;
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

} // namespace faceatlas
