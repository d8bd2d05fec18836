#include "data/ImageIO.h"

#include <algorithm>
#include <cstdint>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <turbojpeg.h>
#include <utility>

// Decoding images (TurboJPEG, or OpenCV's decoders) to RGB; reading their headers is ImageHeader.cpp's.

namespace faceatlas {

namespace {

/** Turns `image` upright as cv::imdecode does for an EXIF orientation (its ApplyExifOrientation). */
void applyExifOrientation(cv::Mat& image, int orientation)
{
    if (orientation >= 5) // the picture is stored transposed
        cv::transpose(image, image);
    switch (orientation) {
    case 2:
    case 6: cv::flip(image, image, 1); break;
    case 3:
    case 7: cv::flip(image, image, -1); break;
    case 4:
    case 8: cv::flip(image, image, 0); break;
    default: break;
    }
}

/** One TurboJPEG decompressor per decoding thread (a handle must not be shared), freed when the thread ends. */
class TurboDecompressor {
public:
    TurboDecompressor()
        : m_handle(tjInitDecompress())
    {
    }
    ~TurboDecompressor()
    {
        if (m_handle)
            tjDestroy(m_handle);
    }
    TurboDecompressor(const TurboDecompressor&) = delete;
    TurboDecompressor& operator=(const TurboDecompressor&) = delete;
    tjhandle get() const { return m_handle; }

private:
    tjhandle m_handle;
};

tjhandle threadDecompressor()
{
    thread_local TurboDecompressor decompressor;
    return decompressor.get();
}

/**
 * The smallest of libjpeg's M/8 scales (M = 1..8) that leaves both sides at least `size`, so that
 * the area resize after it has at most a small step left; 1/1 when the image is smaller than that.
 * Enlarging stays with the resize, as it was before the scaled decode.
 */
tjscalingfactor jpegScale(int width, int height, int size)
{
    int count = 0;
    const tjscalingfactor* factors = tjGetScalingFactors(&count);
    tjscalingfactor best{1, 1};
    for (int i = 0; factors && i < count; ++i) {
        const tjscalingfactor f = factors[i];
        if (f.num <= f.denom && TJSCALED(width, f) >= size && TJSCALED(height, f) >= size
            && f.num * best.denom < best.num * f.denom)
            best = f;
    }
    return best;
}

/**
 * Resizes a picture decoded at a reduced scale into `out` (size x size). libjpeg rounds a scaled
 * side up: 317 px at 5/8 gives 199 px for 198.1 px of picture, the last column partly the encoder's
 * padding. Stretching all 199 columns would move the far edge by up to half a target pixel (35 dB
 * against the full decode's resize instead of 45), so the resize maps the picture's own extent,
 * `exactWidth` x `exactHeight` from the top left.
 */
void resizeExtent(const cv::Mat& image, double exactWidth, double exactHeight, int interpolation, cv::Mat& out)
{
    const int size = out.cols;
    // With no target size given, cv::resize keeps these scales and rounds the size it makes: size,
    // or size + 1 when the rounded-up part reaches half a pixel (cut off below). A given size would
    // set the scales from the whole columns again.
    const double fx = size / exactWidth, fy = size / exactHeight;
    const bool exact = cvRound(image.cols * fx) == size && cvRound(image.rows * fy) == size;
    cv::Mat resized = exact ? out : cv::Mat();
    cv::resize(image, resized, cv::Size(), fx, fy, interpolation);
    if (!exact)
        resized(cv::Rect(0, 0, size, size)).copyTo(out);
}

enum class JpegDecode { Done, Failed, UseOpenCv };

/**
 * Decodes a JPEG with TurboJPEG to RGB at `scale` into `dst` (the scaled size, as TJSCALED gives
 * it; nothing turned upright yet). UseOpenCv for what OpenCV's decoder handles and this does not:
 * CMYK, sampling factors TurboJPEG's header reader rejects, and a warning in the header.
 */
JpegDecode turboDecode(const std::string& bytes, int width, int height, tjscalingfactor scale, std::uint8_t* dst,
                       std::string& problem)
{
    tjhandle handle = threadDecompressor();
    if (!handle)
        return JpegDecode::UseOpenCv;
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    const auto n = static_cast<unsigned long>(bytes.size());
    int jpegWidth = 0, jpegHeight = 0, subsampling = 0, colorspace = 0;
    // Any warning here would mask the decode's own: TurboJPEG reports only the first warning of an
    // image, and those of the entropy-coded data below are the ones that mean missing pixels.
    if (tjDecompressHeader3(handle, data, n, &jpegWidth, &jpegHeight, &subsampling, &colorspace) != 0
        || colorspace == TJCS_CMYK || colorspace == TJCS_YCCK)
        return JpegDecode::UseOpenCv;
    if (jpegWidth != width || jpegHeight != height) { // the size checked against the limits is the one decoded
        problem = "corrupt JPEG header (frame size " + std::to_string(jpegWidth) + "x" + std::to_string(jpegHeight)
                  + " where the first frame header says " + std::to_string(width) + "x" + std::to_string(height) + ")";
        return JpegDecode::Failed;
    }
    const int scaledWidth = TJSCALED(width, scale), scaledHeight = TJSCALED(height, scale);
    // TJFLAG_LIMITSCANS refuses progressive JPEGs of more than 500 scans, each a pass over every
    // coefficient: a small file could otherwise keep a core busy for minutes.
    if (tjDecompress2(handle, data, n, dst, scaledWidth, 0, scaledHeight, TJPF_RGB, TJFLAG_LIMITSCANS) != 0) {
        const std::string message = tjGetErrorStr2(handle);
        // libjpeg carries on after a warning with grey where data is missing or corrupt, so only
        // junk after the last scan (nothing can follow its end-of-image marker) is let through.
        const std::string harmless = "extraneous bytes before marker 0xd9";
        const bool warning = tjGetErrorCode(handle) == TJERR_WARNING;
        if (!warning || message.size() < harmless.size()
            || message.compare(message.size() - harmless.size(), harmless.size(), harmless) != 0) {
            problem = "corrupt JPEG (" + message + ")";
            return JpegDecode::Failed;
        }
    }
    return JpegDecode::Done;
}

/**
 * Decodes a JPEG with TurboJPEG straight to RGB at the scale jpegScale picks and resizes the rest
 * of the way: a 200 px face needs no resize at 150 (6/8), where a full decode plus the area resize
 * took longer than the decode alone. UseOpenCv where turboDecode says so.
 */
JpegDecode decodeJpegScaled(const std::string& bytes, int width, int height, int size, std::uint8_t* rgbOut,
                            std::string& problem)
{
    const tjscalingfactor scale = jpegScale(width, height, size);
    const int scaledWidth = TJSCALED(width, scale), scaledHeight = TJSCALED(height, scale);
    const int orientation = jpegExifOrientation(bytes);
    const bool direct = scaledWidth == size && scaledHeight == size;
    cv::Mat scaled;
    if (!direct)
        scaled.create(scaledHeight, scaledWidth, CV_8UC3);
    const JpegDecode decoded = turboDecode(bytes, width, height, scale, direct ? rgbOut : scaled.data, problem);
    if (decoded != JpegDecode::Done)
        return decoded;
    cv::Mat out(size, size, CV_8UC3, rgbOut);
    if (!direct) {
        // Turned upright after the resize, so that the rounded-up edge is still at the bottom right;
        // area averaging gives the same either way round. The interpolation is chosen as OpenCV's
        // path below chooses it, by the upright width.
        const int uprightWidth = orientation >= 5 ? scaledHeight : scaledWidth;
        resizeExtent(scaled, static_cast<double>(width) * scale.num / scale.denom,
                     static_cast<double>(height) * scale.num / scale.denom,
                     uprightWidth > size ? cv::INTER_AREA : cv::INTER_LINEAR, out);
    }
    applyExifOrientation(out, orientation);
    return JpegDecode::Done;
}
/**
 * The checks every decode makes before decoding: not empty, a header whose size is believable
 * (checkImageHeader) and, for a JPEG, the end-of-image marker and at most kMaxJpegScans scans.
 * Sets `jpeg` and the header's size.
 */
bool checkEncoded(const std::string& bytes, int& headerWidth, int& headerHeight, bool& jpeg, std::string& problem)
{
    if (bytes.empty()) {
        problem = "empty file";
        return false;
    }
    // The header's size is checked before decoding: a 900-megapixel PNG bomb of 875 KB would
    // otherwise allocate 2.7 GB in OpenCV.
    if (!checkImageHeader(bytes, static_cast<long long>(bytes.size()), headerWidth, headerHeight, problem))
        return false;
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    jpeg = bytes.size() >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
    if (jpeg) {
        // A whole JPEG ends with the EOI marker; libjpeg only warns about a truncated one and
        // returns grey where the data stops, so check it here. 0xFF 0xD9 cannot occur inside
        // entropy-coded data (0xFF is stuffed), so finding it near the end is reliable.
        const size_t tail = std::min<size_t>(bytes.size(), 4096);
        bool eoi = false;
        for (size_t i = bytes.size() - 1; i + tail > bytes.size() && i > 0; --i)
            if (data[i - 1] == 0xFF && data[i] == 0xD9) {
                eoi = true;
                break;
            }
        if (!eoi) {
            problem = "truncated JPEG (no end-of-image marker)";
            return false;
        }
        // Every scan of a progressive JPEG is a pass over all its coefficients: a 258 KB CMYK JPEG
        // with its last scan repeated 2,000 times kept OpenCV's decoder (which has no limit) busy
        // for 25 s. TurboJPEG refuses more than 500 (TJFLAG_LIMITSCANS); counted here, the limit
        // holds for every decoder.
        const long long scans = countJpegScans(bytes);
        if (scans > kMaxJpegScans) {
            problem = "JPEG of " + std::to_string(scans) + " scans, more than the " + std::to_string(kMaxJpegScans)
                      + " a JPEG needs (each scan is a pass over the whole picture)";
            return false;
        }
    }
    return true;
}

/** cv::imdecode with its exceptions and empty results turned into `problem`. */
bool openCvDecode(const std::string& bytes, int flags, bool jpeg, cv::Mat& bgr, std::string& problem)
{
    try {
        bgr = cv::imdecode(
            cv::_InputArray(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size())),
            flags);
    } catch (const cv::Exception& e) {
        problem = std::string("cannot decode: ") + e.what();
        return false;
    }
    if (bgr.empty()) {
        problem = jpeg ? "corrupt JPEG" : "cannot decode";
        return false;
    }
    return true;
}

/** The reduced JPEG decode (1/2, 1/4, 1/8) that keeps the short side at least `size`, or IMREAD_COLOR. */
int reducedFlags(int shortSide, int size, double* scale)
{
    for (const auto& [factor, flags] :
         {std::pair{8, int(cv::IMREAD_REDUCED_COLOR_8)}, std::pair{4, int(cv::IMREAD_REDUCED_COLOR_4)},
          std::pair{2, int(cv::IMREAD_REDUCED_COLOR_2)}})
        if (shortSide >= factor * size) {
            if (scale)
                *scale = 1.0 / factor;
            return flags;
        }
    if (scale)
        *scale = 1.0;
    return cv::IMREAD_COLOR;
}

} // namespace

