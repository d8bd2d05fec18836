#include "data/Overlay.h"

#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

namespace faceatlas {

Colormap parseColormap(const std::string& name)
{
    if (name == "jet")
        return Colormap::Jet;
    if (name == "viridis")
        return Colormap::Viridis;
    if (name == "inferno")
        return Colormap::Inferno;
    throw Error("unknown colour map '" + name + "' (use jet, viridis or inferno)");
}

cv::Mat renderOverlay(const cv::Mat& rgbFace, const float* map, int mapSize, bool isSigned, double opacity,
                      Colormap colormap)
{
    if (rgbFace.empty() || rgbFace.type() != CV_8UC3)
        throw Error("overlay: the face must be an 8-bit RGB image");
    opacity = std::clamp(opacity, 0.0, 1.0);
    cv::Mat small(mapSize, mapSize, CV_32F, const_cast<float*>(map));
    cv::Mat m;
    cv::resize(small, m, rgbFace.size(), 0, 0, cv::INTER_LINEAR);
    cv::Mat out(rgbFace.size(), CV_8UC3);
    if (isSigned) {
        for (int y = 0; y < out.rows; ++y)
            for (int x = 0; x < out.cols; ++x) {
                const float v = std::clamp(m.at<float>(y, x), -1.0f, 1.0f);
                const cv::Vec3b face = rgbFace.at<cv::Vec3b>(y, x);
                const cv::Vec3f tint = v >= 0 ? cv::Vec3f(230, 40, 30) : cv::Vec3f(30, 90, 240); // RGB
                const float a = static_cast<float>(opacity) * std::sqrt(std::abs(v)); // faint evidence stays visible
                for (int c = 0; c < 3; ++c)
                    out.at<cv::Vec3b>(y, x)[c] = cv::saturate_cast<uchar>((1 - a) * face[c] + a * tint[c]);
            }
        return out;
    }
    cv::Mat levels;
    m.convertTo(levels, CV_8U, 255.0);
    cv::Mat bgr, rgb;
    const int cvMap = colormap == Colormap::Jet
                          ? cv::COLORMAP_JET
                          : (colormap == Colormap::Viridis ? cv::COLORMAP_VIRIDIS : cv::COLORMAP_INFERNO);
    cv::applyColorMap(levels, bgr, cvMap);
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    cv::addWeighted(rgbFace, 1.0 - opacity, rgb, opacity, 0.0, out);
    return out;
}

} // namespace faceatlas
