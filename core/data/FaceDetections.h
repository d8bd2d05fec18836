#pragma once

#include "data/Cleaning.h"
#include "data/FaceAlign.h"
#include "data/ImageIO.h"
#include "util/CancelToken.h"

#include <functional>
#include <string>
#include <vector>

namespace faceatlas {

/** What the findings depend on (the detector and its scan settings): part of every key that depends on them. */
const char* faceDetectorVersion();

/** What a detection pass over many files found, one FaceFinding per input (empty where not looked at). */
struct DetectionPass {
    std::vector<FaceFinding> findings;            // the best face of each file
    std::vector<std::vector<FaceFinding>> others; // its other faces, best first (at most kMaxFacesKept - 1)
    std::vector<char> looked;                     // 1 where the file was decoded (or its cached finding used)
    std::vector<std::string> problems;            // why a file looked at could not be decoded ("" otherwise)
    size_t detected = 0;                          // files the detector ran on
    size_t reused = 0;                            // files whose finding came from the cache
    size_t notCached = 0;                         // cachedFaces: wanted files the cache has no finding of
    double seconds = 0;
    bool cancelled = false;
    /** Damaged findings caches moved aside (each also printed to stderr): "FILE: ... is damaged (why); ...". */
    std::vector<std::string> warnings;
};

/**
 * Finds the faces in `paths[i]` for every i where `wanted[i]`, on all cores, with progress and
 * cancel. Findings are kept per folder in the cache folder (cacheDir()/faces), keyed by file name,
 * size and modification time (`probes[i]`), so a second preparation of the same files detects
 * nothing again. A cache file is read as hostile: one that does not parse, holds a value no detector
 * writes (parseFindings) or a box outside its picture (checkCachedFinding) is moved aside to
 * FILE.bad with a warning (DetectionPass::warnings and stderr), and the folder's faces are found
 * again and written to a new cache. A damaged cache never fails the pass.
 */
DetectionPass detectFaces(const std::vector<std::string>& paths, const std::vector<ImageProbe>& probes,
                          const std::vector<char>& wanted, int threads, const CancelToken& cancel = {},
                          const std::function<void(const JobProgress&)>& onProgress = {});

/**
 * detectFaces without the detector: the cached findings of the wanted files, read and checked as
 * detectFaces reads them. A wanted file the cache has no finding of is left not looked at and
 * counted in DetectionPass::notCached; nothing is decoded and no cache file is written (a damaged one
 * is still moved aside). Reads a cache file per folder: run it on a worker thread. `cancel` is
 * checked before each folder's cache file (DetectionPass::cancelled).
 */
DetectionPass cachedFaces(const std::vector<std::string>& paths, const std::vector<ImageProbe>& probes,
                          const std::vector<char>& wanted, const CancelToken& cancel = {});

/** The bytes of a cache file of findings (exposed for tests of hostile cache files). */
std::string serializeFindings(const std::string& folder, const std::vector<std::string>& names,
                              const std::vector<ImageProbe>& probes, const std::vector<FaceFinding>& findings,
                              const std::vector<std::vector<FaceFinding>>& others = {});
/** One picture's entry in a cache file of findings. */
struct CachedFinding {
    long long fileSize = 0;
    long long modifiedNs = 0;
    FaceFinding finding;             // the best face
    std::vector<FaceFinding> others; // the picture's other faces, best first
};
/**
 * Parses serializeFindings()'s bytes into name -> (size, time, finding), checking every value: false,
 * with `out` empty and `problem` (when given) saying which entry and value, for bytes that are not
 * such a file of `folder` or hold what no detector writes: a face count beyond 100,000, a score that
 * is not a number of about the detector's scale, a box not finite or with its corners out of order,
 * a landmark far outside its box, a roll beyond 180 or yaw beyond 90 degrees, a picture with no face
 * that has any of these, a name that is not a file name.
 */
bool parseFindings(const std::string& bytes, const std::string& folder,
                   std::vector<std::pair<std::string, CachedFinding>>& out, std::string* problem = nullptr);
/**
 * Checks a parsed entry against its picture (`width` x `height`, from its header): every box found
 * within the picture's size of it. False with `problem` set otherwise.
 */
bool checkCachedFinding(const CachedFinding& cached, int width, int height, std::string& problem);

} // namespace faceatlas
