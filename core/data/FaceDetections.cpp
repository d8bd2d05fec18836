#include "data/FaceDetections.h"

#include "util/FileUtil.h"
#include "util/Parallel.h"
#include "util/ProgressThrottle.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <opencv2/core.hpp>
#include <unordered_map>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

/**
 * What the findings depend on: the detector and its scan settings (data/FaceAlign.cpp's findFaces).
 * Changing how faces are found changes this word, and every cached finding is found again.
 */
constexpr char kMagic[8] = {'F', 'A', 'F', 'A', 'C', 'E', '0', '2'}; // 02: every face of a picture, not only the best
constexpr const char* kDetectorVersion = "dlib-hog-68|scan 240-900|turn 25|v1";

/** Bytes of one face: faces, score, second, box, landmarks, roll, yaw. */
constexpr size_t kFaceBytes = 4 + 4 + 4 + 4 * 4 + 2 * kLandmarkPoints * 4 + 4 + 4;
/** Bytes of one entry after its name, with no other faces: size, time, the best face, the count of the others. */
constexpr size_t kFindingBytes = 8 + 8 + kFaceBytes + 2;

template <typename T>
void put(std::string& out, const T& value)
{
    out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
bool get(const char*& p, const char* end, T& value)
{
    if (static_cast<size_t>(end - p) < sizeof(T))
        return false;
    std::memcpy(&value, p, sizeof(T));
    p += sizeof(T);
    return true;
}

bool getString(const char*& p, const char* end, std::string& s)
{
    std::uint32_t n = 0;
    if (!get(p, end, n) || static_cast<size_t>(end - p) < n)
        return false;
    s.assign(p, n);
    p += n;
    return true;
}

void putString(std::string& out, const std::string& s)
{
    put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
    out += s;
}

void putFace(std::string& out, const FaceFinding& f)
{
    put<std::int32_t>(out, f.faces);
    put<float>(out, f.score);
    put<float>(out, f.secondScore);
    for (float v : f.box)
        put<float>(out, v);
    for (float v : f.landmarks)
        put<float>(out, v);
    put<float>(out, f.roll);
    put<float>(out, f.yaw);
}

bool getFace(const char*& p, const char* end, FaceFinding& f)
{
    std::int32_t faces = 0;
    if (!get(p, end, faces) || faces < 0 || !get(p, end, f.score) || !get(p, end, f.secondScore))
        return false;
    for (float& v : f.box)
        if (!get(p, end, v))
            return false;
    for (float& v : f.landmarks)
        if (!get(p, end, v))
            return false;
    f.faces = faces;
    return get(p, end, f.roll) && get(p, end, f.yaw);
}

/** Most faces a detector could count in one picture (dlib's 80 px windows over 50 megapixels: under 10,000). */
constexpr int kMaxFacesCounted = 100'000;
/** HOG detector confidences are about 0-3; anything beyond this is not one. */
constexpr float kMaxScore = 100;

std::string number(float v)
{
    char text[32];
    std::snprintf(text, sizeof text, "%g", static_cast<double>(v));
    return text;
}

/**
 * Why a face read from a cache file is not one the detector could have written (empty when it
 * could): a face found has a count, finite scores, a box with its corners in order, landmarks near
 * the box (within its size of it) and a pose in degrees; a picture with no face has nothing but
 * NaN. A flipped bit in a float's exponent multiplies it by up to 2^64 and is caught here; where
 * the box is in the picture is checked against the picture (checkCachedFinding).
 */
std::string faceProblem(const FaceFinding& f)
{
    if (f.faces == 0) {
        bool nothing = f.score == -std::numeric_limits<float>::infinity() && std::isnan(f.secondScore)
                       && std::isnan(f.roll) && std::isnan(f.yaw);
        for (float v : f.box)
            nothing = nothing && std::isnan(v);
        for (float v : f.landmarks)
            nothing = nothing && std::isnan(v);
        return nothing ? std::string() : "no face found, yet a score, box, landmark or pose";
    }
    if (f.faces < 0 || f.faces > kMaxFacesCounted)
        return "a count of " + std::to_string(f.faces) + " faces";
    if (!(std::abs(f.score) <= kMaxScore))
        return "face score " + number(f.score);
    if (!std::isnan(f.secondScore) && !(std::abs(f.secondScore) <= kMaxScore))
        return "second face score " + number(f.secondScore);
    for (int k = 0; k < 4; ++k)
        if (!std::isfinite(f.box[k]))
            return "face box coordinate " + number(f.box[k]);
    if (!(f.box[0] < f.box[2] && f.box[1] < f.box[3]))
        return "face box (" + number(f.box[0]) + ", " + number(f.box[1]) + ")-(" + number(f.box[2]) + ", "
               + number(f.box[3]) + ") with its corners out of order";
    // dlib's landmarks may stand out of the box (a chin below it), never by the box's own size.
    const float margin = std::max(f.box[2] - f.box[0], f.box[3] - f.box[1]);
    for (int i = 0; i < kLandmarkPoints; ++i) {
        const float x = f.landmarks[2 * i], y = f.landmarks[2 * i + 1];
        if (!(x >= f.box[0] - margin && x <= f.box[2] + margin && y >= f.box[1] - margin && y <= f.box[3] + margin))
            return "landmark " + std::to_string(i) + " at (" + number(x) + ", " + number(y)
                   + "), far outside its face box";
    }
    if (!(std::abs(f.roll) <= 180) || !(std::abs(f.yaw) <= 90))
        return "head pose (roll " + number(f.roll) + ", yaw " + number(f.yaw) + " degrees)";
    return {};
}

fs::path cacheFile(const std::string& folder)
{
    return cacheDir() / "faces" / (hexKey(fnv1a64(std::string(kDetectorVersion) + "|" + folder)) + ".faces");
}

} // namespace

