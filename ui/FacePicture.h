#pragma once

#include <QImage>
#include <QString>
#include <vector>

namespace faceatlas {
class PreparedDataset;
}

namespace faceatlas::ui {

/** Face `row`'s 68 landmarks, (x, y) in its picture's pixels (PreparedDataset::landmarks); empty when it has none. */
std::vector<float> faceLandmarks(const PreparedDataset& data, size_t row);

/**
 * The face's picture scaled to fit `side` x `side`, upright as the detector saw it, with the face's
 * landmarks (when given) drawn on it: what the detector found, from which the aligned face was
 * cut. A null image when the picture cannot be read or is absurdly large. Decodes a file: call it
 * off the GUI thread.
 */
QImage pictureWithFace(const QString& path, const std::vector<float>& landmarks, int side);

} // namespace faceatlas::ui
