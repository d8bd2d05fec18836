#include "data/FaceAlign.h"

#include "data/ImageIO.h"
#include "util/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>
#include <fstream>
#include <mutex>
#include <opencv2/imgproc.hpp>

namespace faceatlas {

namespace {

/** Debian's libdlib-data puts the 68-point model here. */
constexpr const char* kDebianLandmarks = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

/**
 * The template, as fractions of the output square: left eye, right eye (centres of the six points
 * around each), nose tip (point 30), left and right mouth corners (48, 54). "Left" is the image's
 * left. The figures are the mean positions the landmark model finds on the 4,886 of the 5,000
 * UTKFace faces in ../shared/data where it finds a face (`faceatlas_bench_align --template`), made
 * symmetric about the centre line, so that an aligned UTKFace face is framed as UTKFace frames it
 * and a face from anywhere else is framed that way too.
 */
const std::array<float, 10> kTemplate = {0.3066f, 0.3011f, 0.6934f, 0.3011f, 0.5000f,
                                         0.5122f, 0.3238f, 0.6942f, 0.6762f, 0.6942f};

/** The landmark model, loaded on first use and kept for the process (about 100 MB, one second to read). */
class LandmarkModel {
public:
    static const dlib::shape_predictor& get()
    {
        static LandmarkModel model;
        std::call_once(model.m_once, [] { model.load(); });
        if (!model.m_error.empty())
            throw Error(model.m_error);
        return model.m_predictor;
    }

private:
    void load()
    {
        const std::string path = landmarkModelPath();
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            m_error = path
                      + ": cannot open the face landmark model (Debian's libdlib-data package installs it; "
                        "FACEATLAS_LANDMARKS names another copy)";
            return;
        }
        try {
            dlib::deserialize(m_predictor, in);
        } catch (const std::exception& e) {
            m_error = path + ": not a dlib landmark model (" + e.what() + ")";
            return;
        }
        if (m_predictor.num_parts() != kLandmarkPoints)
            m_error = path + ": a landmark model of " + std::to_string(m_predictor.num_parts()) + " points, where "
                      + std::to_string(kLandmarkPoints) + " are needed";
    }

    std::once_flag m_once;
    dlib::shape_predictor m_predictor;
    std::string m_error;
};

/** One HOG detector per thread: scanning writes into the detector's own buffers. */
dlib::frontal_face_detector& threadDetector()
{
    thread_local dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
    return detector;
}

/** Mean of landmark points [first, last]. */
cv::Point2f meanPoint(const FaceFinding& f, int first, int last)
{
    cv::Point2f sum(0, 0);
    for (int i = first; i <= last; ++i)
        sum += cv::Point2f(f.landmarks[2 * i], f.landmarks[2 * i + 1]);
    return sum / static_cast<float>(last - first + 1);
}

/** Left eye, right eye, nose tip, left and right mouth corners: the points the template places. */
std::array<cv::Point2f, 5> keyPoints(const FaceFinding& f)
{
    return {meanPoint(f, 36, 41), meanPoint(f, 42, 47), meanPoint(f, 30, 30), meanPoint(f, 48, 48),
            meanPoint(f, 54, 54)};
}

/** Roll and yaw estimates from the landmarks (see FaceFinding). */
void estimatePose(FaceFinding& f)
{
    const auto k = keyPoints(f);
    f.roll = static_cast<float>(std::atan2(k[1].y - k[0].y, k[1].x - k[0].x) * 180.0 / CV_PI);
    // The nose tip's distances to the jaw's two ends (points 0 and 16). For a head turned by t, on
    // a cylinder with the nose standing out half a radius, (dl - dr) / (dl + dr) = 1.5 tan t.
    const cv::Point2f nose = k[2];
    const cv::Point2f jawLeft(f.landmarks[0], f.landmarks[1]), jawRight(f.landmarks[32], f.landmarks[33]);
    const double dl = cv::norm(nose - jawLeft), dr = cv::norm(jawRight - nose);
    f.yaw = dl + dr > 0 ? static_cast<float>(std::atan((dl - dr) / (dl + dr) / 1.5) * 180.0 / CV_PI) : 0.0f;
}

/** The least-squares similarity transform (no reflection) taking `from` to `to`. */
cv::Matx23d similarity(const std::array<cv::Point2f, 5>& from, const std::array<cv::Point2d, 5>& to)
{
    cv::Point2d mf(0, 0), mt(0, 0);
    for (size_t i = 0; i < from.size(); ++i) {
        mf += cv::Point2d(from[i]);
        mt += to[i];
    }
    mf /= static_cast<double>(from.size());
    mt /= static_cast<double>(to.size());
    double a = 0, b = 0, norm = 0;
    for (size_t i = 0; i < from.size(); ++i) {
        const cv::Point2d f = cv::Point2d(from[i]) - mf, t = to[i] - mt;
        a += f.x * t.x + f.y * t.y;
        b += f.x * t.y - f.y * t.x;
        norm += f.x * f.x + f.y * f.y;
    }
    if (norm <= 0)
        return cv::Matx23d(1, 0, mt.x - mf.x, 0, 1, mt.y - mf.y);
    a /= norm;
    b /= norm;
    return cv::Matx23d(a, -b, mt.x - (a * mf.x - b * mf.y), b, a, mt.y - (b * mf.x + a * mf.y));
}

} // namespace

