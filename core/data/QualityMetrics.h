#pragma once

#include "data/Cleaning.h"
#include "data/FaceQuality.h"
#include "util/CancelToken.h"

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace faceatlas {

/**
 * Measuring the quality columns (data/FaceQuality) with OpenCV, on stored faces: the aligned,
 * area-resampled S x S RGB faces of an image cache, so two pictures of a face at other sizes
 * measure alike and a large low-contrast picture is not called blurred for its size.
 *
 * JPEG blockiness is not measured: the stored face is rotated and resampled, so the 8 x 8 grid of
 * the original's blocks is no longer there to measure, and measuring the original would decode
 * every picture a second time.
 */

/** The BRISQUE model files (model, range): FACEATLAS_BRISQUE_MODELS (a folder) or Debian's opencv-data. */
struct BrisqueModel {
    std::string model;
    std::string range;
};
/** Where the model files are; throws Error naming the missing file and the package opencv-data. */
BrisqueModel brisqueModelFiles();

/** Face `rgb` (size x size x 3, row-major) in qualityColumns()' order. Throws Error when BRISQUE's model is missing. */
std::array<float, kQualityColumnCount> measureFaceQuality(const std::uint8_t* rgb, int size);

/**
 * Every face of an image cache (`count` faces of size x size x 3 from `images`) on `threads` threads:
 * count x kQualityColumnCount values, row-major. A cancel returns an empty vector.
 */
std::vector<float> measureQuality(const std::uint8_t* images, std::size_t count, int size, int threads,
                                  const CancelToken& cancel = {},
                                  const std::function<void(const JobProgress&)>& onProgress = {});

/**
 * The quality steps `thresholds` switches on, over the faces `candidates` (positions into `values`,
 * rows of kQualityColumnCount; NaN: not measured, which passes and counts as not applicable). Returns
 * the positions kept, in order, and appends one StepReport per step that is on.
 */
std::vector<std::size_t> applyQualitySteps(const std::vector<float>& values, const std::vector<std::size_t>& candidates,
                                           const QualityThresholds& thresholds, std::vector<StepReport>& steps);

} // namespace faceatlas
