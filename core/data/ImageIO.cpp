#include "data/ImageIO.h"

#include "util/FileUtil.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

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
    if (n >= 26 && std::memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0) {
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
    if (n >= 26 && head[0] == 'B' && head[1] == 'M') {
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
    if (n >= 30 && std::memcmp(head, "RIFF", 4) == 0 && std::memcmp(head + 8, "WEBP", 4) == 0) {
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

/**
 * The EXIF orientation (1-8) of a JPEG, read the way OpenCV's decoder reads it: the first APP1
 * segment, its first directory, tag 0x0112. 1 (as stored) when there is none or it cannot be read.
 */
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

} // namespace

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
        probe.problem = errno == ENOENT ? "missing" : std::string("cannot stat: ") + std::strerror(errno);
        return probe;
    }
    if (!S_ISREG(st.st_mode)) {
        probe.problem = std::string("not a regular file (") + fileTypeName(st.st_mode) + ")";
        return probe;
    }
    Fd fd(path);
    if (fd.get() < 0) {
        probe.problem = errno == ENOENT ? "missing" : std::string("cannot open: ") + std::strerror(errno);
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

namespace {

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
