#include "data/ImageIO.h"

#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

// Reading what an image file's header says (its size, a JPEG's scans and EXIF orientation) without
// decoding it; decoding is ImageIO.cpp's.

namespace faceatlas {

namespace {

class Fd {
public:
    explicit Fd(const std::string& path)
        : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)) // never waits on a FIFO
    {
    }
    ~Fd()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return m_fd; }
    bool read(off_t offset, void* buffer, size_t n) const
    {
        return ::pread(m_fd, buffer, n, offset) == static_cast<ssize_t>(n);
    }

private:
    int m_fd;
};

bool isJpegSof(unsigned char marker)
{
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

/** Reads `n` bytes at `offset` of a file or of bytes in memory. */
using ReadAt = bool (*)(const void* source, long long offset, void* buffer, size_t n);

bool readFd(const void* source, long long offset, void* buffer, size_t n)
{
    return static_cast<const Fd*>(source)->read(static_cast<off_t>(offset), buffer, n);
}

bool readBytes(const void* source, long long offset, void* buffer, size_t n)
{
    const auto* bytes = static_cast<const std::string*>(source);
    if (offset < 0 || static_cast<unsigned long long>(offset) > bytes->size() || bytes->size() - offset < n)
        return false;
    std::memcpy(buffer, bytes->data() + offset, n);
    return true;
}

bool jpegSize(ReadAt read, const void* source, long long size, int& width, int& height)
{
    long long at = 2;
    unsigned char seg[9];
    while (at + 4 <= size) {
        if (!read(source, at, seg, 4) || seg[0] != 0xFF)
            return false;
        if (seg[1] == 0xFF) { // fill bytes before a marker
            ++at;
            continue;
        }
        const int length = (seg[2] << 8) | seg[3];
        if (isJpegSof(seg[1])) {
            if (!read(source, at + 4, seg, 5))
                return false;
            height = (seg[1] << 8) | seg[2];
            width = (seg[3] << 8) | seg[4];
            return width > 0 && height > 0;
        }
        if (seg[1] == 0xD9 || seg[1] == 0xDA || length < 2) // end of image or scan data before any frame header
            return false;
        at += 2 + length;
    }
    return false;
}

std::uint32_t tiffWord(const unsigned char* p, bool little, int bytes)
{
    std::uint32_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v |= std::uint32_t(p[little ? i : bytes - 1 - i]) << (8 * i);
    return v;
}

/** Width and height from a TIFF's first image file directory (tags 256 and 257). */
bool tiffSize(ReadAt read, const void* source, long long size, int& width, int& height)
{
    unsigned char head[8];
    if (!read(source, 0, head, 8))
        return false;
    const bool little = head[0] == 'I';
    const long long ifd = tiffWord(head + 4, little, 4);
    unsigned char countBytes[2];
    if (ifd < 8 || ifd + 2 > size || !read(source, ifd, countBytes, 2))
        return false;
    const int entries = static_cast<int>(tiffWord(countBytes, little, 2));
    long long w = 0, h = 0;
    for (int i = 0; i < entries && (w == 0 || h == 0); ++i) {
        unsigned char e[12];
        if (!read(source, ifd + 2 + 12LL * i, e, 12))
            return false;
        const std::uint32_t tag = tiffWord(e, little, 2), type = tiffWord(e + 2, little, 2);
        const std::uint32_t value = type == 3 ? tiffWord(e + 8, little, 2) : tiffWord(e + 8, little, 4);
        if (tag == 256)
            w = value;
        else if (tag == 257)
            h = value;
    }
    if (w <= 0 || h <= 0 || w > INT32_MAX || h > INT32_MAX)
        return false;
    width = static_cast<int>(w);
    height = static_cast<int>(h);
    return true;
}

/** A PNG's size from its IHDR chunk; 1, 2 and 4-bit pixels raise `maxPixelsPerByte`. */
bool pngSize(const unsigned char* head, int& width, int& height, double& maxPixelsPerByte, std::string& problem)
{
    const std::uint32_t w = tiffWord(head + 16, false, 4), h = tiffWord(head + 20, false, 4);
    const int bitDepth = head[24];
    if (w == 0 || h == 0 || w > INT32_MAX || h > INT32_MAX) {
        problem = "corrupt PNG header";
        return false;
    }
    width = static_cast<int>(w);
    height = static_cast<int>(h);
    if (bitDepth > 0 && bitDepth < 8) // 1, 2 or 4 bits a pixel: 8 / bitDepth pixels a byte before deflate
        maxPixelsPerByte *= 8.0 / bitDepth;
    return true;
}

/** A BMP's size from its info header (a negative height is a top-down BMP). */
bool bmpSize(const unsigned char* head, int& width, int& height, double& maxPixelsPerByte, std::string& problem)
{
    std::int32_t w, h;
    std::memcpy(&w, head + 18, 4);
    std::memcpy(&h, head + 22, 4);
    if (w <= 0 || h == 0 || h == INT32_MIN) {
        problem = "corrupt BMP header";
        return false;
    }
    width = w;
    height = std::abs(h);
    maxPixelsPerByte = 8 * 1100; // 1-bit BMPs, RLE-compressed ones
    return true;
}

/** A WebP's size from its first chunk (VP8X, VP8L or VP8). */
bool webpSize(const unsigned char* head, int& width, int& height, std::string& problem)
{
    if (std::memcmp(head + 12, "VP8X", 4) == 0) {
        width = 1 + static_cast<int>(tiffWord(head + 24, true, 3));
        height = 1 + static_cast<int>(tiffWord(head + 27, true, 3));
    } else if (std::memcmp(head + 12, "VP8L", 4) == 0) {
        const std::uint32_t bits = tiffWord(head + 21, true, 4);
        width = 1 + static_cast<int>(bits & 0x3FFF);
        height = 1 + static_cast<int>((bits >> 14) & 0x3FFF);
    } else if (std::memcmp(head + 12, "VP8 ", 4) == 0) {
        width = static_cast<int>(tiffWord(head + 26, true, 2) & 0x3FFF);
        height = static_cast<int>(tiffWord(head + 28, true, 2) & 0x3FFF);
    } else {
        problem = "corrupt WebP header";
        return false;
    }
    if (width <= 0 || height <= 0) {
        problem = "corrupt WebP header";
        return false;
    }
    return true;
}

/**
 * The size of an image from its header; `head` holds the file's first bytes (at least 32 where
 * the file has them) and `read` reaches further (JPEG segments, TIFF directories).
 * `maxPixelsPerByte` is set to how many pixels one byte of this file could encode at most.
 */
bool headerSize(const unsigned char* head, size_t n, ReadAt read, const void* source, long long size, int& width,
                int& height, double& maxPixelsPerByte, std::string& problem)
{
    // Deflate (PNG) compresses at most 1032:1, so 8-bit pixels need at least ~1/1032 byte each;
    // JPEG needs at least 2 bits per 8x8 block (256 pixels per byte). 1100 bounds both.
    maxPixelsPerByte = 1100;
    if (n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) {
        if (jpegSize(read, source, size, width, height))
            return true;
        problem = "corrupt JPEG header";
        return false;
    }
    if (n >= 26 && std::memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0)
        return pngSize(head, width, height, maxPixelsPerByte, problem);
    if (n >= 26 && head[0] == 'B' && head[1] == 'M')
        return bmpSize(head, width, height, maxPixelsPerByte, problem);
    if (n >= 30 && std::memcmp(head, "RIFF", 4) == 0 && std::memcmp(head + 8, "WEBP", 4) == 0)
        return webpSize(head, width, height, problem);
    if (n >= 8 && (std::memcmp(head, "II*\0", 4) == 0 || std::memcmp(head, "MM\0*", 4) == 0)) {
        if (tiffSize(read, source, size, width, height)) {
            maxPixelsPerByte = 8 * 1100; // bilevel images
            return true;
        }
        problem = "corrupt TIFF header";
        return false;
    }
    problem = "not an image (unrecognised file header)";
    return false;
}

/** The limits on a header's size: kMaxImagePixels and what the file could hold. */
bool checkPixels(int width, int height, long long fileSize, double maxPixelsPerByte, std::string& problem)
{
    const long long pixels = static_cast<long long>(width) * height; // both below 2^31: no overflow
    if (pixels > kMaxImagePixels) {
        problem = "image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels is over the limit of "
                  + std::to_string(kMaxImagePixels / 1000000) + " megapixels";
        return false;
    }
    if (static_cast<double>(pixels) > maxPixelsPerByte * static_cast<double>(fileSize) + 1e6) {
        problem = "header claims " + std::to_string(width) + "x" + std::to_string(height) + " pixels, more than its "
                  + std::to_string(fileSize) + " bytes could hold";
        return false;
    }
    return true;
}

} // namespace