const char* framingName(Framing framing)
{
    switch (framing) {
    case Framing::Aligned: return "aligned";
    case Framing::CentreCrop: return "centre-crop";
    }
    return "?";
}

Framing parseFraming(const std::string& word)
{
    if (word == "aligned")
        return Framing::Aligned;
    if (word == "centre-crop" || word == "center-crop")
        return Framing::CentreCrop;
    throw Error("unknown framing '" + word + "' (use aligned or centre-crop)");
}

std::string landmarkModelPath()
{
    const char* path = std::getenv("FACEATLAS_LANDMARKS");
    return path && *path ? path : kDebianLandmarks;
}

const std::array<float, 10>& alignmentTemplate()
{
    return kTemplate;
}

namespace {

/**
 * The faces dlib finds in `grey`, a picture made from the image by `toImage` (scale, maybe a turn),
 * with their boxes and landmarks carried back into the image's pixels, best first.
 */
std::vector<FaceFinding> scanFaces(const cv::Mat& grey, const cv::Matx23d& toImage)
{
    const dlib::shape_predictor& predictor = LandmarkModel::get();
    const dlib::cv_image<unsigned char> image(grey);
    std::vector<dlib::rect_detection> detections;
    threadDetector()(image, detections);
    std::sort(detections.begin(), detections.end(),
              [](const auto& a, const auto& b) { return a.detection_confidence > b.detection_confidence; });
    // dlib's coordinates are pixel indices, as OpenCV's: a point maps by the transform directly.
    const auto back = [&](double x, double y) {
        return cv::Point2f(static_cast<float>(toImage(0, 0) * x + toImage(0, 1) * y + toImage(0, 2)),
                           static_cast<float>(toImage(1, 0) * x + toImage(1, 1) * y + toImage(1, 2)));
    };
    std::vector<FaceFinding> faces;
    faces.reserve(detections.size());
    for (size_t d = 0; d < detections.size(); ++d) {
        FaceFinding f;
        f.faces = static_cast<int>(detections.size());
        f.score = static_cast<float>(detections[d].detection_confidence);
        if (d + 1 < detections.size())
            f.secondScore = static_cast<float>(detections[d + 1].detection_confidence);
        const dlib::rectangle& r = detections[d].rect;
        const cv::Point2f corners[4] = {back(r.left() - 0.5, r.top() - 0.5), back(r.right() + 0.5, r.top() - 0.5),
                                        back(r.left() - 0.5, r.bottom() + 0.5),
                                        back(r.right() + 0.5, r.bottom() + 0.5)};
        f.box = {corners[0].x, corners[0].y, corners[0].x, corners[0].y};
        for (const auto& c : corners) {
            f.box[0] = std::min(f.box[0], c.x);
            f.box[1] = std::min(f.box[1], c.y);
            f.box[2] = std::max(f.box[2], c.x);
            f.box[3] = std::max(f.box[3], c.y);
        }
        const dlib::full_object_detection shape = predictor(image, r);
        for (int i = 0; i < kLandmarkPoints; ++i) {
            const cv::Point2f p = back(shape.part(i).x(), shape.part(i).y());
            f.landmarks[2 * i] = p.x;
            f.landmarks[2 * i + 1] = p.y;
        }
        estimatePose(f);
        faces.push_back(f);
    }
    return faces;
}

} // namespace