const char* faceDetectorVersion()
{
    return kDetectorVersion;
}

std::string serializeFindings(const std::string& folder, const std::vector<std::string>& names,
                              const std::vector<ImageProbe>& probes, const std::vector<FaceFinding>& findings,
                              const std::vector<std::vector<FaceFinding>>& others)
{
    std::string out;
    out.append(kMagic, sizeof kMagic);
    putString(out, kDetectorVersion);
    putString(out, folder); // stored, so that a hash collision never returns another folder's findings
    put<std::uint64_t>(out, names.size());
    for (size_t i = 0; i < names.size(); ++i) {
        putString(out, names[i]);
        put<std::int64_t>(out, probes[i].fileSize);
        put<std::int64_t>(out, probes[i].modifiedNs);
        putFace(out, findings[i]);
        const size_t more = i < others.size() ? std::min<size_t>(others[i].size(), kMaxFacesKept - 1) : 0;
        put<std::uint16_t>(out, static_cast<std::uint16_t>(more));
        for (size_t k = 0; k < more; ++k)
            putFace(out, others[i][k]);
    }
    return out;
}

bool parseFindings(const std::string& bytes, const std::string& folder,
                   std::vector<std::pair<std::string, CachedFinding>>& out, std::string* problem)
{
    out.clear();
    std::string ignored;
    std::string& why = problem ? *problem : ignored;
    why.clear();
    const auto refuse = [&](std::string text) {
        why = std::move(text);
        out.clear();
        return false;
    };
    const char* p = bytes.data();
    const char* end = p + bytes.size();
    if (bytes.size() < sizeof kMagic || std::memcmp(p, kMagic, sizeof kMagic) != 0)
        return refuse("not a face findings cache (" + std::string(kMagic, sizeof kMagic) + ")");
    p += sizeof kMagic;
    std::string version, storedFolder;
    std::uint64_t n = 0;
    if (!getString(p, end, version) || version != kDetectorVersion)
        return refuse("findings of another detector version");
    if (!getString(p, end, storedFolder) || storedFolder != folder)
        return refuse("findings of another folder");
    // Counts are checked against the bytes there before they size anything.
    if (!get(p, end, n) || n > static_cast<size_t>(end - p) / (4 + kFindingBytes))
        return refuse("an entry count larger than the file");
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        std::string name;
        CachedFinding c;
        std::int64_t size = 0, time = 0;
        std::uint16_t more = 0;
        const std::string entry = "entry " + std::to_string(i + 1);
        if (!getString(p, end, name) || !get(p, end, size) || !get(p, end, time) || !getFace(p, end, c.finding)
            || !get(p, end, more) || more > static_cast<size_t>(end - p) / kFaceBytes)
            return refuse(entry + " cut short");
        // A file name of the folder, as detectFaces keys them (std::filesystem's filename()).
        if (name.empty() || name == "." || name == ".."
            || name.find_first_of(std::string("/\0", 2)) != std::string::npos)
            return refuse(entry + ": not a file name");
        const std::string what = entry + " (" + name.substr(0, 200) + ")";
        if (size < 0)
            return refuse(what + ": a file size of " + std::to_string(size) + " bytes");
        // What a detector could have written: other faces only beside a best one, fewer than it
        // counted and than it keeps, and every face a face (faceProblem).
        if (more >= kMaxFacesKept || more >= std::max(c.finding.faces, 1))
            return refuse(what + ": " + std::to_string(more) + " other faces where " + std::to_string(c.finding.faces)
                          + " were counted");
        if (const std::string bad = faceProblem(c.finding); !bad.empty())
            return refuse(what + ": " + bad);
        c.others.resize(more);
        for (size_t k = 0; k < c.others.size(); ++k) {
            FaceFinding& f = c.others[k];
            if (!getFace(p, end, f))
                return refuse(what + " cut short");
            if (const std::string bad = f.found() ? faceProblem(f) : "another face not found"; !bad.empty())
                return refuse(what + ", face " + std::to_string(k + 2) + ": " + bad);
        }
        c.fileSize = size;
        c.modifiedNs = time;
        out.emplace_back(std::move(name), std::move(c));
    }
    if (p != end)
        return refuse(std::to_string(end - p) + " bytes after the last entry");
    return true;
}