int jpegExifOrientation(const std::string& bytes)
{
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t size = bytes.size();
    size_t at = 2;
    while (at + 4 <= size && data[at] == 0xFF) {
        const unsigned char marker = data[at + 1];
        if (marker == 0xFF) { // fill bytes before a marker
            ++at;
            continue;
        }
        if (marker == 0xDA || marker == 0xD9) // libjpeg saves the segments before the first scan
            return 1;
        const size_t length = (size_t(data[at + 2]) << 8) | data[at + 3];
        if (length < 2 || at + 2 + length > size)
            return 1;
        if (marker == 0xE1) {
            // "Exif\0\0", then a TIFF header: byte order, 42, the offset of the first directory.
            const unsigned char* tiff = data + at + 4 + 6;
            const size_t tiffSize = length >= 8 ? length - 2 - 6 : 0;
            if (tiffSize < 8 || std::memcmp(data + at + 4, "Exif\0\0", 6) != 0 || (tiff[0] != 'I' && tiff[0] != 'M'))
                return 1;
            const bool little = tiff[0] == 'I';
            if (tiffWord(tiff + 2, little, 2) != 42)
                return 1;
            const size_t ifd = tiffWord(tiff + 4, little, 4);
            if (ifd + 2 > tiffSize)
                return 1;
            const size_t entries = tiffWord(tiff + ifd, little, 2);
            for (size_t i = 0; i < entries && ifd + 2 + 12 * (i + 1) <= tiffSize; ++i) {
                const unsigned char* entry = tiff + ifd + 2 + 12 * i;
                if (tiffWord(entry, little, 2) == 0x0112) {
                    const int orientation = static_cast<int>(tiffWord(entry + 8, little, 2));
                    return orientation >= 1 && orientation <= 8 ? orientation : 1;
                }
            }
            return 1; // OpenCV reads only the first APP1
        }
        at += 2 + length;
    }
    return 1;
}

