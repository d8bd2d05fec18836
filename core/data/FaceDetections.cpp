#include "data/FaceDetections.h"

#include "util/FileUtil.h"
#include "util/Parallel.h"
#include "util/ProgressThrottle.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
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

/** A found face's box and landmarks are numbers (a hostile cache could hold NaN or infinities). */
bool placed(const FaceFinding& f)
{
    for (float v : f.box)
        if (!std::isfinite(v))
            return false;
    for (float v : f.landmarks)
        if (!std::isfinite(v))
            return false;
    return true;
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
                   std::vector<std::pair<std::string, CachedFinding>>& out)
{
    out.clear();
    const char* p = bytes.data();
    const char* end = p + bytes.size();
    if (bytes.size() < sizeof kMagic || std::memcmp(p, kMagic, sizeof kMagic) != 0)
        return false;
    p += sizeof kMagic;
    std::string version, storedFolder;
    std::uint64_t n = 0;
    if (!getString(p, end, version) || version != kDetectorVersion || !getString(p, end, storedFolder)
        || storedFolder != folder || !get(p, end, n))
        return false;
    // Counts are checked against the bytes there before they size anything.
    if (n > static_cast<size_t>(end - p) / (4 + kFindingBytes))
        return false;
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        std::string name;
        CachedFinding c;
        std::int64_t size = 0, time = 0;
        std::uint16_t more = 0;
        if (!getString(p, end, name) || !get(p, end, size) || !get(p, end, time) || !getFace(p, end, c.finding)
            || !get(p, end, more) || more >= kMaxFacesKept || more > static_cast<size_t>(end - p) / kFaceBytes)
            return false;
        // What a detector could have written: other faces only beside a best one, fewer than it
        // counted, and every face found placed at finite coordinates.
        if (more >= std::max(c.finding.faces, 1) || (c.finding.found() && !placed(c.finding)))
            return false;
        c.others.resize(more);
        for (FaceFinding& f : c.others)
            if (!getFace(p, end, f) || !f.found() || !placed(f))
                return false;
        c.fileSize = size;
        c.modifiedNs = time;
        out.emplace_back(std::move(name), std::move(c));
    }
    return p == end;
}

DetectionPass detectFaces(const std::vector<std::string>& paths, const std::vector<ImageProbe>& probes,
                          const std::vector<char>& wanted, int threads, const CancelToken& cancel,
                          const std::function<void(const JobProgress&)>& onProgress)
{
    const auto start = std::chrono::steady_clock::now();
    DetectionPass pass;
    const size_t n = paths.size();
    pass.findings.resize(n);
    pass.others.resize(n);
    pass.looked.assign(n, 0);
    pass.problems.resize(n);

    // Group the wanted files by folder; take what each folder's cache already holds.
    std::map<std::string, std::vector<size_t>> byFolder;
    for (size_t i = 0; i < n; ++i)
        if (wanted[i])
            byFolder[fs::path(paths[i]).parent_path().string()].push_back(i);
    std::vector<size_t> todo;
    std::map<std::string, std::unordered_map<std::string, CachedFinding>> caches;
    for (const auto& [folder, members] : byFolder) {
        auto& cached = caches[folder];
        std::error_code ec;
        const fs::path file = cacheFile(folder);
        if (fs::is_regular_file(file, ec)) {
            std::vector<std::pair<std::string, CachedFinding>> entries;
            try {
                if (parseFindings(readFile(file), folder, entries))
                    for (auto& [name, c] : entries)
                        cached.emplace(std::move(name), c);
            } catch (const std::exception&) {
                // an unreadable cache only means detecting again
            }
        }
        for (size_t i : members) {
            const auto it = cached.find(fs::path(paths[i]).filename().string());
            if (it != cached.end() && it->second.fileSize == probes[i].fileSize
                && it->second.modifiedNs == probes[i].modifiedNs) {
                pass.findings[i] = it->second.finding;
                pass.others[i] = it->second.others;
                pass.looked[i] = 1;
                ++pass.reused;
            } else {
                todo.push_back(i);
            }
        }
    }

    std::atomic<long long> done{0};
    ProgressThrottle throttle(onProgress);
    parallelFor(
        todo.size(), threads,
        [&](size_t k) {
            if (cancel.isCancelled())
                return;
            const size_t i = todo[k];
            std::string bytes;
            try {
                bytes = readFile(paths[i]);
            } catch (const std::exception&) {
                pass.problems[i] = "cannot read";
                throttle("finding faces", ++done, static_cast<long long>(todo.size()));
                return;
            }
            cv::Mat rgb;
            double scale = 1;
            if (!decodeRgb(bytes, 480, rgb, scale, pass.problems[i])) {
                throttle("finding faces", ++done, static_cast<long long>(todo.size()));
                return;
            }
            std::vector<FaceFinding> faces = facesInOriginal(rgb, scale);
            if (faces.empty()) {
                pass.findings[i].landmarks.fill(FaceFinding::kNaN);
            } else {
                pass.findings[i] = faces.front();
                pass.others[i].assign(faces.begin() + 1, faces.end());
            }
            pass.looked[i] = 1;
            throttle("finding faces", ++done, static_cast<long long>(todo.size()));
        },
        4);
    pass.detected = static_cast<size_t>(done.load());
    if (cancel.isCancelled()) {
        pass.cancelled = true;
        return pass;
    }
    // Each folder's cache keeps what it had (other preparations may use other files of the folder)
    // and gets what was found now.
    if (!todo.empty()) {
        for (const auto& [folder, members] : byFolder) {
            auto& cached = caches[folder];
            for (size_t i : members)
                if (pass.looked[i])
                    cached[fs::path(paths[i]).filename().string()] = {probes[i].fileSize, probes[i].modifiedNs,
                                                                      pass.findings[i], pass.others[i]};
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
                writeFileAtomic(cacheFile(folder),
                                serializeFindings(folder, names, entryProbes, entryFindings, entryOthers), false);
            } catch (const std::exception&) {
                // A read-only or full cache folder only costs speed next time.
            }
        }
    }
    pass.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return pass;
}

} // namespace faceatlas
