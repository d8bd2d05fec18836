#pragma once

#include "ml/Inference.h"
#include "util/CancelToken.h"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace faceatlas {

struct LoadedModel;

/**
 * One cell of the cross-dataset matrix (issue 27): an age run measured on a preparation, or why it
 * cannot be (another image size, no labelled faces), said in its cell while the others still run.
 */
struct AgeMatrixCell {
    std::filesystem::path run, data;
    std::string source;       // the preparation's source SPEC
    std::string modelFraming; // how the run's training faces were framed
    std::string dataFraming;  // how the preparation's faces are framed
    std::size_t n = 0;        // labelled faces of the split measured
    double mae = 0;
    double bias = 0;        // mean of predicted - true (negative: read too young)
    double baselineMae = 0; // always predicting the run's training median age on these faces
    std::string error;      // why it was not measured; empty when it was
    bool measured() const { return error.empty(); }
};

/** Measures the loaded age run `runDir` on `data`'s labelled faces of `split`; errors go into the cell. */
AgeMatrixCell measureAgeCell(const std::filesystem::path& runDir, LoadedModel& loaded, const PreparedDataset& data,
                             Split split, const std::string& device, const CancelToken& cancel = {});

/**
 * Every run on every preparation, runs-major (cell r * datas.size() + d), each run loaded once.
 * Throws Error naming the run when it cannot be loaded or is not an age model. Cancelled between
 * cells and prediction batches: the cells so far are returned and `*cancelled` is set.
 */
std::vector<AgeMatrixCell> evaluateAgeMatrix(const std::vector<std::filesystem::path>& runs,
                                             const std::vector<const PreparedDataset*>& datas, Split split,
                                             const std::string& device, const CancelToken& cancel = {},
                                             const std::function<void(const JobProgress&)>& onProgress = {},
                                             bool* cancelled = nullptr);

} // namespace faceatlas