bool decodeRgb(const std::string& bytes, int workingSide, cv::Mat& rgb, double& scale, std::string& problem)
{
    int headerWidth = 0, headerHeight = 0;
    bool jpeg = false;
    if (!checkEncoded(bytes, headerWidth, headerHeight, jpeg, problem))
        return false;
    scale = 1.0;
    if (jpeg) {
        const tjscalingfactor factor =
            workingSide > 0 ? jpegScale(headerWidth, headerHeight, workingSide) : tjscalingfactor{1, 1};
        cv::Mat decoded(TJSCALED(headerHeight, factor), TJSCALED(headerWidth, factor), CV_8UC3);
        switch (turboDecode(bytes, headerWidth, headerHeight, factor, decoded.data, problem)) {
        case JpegDecode::Done:
            applyExifOrientation(decoded, jpegExifOrientation(bytes));
            rgb = decoded;
            scale = static_cast<double>(factor.num) / factor.denom;
            return true;
        case JpegDecode::Failed: return false;
        case JpegDecode::UseOpenCv: break;
        }
    }
    const int flags = jpeg && workingSide > 0 ? reducedFlags(std::min(headerWidth, headerHeight), workingSide, &scale)
                                              : int(cv::IMREAD_COLOR);
    cv::Mat bgr;
    if (!openCvDecode(bytes, flags, jpeg, bgr, problem))
        return false;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return true;
}

