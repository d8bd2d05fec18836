// Fuzz target: the face findings cache reader (parseFindings, checkCachedFinding): the FAFACE02 files
// of $FACEATLAS_CACHE_DIR/faces, our own files read as hostile (finding F07 of round 3: one flipped
// bit made every later prepare of the folder fail).
#include "data/FaceDetections.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size)
{
    using namespace faceatlas;
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    std::vector<std::pair<std::string, CachedFinding>> entries;
    std::string problem;
    if (!parseFindings(bytes, "/faces", entries, &problem)) {
        if (problem.empty() || !entries.empty())
            __builtin_trap(); // a refusal says why and hands back nothing
        return 0;
    }
    // Whatever was read is what the writer writes: it serializes to the very same bytes.
    std::vector<std::string> names;
    std::vector<ImageProbe> probes;
    std::vector<FaceFinding> findings;
    std::vector<std::vector<FaceFinding>> others;
    for (const auto& [name, c] : entries) {
        names.push_back(name);
        ImageProbe probe;
        probe.fileSize = c.fileSize;
        probe.modifiedNs = c.modifiedNs;
        probes.push_back(probe);
        findings.push_back(c.finding);
        others.push_back(c.others);
    }
    if (serializeFindings("/faces", names, probes, findings, others) != bytes)
        __builtin_trap();
    // A finding that fits a 640x480 picture is one the framing can use: numbers near the picture.
    for (const auto& [name, c] : entries) {
        if (!checkCachedFinding(c, 640, 480, problem))
            continue;
        std::vector<FaceFinding> faces = c.others;
        faces.push_back(c.finding);
        for (const FaceFinding& f : faces) {
            if (!f.found())
                continue;
            for (float v : f.box)
                if (!(v >= -640 && v <= 1280))
                    __builtin_trap();
            for (float v : f.landmarks)
                if (!(v >= -640 - 3 * 1920 && v <= 1280 + 3 * 1920))
                    __builtin_trap();
            if (!std::isfinite(f.score) || !std::isfinite(f.roll) || !std::isfinite(f.yaw))
                __builtin_trap();
        }
    }
    return 0;
}
