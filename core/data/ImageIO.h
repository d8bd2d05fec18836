#pragma once

#include <cstdint>
#include <string>

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
 * Reads just enough of an image file to know its size (JPEG, PNG, BMP headers; other formats
 * are decoded). Never throws: a bad file comes back with ok = false and the problem.
 */
ImageProbe probeImage(const std::string& path);

/**
 * Decodes encoded image bytes, converts to RGB (grey and CMYK JPEGs included) and resizes to
 * size x size with area averaging into `rgbOut` (size*size*3 bytes). JPEGs much larger than the
 * target are decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling). `knownWidth`/`knownHeight`
 * (0 = unknown) choose that scale without a second look at the header. Returns false with
 * `problem` set when the bytes are not a whole, decodable image.
 */
bool decodeSquareRgb(const std::string& bytes, int size, std::uint8_t* rgbOut, std::string& problem, int knownWidth = 0,
                     int knownHeight = 0);

} // namespace faceatlas