bool checkImageHeader(const std::string& bytes, long long fileSize, int& width, int& height, std::string& problem)
{
    const auto* head = reinterpret_cast<const unsigned char*>(bytes.data());
    double maxPixelsPerByte = 0;
    width = height = 0;
    const long long available = static_cast<long long>(bytes.size());
    if (!headerSize(head, bytes.size(), readBytes, &bytes, std::min(available, fileSize), width, height,
                    maxPixelsPerByte, problem))
        return false;
    return checkPixels(width, height, fileSize, maxPixelsPerByte, problem);
}

ImageProbe probeImage(const std::string& path)
{
    ImageProbe probe;
    // stat() first: opening a FIFO could block, reading /dev/zero would never end.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        probe.problem = errno == ENOENT ? "missing" : std::string("cannot stat: ") + errnoText(errno);
        return probe;
    }
    if (!S_ISREG(st.st_mode)) {
        probe.problem = std::string("not a regular file (") + fileTypeName(st.st_mode) + ")";
        return probe;
    }
    Fd fd(path);
    if (fd.get() < 0) {
        probe.problem = errno == ENOENT ? "missing" : std::string("cannot open: ") + errnoText(errno);
        return probe;
    }
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) { // replaced since the stat() above
        probe.problem = "not a regular file";
        return probe;
    }
    probe.fileSize = st.st_size;
    probe.modifiedNs = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    if (st.st_size == 0) {
        probe.problem = "empty file";
        return probe;
    }
    unsigned char head[32] = {};
    const size_t n = static_cast<size_t>(std::min<off_t>(st.st_size, sizeof head));
    if (!fd.read(0, head, n)) {
        probe.problem = "cannot read";
        return probe;
    }
    double maxPixelsPerByte = 0;
    probe.ok = headerSize(head, n, readFd, &fd, st.st_size, probe.width, probe.height, maxPixelsPerByte, probe.problem)
               && checkPixels(probe.width, probe.height, st.st_size, maxPixelsPerByte, probe.problem);
    return probe;
}

long long countJpegScans(const std::string& bytes)
{
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    const size_t size = bytes.size();
    long long scans = 0;
    size_t at = 2; // after the start-of-image marker
    while (at + 1 < size) {
        // The next marker: an 0xFF (after any fill 0xFFs) and a code that is not a stuffed 0x00.
        // Between segments libjpeg skips junk to it the same way, with a warning.
        const void* ff = std::memchr(data + at, 0xFF, size - at);
        if (!ff)
            break;
        at = static_cast<size_t>(static_cast<const unsigned char*>(ff) - data);
        while (at + 1 < size && data[at + 1] == 0xFF)
            ++at;
        if (at + 1 >= size)
            break;
        const unsigned char marker = data[at + 1];
        if (marker == 0xD9) // end of image: libjpeg reads nothing after it
            break;
        // A stuffed 0xFF of entropy-coded data, a restart marker (RST0-7), TEM or SOI: no length follows.
        if (marker == 0x00 || (marker >= 0xD0 && marker <= 0xD8) || marker == 0x01) {
            at += 2;
            continue;
        }
        if (marker == 0xDA)
            ++scans;
        if (at + 4 > size)
            break;
        // A segment's length counts its own two bytes; the entropy-coded data after a scan's header
        // is searched for the next marker above.
        const size_t length = (size_t(data[at + 2]) << 8) | data[at + 3];
        at += 2 + std::max<size_t>(length, 2);
    }
    return scans;
}

} // namespace faceatlas
