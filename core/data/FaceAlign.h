#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cv {
class Mat;
}

namespace faceatlas {

/**
 * How a face image becomes the square picture a model sees. The same framing is used by prepare,
 * training, predict/evaluate (through the prepared images), `attention --image` and the desktop
 * application's "drop a photo": a model is only as good as the agreement between the framing it
 * was trained on and the framing it is shown.
 */
enum class Framing : std::int8_t {
    /**
     * Default. dlib's HOG face detector finds the face, its 68-point landmark model places the eyes,
     * nose and mouth, and a similarity transform (rotation, uniform scale, shift: the aspect ratio is
     * never changed) takes them to one fixed template. A face that is not found is centre-cropped.
     */
    Aligned,
    /** The largest centred square of the image, resized: no detection. For sources already framed (the demo). */
    CentreCrop,
};

const char* framingName(Framing framing); // "aligned", "centre-crop"
/** Parses framingName()'s words; throws Error naming the word otherwise. */
Framing parseFraming(const std::string& word);

/** Points of dlib's 68-point (iBUG 300-W) landmark model. */
constexpr int kLandmarkPoints = 68;

/** What the face detector found in one image. Coordinates are pixels of the upright image. */
struct FaceFinding {
    static constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
    int faces = 0;                                         // faces found; 0 = none
    float score = -std::numeric_limits<float>::infinity(); // the chosen face's detector confidence (HOG: about 0-3)
    float secondScore = kNaN;                              // the next best face's confidence; NaN when one face
    std::array<float, 4> box{kNaN, kNaN, kNaN, kNaN};      // chosen face: x1 y1 x2 y2
    std::array<float, 2 * kLandmarkPoints> landmarks{};    // (x, y) per point; all NaN when no face was found
    float roll = kNaN;                                     // degrees the eye line is turned clockwise in the image
    float yaw = kNaN; // rough estimate in degrees from the landmarks' asymmetry; positive when the nose points to the
                      // image's right
    bool found() const { return faces > 0; }
};

/**
 * The faces in an RGB image (CV_8UC3), best first, each with its landmarks. Images are scanned at a
 * working size (long side 240-900 px), so faces smaller than about a tenth of the long side are not
 * found. Thread-safe. Throws Error when the landmark model cannot be loaded (it names the file and
 * the package that provides it).
 */
std::vector<FaceFinding> findFaces(const cv::Mat& rgb);

/**
 * The best face of an image decoded at `decodedScale` (decodeRgb's scale), with its box and
 * landmarks in the original image's pixels; a FaceFinding with faces = 0 and NaN landmarks when
 * there is none.
 */
FaceFinding bestFace(const cv::Mat& rgb, double decodedScale);
/** At most this many faces of one picture are kept (the best ones): a crowd beyond it is a picture of a crowd. */
constexpr int kMaxFacesKept = 64;
/** Every face of an image decoded at `decodedScale`, best first (at most kMaxFacesKept), in the original's pixels. */
std::vector<FaceFinding> facesInOriginal(const cv::Mat& rgb, double decodedScale);
/** A finding in original pixels carried into an image decoded at `decodedScale`. */
FaceFinding scaledFinding(const FaceFinding& original, double decodedScale);
/**
 * The working side to decode a `width` x `height` image at (decodeRgb) so that aligning its face
 * at `size` px still reduces: the face's eyes keep at least their distance in the output.
 */
int alignedWorkingSide(const FaceFinding& finding, int width, int height, int size);

/** The landmark model's path: $FACEATLAS_LANDMARKS, else Debian's libdlib-data file. */
std::string landmarkModelPath();

/**
 * The canonical template: where the left eye, right eye, nose tip and mouth corners go, as
 * fractions of the output square (measured on UTKFace's own crops, so aligned UTKFace faces look
 * like UTKFace's).
 */
const std::array<float, 10>& alignmentTemplate();

/**
 * Frames one decoded RGB image into `size` x `size` x 3 bytes at `out`: aligned to the template
 * when `finding` found a face, otherwise the centred square. Never changes the aspect ratio.
 */
void frameDecodedFace(const cv::Mat& rgb, const FaceFinding* finding, int size, std::uint8_t* out);

/**
 * Frames encoded image bytes whose face was found before (`finding`, in original pixels; null or
 * not found: the centred square) into `size` x `size` x 3 bytes, decoding no more pixels than the
 * framing needs. False with `problem` set when the bytes are not a decodable image.
 */
bool frameKnownFace(const std::string& bytes, int size, const FaceFinding* finding, std::uint8_t* rgbOut,
                    std::string& problem);

/**
 * Decodes encoded image bytes (as decodeSquareRgb checks them) and frames them with `framing` into
 * `size` x `size` x 3 bytes at `rgbOut`. With Framing::Aligned, `found` (when given) receives what
 * the detector found, in the original image's pixels. Returns false with `problem` set when the
 * bytes are not a decodable image; a face that is not found is not a failure (it is centre-cropped
 * and `found->faces` is 0).
 */
bool decodeFramedFace(const std::string& bytes, int size, Framing framing, std::uint8_t* rgbOut, FaceFinding* found,
                      std::string& problem);

} // namespace faceatlas
