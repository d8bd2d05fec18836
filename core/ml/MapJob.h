#pragma once

#include "ml/Projection.h"
#include "util/CancelToken.h"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceatlas {

/** What to map and how: a codes folder (written by encode) to DIR/map.csv and DIR/map.json. */
struct MapParams {
    std::filesystem::path codes;
    std::filesystem::path outDir;
    std::string method = "neighbors"; // a projection of ml/Projections' table (its default, the first row)
    EmbeddingParams embedding;        // neighbours, seed, ... (method "neighbors")
    std::string device = "auto";
    int64_t recallSample = 1000; // faces whose 10 nearest neighbours are compared (map.json's "recall")
    bool force = false;          // replace a FaceAtlas folder of another kind at outDir
};

struct MapResult {
    nlohmann::json summary; // what map.json holds
    bool cancelled = false;
};

/**
 * Computes the map of the codes and writes DIR/map.csv (path,x,y,preserved: one row per code, in
 * code order; `preserved` is the face's neighbourhood preservation, ml/MapNeighbours.h) and
 * DIR/map.json (method, settings with the neighbour search and the layout's parameters, seconds, the
 * sampled neighbour recall, the mean preservation, an approximate graph's recall, the codes and the
 * preparation they were made from), map.json last: a map whose map.json exists is complete. Nothing is written when
 * cancelled. Throws Error (naming the file) for codes that cannot be mapped.
 */
MapResult computeMap(const MapParams& params, const CancelToken& cancel = {},
                     const std::function<void(const JobProgress&)>& onProgress = {});

/** A map read back from its folder, checked: one finite point per code. */
struct MapPoints {
    std::vector<float> xy; // x0, y0, x1, y1, ... in code order
    std::vector<std::string> paths;
    std::string method;
    std::filesystem::path codes;  // the codes folder it was made from
    std::string dataFingerprint;  // of the preparation those codes encoded (empty when unknown)
    double recall = -1;           // neighbour recall@k on a sample, -1 when not recorded
    nlohmann::json settings;      // map.json's "settings" (the layout's parameters), null when absent
    std::vector<float> preserved; // per point: the share of its 10 nearest codes among its 10 nearest
                                  // points (empty for a map made before the score)
    size_t count() const { return paths.size(); }
};

/**
 * Reads DIR/map.json and DIR/map.csv. Every count comes from the files and is checked before it
 * sizes anything (the rows must match map.json's count, at most 100,000,000); a non-finite
 * coordinate, a short row or a missing file throws Error naming the file, the line and the problem.
 */
MapPoints readMap(const std::filesystem::path& dir);

} // namespace faceatlas
