#pragma once

#include <string>

namespace cv {
class Mat;
}

namespace faceatlas {

enum class Colormap { Jet, Viridis, Inferno };
Colormap parseColormap(const std::string& name);

/**
 * Lays an attention map over an RGB face (CV_8UC3, any size): the map ([mapSize x mapSize]
 * floats) is resized to the face, coloured and blended with `opacity` (0-1). A signed map is
 * drawn red where it is positive and blue where it is negative, fading to the face where it is
 * near zero.
 */
cv::Mat renderOverlay(const cv::Mat& rgbFace, const float* map, int mapSize, bool isSigned, double opacity,
                      Colormap colormap = Colormap::Jet);

} // namespace faceatlas
