#pragma once

#include <cstdint>
#include <string>

namespace cv {
class Mat;
}

namespace faceatlas {

/** What a look at an image file's header found: its size, or why it cannot be used. */
struct ImageProbe {
    bool ok = false;
    int width = 0;
    int height = 0;
    long long fileSize = 0;
    long long modifiedNs = 0; // modification time, so caches notice a replaced file
    std::string problem;      // "missing", "empty file", "not an image", ...
};

/**
 * Largest image decoded, in pixels (50 megapixels: 150 MB of BGR while decoding). Larger images,
 * and images whose header claims more pixels than their file could encode (see
 * checkImageHeader), are refused from their header, before any decoding.
 */
constexpr long long kMaxImagePixels = 50'000'000;

/**
 * Reads the width and height from the header of encoded image bytes (JPEG, PNG, BMP, WebP, TIFF)
 * and checks them: false with `problem` set when the header is missing or corrupt, the image has
 * more than kMaxImagePixels, or the header claims more pixels than `fileSize` bytes could encode
 * (no format compresses beyond about 1,000 pixels per byte; a bomb header claims far more).
 * `bytes` may be just the start of the file; `fileSize` is the whole file's size.
 */
bool checkImageHeader(const std::string& bytes, long long fileSize, int& width, int& height, std::string& problem);

/**
 * Most scans a JPEG may have (TurboJPEG's TJFLAG_LIMITSCANS limit): a progressive JPEG has about ten,
 * and every scan is a pass over all of the picture's coefficients, so a small file of thousands of
 * repeated scans would keep a decoder busy for minutes. decodeSquareRgb and decodeRgb refuse more,
 * whichever decoder (TurboJPEG, or OpenCV's for CMYK) the JPEG would go to.
 */
constexpr long long kMaxJpegScans = 500;

/**
 * The start-of-scan markers of JPEG bytes, counted by walking the marker segments as libjpeg reads
 * them: a scan's entropy-coded data runs to the next marker (0xFF followed by neither a stuffed 0x00
 * nor a restart marker), junk between segments is skipped to the next marker, and the count stops at
 * the end-of-image marker. Linear in the bytes; never fails (a corrupt JPEG is the decoder's to refuse).
 */
long long countJpegScans(const std::string& bytes);

/**
 * The EXIF orientation (1-8) of JPEG bytes, read the way OpenCV's decoder reads it: the first APP1
 * segment, its first directory, tag 0x0112. 1 (as stored) when there is none or it cannot be read.
 */
int jpegExifOrientation(const std::string& bytes);

/**
 * Reads just enough of an image file to know its size from its header, never decoding it. Never
 * throws: a bad file comes back with ok = false and the problem, and so does anything that is not a
 * regular file (a FIFO, a device, a folder: checked before opening, so nothing blocks), an image
 * over kMaxImagePixels and a header that claims more than the file could hold.
 */
ImageProbe probeImage(const std::string& path);

/**
 * Decodes encoded image bytes (refusing what checkImageHeader refuses, before decoding), converts to RGB (grey and CMYK
 * JPEGs included), turns JPEGs upright by their EXIF orientation (as cv::imdecode does) and resizes to size x size with
 * area averaging into `rgbOut` (size*size*3 bytes). JPEGs are decoded by TurboJPEG at the smallest of libjpeg's M/8
 * scales that keeps both sides at least `size` (a 200 px face straight to 150 at 6/8), then area-resized the rest of
 * the way. Returns false with `problem` set when the bytes are not a whole, decodable image, including a JPEG whose
 * decoder warned of missing or corrupt data.
 */
bool decodeSquareRgb(const std::string& bytes, int size, std::uint8_t* rgbOut, std::string& problem);

/**
 * Decodes encoded image bytes, checked as decodeSquareRgb checks them, to an upright RGB image
 * (CV_8UC3) of their own shape. A JPEG is decoded at the smallest of libjpeg's M/8 scales that
 * keeps its short side at least `workingSide` (0: full size); `scale` is decoded pixels per
 * original pixel. False with `problem` set when the bytes are not a whole, decodable image.
 */
bool decodeRgb(const std::string& bytes, int workingSide, cv::Mat& rgb, double& scale, std::string& problem);

/** The largest centred square of an RGB image, resized to `size` x `size` x 3 bytes at `rgbOut`. */
void centreSquareRgb(const cv::Mat& rgb, int size, std::uint8_t* rgbOut);

} // namespace faceatlas