void centreSquareRgb(const cv::Mat& rgb, int size, std::uint8_t* rgbOut)
{
    const int side = std::min(rgb.cols, rgb.rows);
    const cv::Mat square = rgb(cv::Rect((rgb.cols - side) / 2, (rgb.rows - side) / 2, side, side));
    cv::Mat out(size, size, CV_8UC3, rgbOut);
    if (side == size)
        square.copyTo(out);
    else
        cv::resize(square, out, cv::Size(size, size), 0, 0, side > size ? cv::INTER_AREA : cv::INTER_LINEAR);
}

bool decodeSquareRgb(const std::string& bytes, int size, std::uint8_t* rgbOut, std::string& problem)
{
    int headerWidth = 0, headerHeight = 0;
    bool jpeg = false;
    if (!checkEncoded(bytes, headerWidth, headerHeight, jpeg, problem))
        return false;
    int flags = cv::IMREAD_COLOR;
    if (jpeg) {
        switch (decodeJpegScaled(bytes, headerWidth, headerHeight, size, rgbOut, problem)) {
        case JpegDecode::Done: return true;
        case JpegDecode::Failed: return false;
        case JpegDecode::UseOpenCv: break;
        }
        flags = reducedFlags(std::min(headerWidth, headerHeight), size, nullptr);
    }
    cv::Mat bgr;
    if (!openCvDecode(bytes, flags, jpeg, bgr, problem))
        return false;
    cv::Mat resized;
    if (bgr.cols == size && bgr.rows == size)
        resized = bgr;
    else
        cv::resize(bgr, resized, cv::Size(size, size), 0, 0, bgr.cols > size ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::Mat rgb(size, size, CV_8UC3, rgbOut);
    cv::cvtColor(resized, rgb, cv::COLOR_BGR2RGB);
    return true;
}

} // namespace faceatlas