bool checkCachedFinding(const CachedFinding& c, int width, int height, std::string& problem)
{
    // The coordinates are the upright picture's (a JPEG turned by its EXIF orientation swaps the
    // sides); a box may stand out of the picture (a face cut by its edge, or found in the picture
    // turned by 25 degrees), never by more than the picture's size.
    const float side = static_cast<float>(std::max(width, height));
    const auto fits = [&](const FaceFinding& f) {
        if (!f.found())
            return true;
        for (float v : f.box)
            if (!(v >= -side && v <= 2 * side))
                return false;
        return true;
    };
    if (!fits(c.finding)) {
        problem = "face box (" + number(c.finding.box[0]) + ", " + number(c.finding.box[1]) + ")-("
                  + number(c.finding.box[2]) + ", " + number(c.finding.box[3]) + ") far outside the "
                  + std::to_string(width) + "x" + std::to_string(height) + " picture";
        return false;
    }
    for (size_t k = 0; k < c.others.size(); ++k)
        if (!fits(c.others[k])) {
            problem = "face " + std::to_string(k + 2) + "'s box far outside the " + std::to_string(width) + "x"
                      + std::to_string(height) + " picture";
            return false;
        }
    return true;
}

namespace {

/** Each folder's cached findings by file name. */
using FolderCaches = std::map<std::string, std::unordered_map<std::string, CachedFinding>>;

/** The pictures a pass is about: their paths, their probes and which of them are wanted. */
struct PassPictures {
    const std::vector<std::string>& paths;
    const std::vector<ImageProbe>& probes;
    const std::vector<char>& wanted;
};

/** A pass with one empty slot per picture. */
DetectionPass emptyPass(size_t n)
{
    DetectionPass pass;
    pass.findings.resize(n);
    pass.others.resize(n);
    pass.looked.assign(n, 0);
    pass.problems.resize(n);
    return pass;
}

/** The wanted pictures' positions by the folder they are in. */
std::map<std::string, std::vector<size_t>> groupByFolder(const PassPictures& pictures)
{
    std::map<std::string, std::vector<size_t>> byFolder;
    for (size_t i = 0; i < pictures.paths.size(); ++i)
        if (pictures.wanted[i])
            byFolder[fs::path(pictures.paths[i]).parent_path().string()].push_back(i);
    return byFolder;
}

/** Whether a cached finding is of the file as it is now (same size and modification time). */
bool cachedIsCurrent(const CachedFinding& c, const ImageProbe& probe)
{
    return c.fileSize == probe.fileSize && c.modifiedNs == probe.modifiedNs;
}

/**
 * Why a folder's cache file cannot be trusted (empty when it can): what parseFindings refuses, or a
 * box of a picture used now that does not fit that picture. `cached` gets its entries.
 */
std::string readFolderCache(const fs::path& file, const std::string& folder, const std::vector<size_t>& members,
                            const PassPictures& pictures, std::unordered_map<std::string, CachedFinding>& cached)
{
    std::string problem;
    try {
        std::vector<std::pair<std::string, CachedFinding>> entries;
        if (parseFindings(readFile(file), folder, entries, &problem))
            for (auto& [name, c] : entries)
                cached.emplace(std::move(name), std::move(c));
    } catch (const std::exception& e) {
        problem = e.what();
    }
    for (size_t k = 0; k < members.size() && problem.empty(); ++k) {
        const size_t i = members[k];
        const std::string name = fs::path(pictures.paths[i]).filename().string();
        const auto it = cached.find(name);
        if (it != cached.end() && cachedIsCurrent(it->second, pictures.probes[i])
            && !checkCachedFinding(it->second, pictures.probes[i].width, pictures.probes[i].height, problem))
            problem = name + ": " + problem;
    }
    return problem;
}

/** Moves a damaged cache file aside (or removes it) and says so in `pass.warnings` and on stderr. */
void setAsideDamagedCache(const fs::path& file, const std::string& folder, const std::string& problem,
                          DetectionPass& pass)
{
    std::error_code ec;
    const fs::path aside = file.string() + ".bad";
    fs::rename(file, aside, ec);
    if (ec)
        fs::remove(file, ec);
    pass.warnings.push_back(displayPath(file) + ": the face findings cache of " + folder + " is damaged (" + problem
                            + "); " + (ec ? "removed" : "moved aside to " + aside.filename().string())
                            + ", its faces are found again");
    std::fprintf(stderr, "warning: %s\n", pass.warnings.back().c_str());
}

/**
 * Takes what each folder's cache holds for the wanted pictures into `pass`; returns the pictures it
 * lacks (to detect). Stops with pass.cancelled at a cancel, checked before each folder.
 */
std::vector<size_t> takeCachedFindings(const std::map<std::string, std::vector<size_t>>& byFolder,
                                       const PassPictures& pictures, const CancelToken& cancel, FolderCaches& caches,
                                       DetectionPass& pass)
{
    std::vector<size_t> todo;
    for (const auto& [folder, members] : byFolder) {
        if (cancel.isCancelled()) { // nothing detected yet: no cache is written
            pass.cancelled = true;
            return todo;
        }
        auto& cached = caches[folder];
        std::error_code ec;
        const fs::path file = cacheFile(folder);
        if (fs::exists(fs::symlink_status(file, ec))) {
            // Our own file, yet read as hostile: every value is checked (parseFindings), and the
            // boxes of the pictures used now against those pictures. A damaged cache only means
            // finding the folder's faces again; it is moved aside, never trusted.
            const std::string problem = readFolderCache(file, folder, members, pictures, cached);
            if (!problem.empty()) {
                cached.clear();
                setAsideDamagedCache(file, folder, problem, pass);
            }
        }
        for (size_t i : members) {
            const auto it = cached.find(fs::path(pictures.paths[i]).filename().string());
            if (it != cached.end() && cachedIsCurrent(it->second, pictures.probes[i])) {
                pass.findings[i] = it->second.finding;
                pass.others[i] = it->second.others;
                pass.looked[i] = 1;
                ++pass.reused;
            } else {
                todo.push_back(i);
            }
        }
    }
    return todo;
}

/** Reads, decodes and finds the faces of picture `i` into `pass` (a problem in pass.problems[i] when it cannot). */
void detectPicture(const std::string& path, size_t i, DetectionPass& pass)
{
    std::string bytes;
    try {
        bytes = readFile(path);
    } catch (const std::exception&) {
        pass.problems[i] = "cannot read";
        return;
    }
    cv::Mat rgb;
    double scale = 1;
    if (!decodeRgb(bytes, 480, rgb, scale, pass.problems[i]))
        return;
    std::vector<FaceFinding> faces = facesInOriginal(rgb, scale);
    if (faces.empty()) {
        pass.findings[i].landmarks.fill(FaceFinding::kNaN);
    } else {
        pass.findings[i] = faces.front();
        pass.others[i].assign(faces.begin() + 1, faces.end());
    }
    pass.looked[i] = 1;
}

/** Finds the faces of the pictures of `todo` on `threads` cores; sets pass.detected and pass.cancelled. */
void detectMissing(const std::vector<std::string>& paths, const std::vector<size_t>& todo, int threads,
                   const CancelToken& cancel, const std::function<void(const JobProgress&)>& onProgress,
                   DetectionPass& pass)
{
    std::atomic<long long> done{0};
    ProgressThrottle throttle(onProgress);
    parallelFor(
        todo.size(), threads,
        [&](size_t k) {
            if (cancel.isCancelled())
                return;
            const size_t i = todo[k];
            detectPicture(paths[i], i, pass);
            throttle("finding faces", ++done, static_cast<long long>(todo.size()));
        },
        4);
    pass.detected = static_cast<size_t>(done.load());
    pass.cancelled = cancel.isCancelled();
}

/** Writes a folder's cache file with every entry of `cached`; a folder that cannot be written is left as it is. */
void writeFolderCache(const std::string& folder, const std::unordered_map<std::string, CachedFinding>& cached)
{
    std::vector<std::string> names;
    std::vector<ImageProbe> entryProbes;
    std::vector<FaceFinding> entryFindings;
    std::vector<std::vector<FaceFinding>> entryOthers;
    for (const auto& [name, c] : cached) {
        names.push_back(name);
        ImageProbe probe;
        probe.fileSize = c.fileSize;
        probe.modifiedNs = c.modifiedNs;
        entryProbes.push_back(probe);
        entryFindings.push_back(c.finding);
        entryOthers.push_back(c.others);
    }
    try {
        fs::create_directories(cacheFile(folder).parent_path());
        writeFileAtomic(cacheFile(folder), serializeFindings(folder, names, entryProbes, entryFindings, entryOthers),
                        false);
    } catch (const std::exception&) {
        // A read-only or full cache folder only costs speed next time.
    }
}

/**
 * Each folder's cache keeps what it had (other preparations may use other files of the folder)
 * and gets what was found now, also when cancelled: the faces found before a Cancel are not
 * looked for again (the Dataset page's "Detect faces now" is stopped and resumed so).
 */
void updateFolderCaches(const std::map<std::string, std::vector<size_t>>& byFolder, const PassPictures& pictures,
                        const DetectionPass& pass, FolderCaches& caches)
{
    for (const auto& [folder, members] : byFolder) {
        auto& cached = caches[folder];
        for (size_t i : members)
            if (pass.looked[i])
                cached[fs::path(pictures.paths[i]).filename().string()] = {
                    pictures.probes[i].fileSize, pictures.probes[i].modifiedNs, pass.findings[i], pass.others[i]};
        writeFolderCache(folder, cached);
    }
}

/** detectFaces (`detect`) or cachedFaces (not `detect`). */
DetectionPass findFaces(const std::vector<std::string>& paths, const std::vector<ImageProbe>& probes,
                        const std::vector<char>& wanted, bool detect, int threads, const CancelToken& cancel,
                        const std::function<void(const JobProgress&)>& onProgress)
{
    const auto start = std::chrono::steady_clock::now();
    DetectionPass pass = emptyPass(paths.size());
    const PassPictures pictures{paths, probes, wanted};

    // Group the wanted files by folder; take what each folder's cache already holds.
    const std::map<std::string, std::vector<size_t>> byFolder = groupByFolder(pictures);
    FolderCaches caches;
    const std::vector<size_t> todo = takeCachedFindings(byFolder, pictures, cancel, caches, pass);
    if (pass.cancelled)
        return pass;

    if (!detect) {
        pass.notCached = todo.size();
        pass.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return pass;
    }

    detectMissing(paths, todo, threads, cancel, onProgress, pass);
    if (pass.detected > 0)
        updateFolderCaches(byFolder, pictures, pass, caches);
    pass.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return pass;
}

} // namespace

DetectionPass detectFaces(const std::vector<std::string>& paths, const std::vector<ImageProbe>& probes,
                          const std::vector<char>& wanted, int threads, const CancelToken& cancel,
                          const std::function<void(const JobProgress&)>& onProgress)
{
    return findFaces(paths, probes, wanted, /*detect=*/true, threads, cancel, onProgress);
}

DetectionPass cachedFaces(const std::vector<std::string>& paths, const std::vector<ImageProbe>& probes,
                          const std::vector<char>& wanted, const CancelToken& cancel)
{
    return findFaces(paths, probes, wanted, /*detect=*/false, 1, cancel, {});
}

} // namespace faceatlas