std::vector<FaceFinding> findFaces(const cv::Mat& rgb)
{
    LandmarkModel::get(); // a missing model is an error even for a picture with no face
    if (rgb.empty())
        return {};
    // The HOG detector's window is 80 px: a small face crop is scanned enlarged to 240 px, a large
    // photo reduced to 900 px on its long side. On the UTKFace sample (200 px crops, 2 threads)
    // scanning at 240 px found 98.2% of the faces, at 200 px 97.8% but 1.5x as fast, at 320 px
    // 98.3% at 0.75x the speed.
    const int longSide = std::max(rgb.cols, rgb.rows);
    const double scale = longSide < 240 ? 240.0 / longSide : longSide > 900 ? 900.0 / longSide : 1.0;
    cv::Mat grey;
    cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
    if (scale != 1.0)
        cv::resize(grey, grey, cv::Size(), scale, scale, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    // Scaled pixel centres: x_image = (x + 0.5) / scale - 0.5.
    const cv::Matx23d unscale(1 / scale, 0, 0.5 / scale - 0.5, 0, 1 / scale, 0.5 / scale - 0.5);
    std::vector<FaceFinding> faces = scanFaces(grey, unscale);
    if (!faces.empty())
        return faces;
    // The HOG detector's own views cover heads turned by about 15 degrees in the picture; a face
    // turned further (a tilted head, a photo held askew) is looked for again in the picture turned
    // 25 degrees each way. On the re-framed UTKFace test faces (turned by up to 20 degrees) this
    // lifted the faces found from 91.9% to the figure in the README.
    for (const double angle : {25.0, -25.0}) {
        const cv::Matx23d turn =
            cv::getRotationMatrix2D(cv::Point2f((grey.cols - 1) / 2.0f, (grey.rows - 1) / 2.0f), angle, 1.0);
        cv::Mat turned;
        cv::warpAffine(grey, turned, turn, grey.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
        cv::Matx23d unturn;
        cv::invertAffineTransform(turn, unturn);
        // image <- scaled <- turned
        const cv::Matx33d u3(unscale(0, 0), unscale(0, 1), unscale(0, 2), unscale(1, 0), unscale(1, 1), unscale(1, 2),
                             0, 0, 1);
        const cv::Matx33d t3(unturn(0, 0), unturn(0, 1), unturn(0, 2), unturn(1, 0), unturn(1, 1), unturn(1, 2), 0, 0,
                             1);
        const cv::Matx33d both = u3 * t3;
        std::vector<FaceFinding> found =
            scanFaces(turned, cv::Matx23d(both(0, 0), both(0, 1), both(0, 2), both(1, 0), both(1, 1), both(1, 2)));
        if (!found.empty() && (faces.empty() || found.front().score > faces.front().score))
            faces = std::move(found);
    }
    return faces;
}

void frameDecodedFace(const cv::Mat& rgb, const FaceFinding* finding, int size, std::uint8_t* out)
{
    if (!finding || !finding->found()) {
        centreSquareRgb(rgb, size, out);
        return;
    }
    std::array<cv::Point2d, 5> to;
    for (size_t i = 0; i < to.size(); ++i)
        to[i] = cv::Point2d(kTemplate[2 * i] * size - 0.5, kTemplate[2 * i + 1] * size - 0.5);
    const auto from = keyPoints(*finding);
    cv::Matx23d t = similarity(from, to);
    // A large reduction is area-averaged first, so the warp's bilinear samples do not alias: the
    // source is shrunk to about the output's scale and the rest of the transform applied to it.
    const double s = std::sqrt(t(0, 0) * t(0, 0) + t(1, 0) * t(1, 0));
    // Landmarks that give no usable transform (a hand-made or damaged finding: points on top of each
    // other, far outside the picture) frame the face as if none was found, never an OpenCV assertion.
    const bool finite = std::isfinite(t(0, 0)) && std::isfinite(t(0, 1)) && std::isfinite(t(0, 2))
                        && std::isfinite(t(1, 0)) && std::isfinite(t(1, 1)) && std::isfinite(t(1, 2));
    const double eyes = cv::norm(from[1] - from[0]); // under a pixel apart: the points say nothing
    if (!finite || !(eyes >= 1.0) || s * std::min(rgb.cols, rgb.rows) < 1.0 || s > 1000.0) {
        centreSquareRgb(rgb, size, out);
        return;
    }
    cv::Mat source = rgb;
    if (s < 0.7) {
        cv::resize(rgb, source, cv::Size(), s, s, cv::INTER_AREA);
        const double fx = static_cast<double>(source.cols) / rgb.cols, fy = static_cast<double>(source.rows) / rgb.rows;
        // x_src = (x_small + 0.5) / f - 0.5, so t(x_src) = t' (x_small) with:
        const cv::Matx23d original = t;
        for (int r = 0; r < 2; ++r) {
            t(r, 0) = original(r, 0) / fx;
            t(r, 1) = original(r, 1) / fy;
            t(r, 2) = original(r, 2) + original(r, 0) * (0.5 / fx - 0.5) + original(r, 1) * (0.5 / fy - 0.5);
        }
    }
    cv::Mat dst(size, size, CV_8UC3, out);
    cv::warpAffine(source, dst, t, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
}

std::vector<FaceFinding> facesInOriginal(const cv::Mat& rgb, double decodedScale)
{
    std::vector<FaceFinding> faces = findFaces(rgb);
    if (faces.size() > static_cast<size_t>(kMaxFacesKept))
        faces.resize(kMaxFacesKept);
    if (decodedScale != 1.0) // x_original = (x + 0.5) / scale - 0.5 for points, x / scale for box edges
        for (FaceFinding& f : faces) {
            for (float& v : f.box)
                v = static_cast<float>(v / decodedScale);
            for (float& v : f.landmarks)
                v = static_cast<float>((v + 0.5) / decodedScale - 0.5);
        }
    return faces;
}

FaceFinding bestFace(const cv::Mat& rgb, double decodedScale)
{
    const std::vector<FaceFinding> faces = facesInOriginal(rgb, decodedScale);
    if (!faces.empty())
        return faces.front();
    FaceFinding none;
    none.landmarks.fill(FaceFinding::kNaN);
    return none;
}

FaceFinding scaledFinding(const FaceFinding& original, double decodedScale)
{
    FaceFinding f = original;
    if (decodedScale != 1.0) {
        for (float& v : f.box)
            v = static_cast<float>(v * decodedScale);
        for (float& v : f.landmarks)
            v = static_cast<float>((v + 0.5) * decodedScale - 0.5);
    }
    return f;
}

int alignedWorkingSide(const FaceFinding& f, int width, int height, int size)
{
    if (!f.found())
        return size;
    const float dx = (f.landmarks[2 * 42] + f.landmarks[2 * 45]) / 2 - (f.landmarks[2 * 36] + f.landmarks[2 * 39]) / 2;
    const float dy = (f.landmarks[2 * 42 + 1] + f.landmarks[2 * 45 + 1]) / 2
                     - (f.landmarks[2 * 36 + 1] + f.landmarks[2 * 39 + 1]) / 2;
    const double eyes = std::hypot(dx, dy);
    const double wanted = (kTemplate[2] - kTemplate[0]) * size; // the eye distance in the output
    if (!(eyes > wanted))
        return 0; // the face needs every pixel there is
    return static_cast<int>(std::ceil(std::min(width, height) * wanted / eyes));
}

bool frameKnownFace(const std::string& bytes, int size, const FaceFinding* finding, std::uint8_t* rgbOut,
                    std::string& problem)
{
    int width = 0, height = 0;
    if (!checkImageHeader(bytes, static_cast<long long>(bytes.size()), width, height, problem))
        return false;
    if (!finding || !finding->found()) {
        if (width == height) // the fast path: TurboJPEG's scaled decode straight to the size
            return decodeSquareRgb(bytes, size, rgbOut, problem);
        cv::Mat rgb;
        double scale = 1;
        if (!decodeRgb(bytes, size, rgb, scale, problem))
            return false;
        centreSquareRgb(rgb, size, rgbOut);
        return true;
    }
    cv::Mat rgb;
    double scale = 1;
    if (!decodeRgb(bytes, alignedWorkingSide(*finding, width, height, size), rgb, scale, problem))
        return false;
    const FaceFinding local = scaledFinding(*finding, scale);
    frameDecodedFace(rgb, &local, size, rgbOut);
    return true;
}

bool decodeFramedFace(const std::string& bytes, int size, Framing framing, std::uint8_t* rgbOut, FaceFinding* found,
                      std::string& problem)
{
    if (found)
        *found = FaceFinding();
    if (framing == Framing::CentreCrop)
        return frameKnownFace(bytes, size, nullptr, rgbOut, problem);
    // Decoded at a reduced JPEG scale when the picture is far larger than needed: detection scans
    // at most 900 px on the long side.
    cv::Mat rgb;
    double scale = 1;
    if (!decodeRgb(bytes, std::max(size, 480), rgb, scale, problem))
        return false;
    const FaceFinding f = bestFace(rgb, scale);
    const FaceFinding local = scaledFinding(f, scale);
    frameDecodedFace(rgb, &local, size, rgbOut);
    if (found)
        *found = f;
    return true;
}

} // namespace faceatlas
