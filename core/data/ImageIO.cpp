#include "data/ImageIO.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sys/stat.h>
#include <unistd.h>

namespace faceatlas {

namespace {

class Fd {
public:
    explicit Fd(const std::string& path)
        : m_fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC))
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

bool probeJpeg(const Fd& fd, off_t fileSize, ImageProbe& probe)
{
    off_t at = 2;
    unsigned char seg[9];
    while (at + 4 <= fileSize) {
        if (!fd.read(at, seg, 4) || seg[0] != 0xFF)
            return false;
        if (seg[1] == 0xFF) { // fill bytes before a marker
            ++at;
            continue;
        }
        const int length = (seg[2] << 8) | seg[3];
        if (isJpegSof(seg[1])) {
            if (!fd.read(at + 4, seg, 5))
                return false;
            probe.height = (seg[1] << 8) | seg[2];
            probe.width = (seg[3] << 8) | seg[4];
            return probe.width > 0 && probe.height > 0;
        }
        if (seg[1] == 0xD9 || seg[1] == 0xDA || length < 2) // end of image or scan data before any frame header
            return false;
        at += 2 + length;
    }
    return false;
}

} // namespace

ImageProbe probeImage(const std::string& path)
{
    ImageProbe probe;
    Fd fd(path);
    if (fd.get() < 0) {
        probe.problem = errno == ENOENT ? "missing" : std::string("cannot open: ") + std::strerror(errno);
        return probe;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
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
    if (n >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF) {
        probe.ok = probeJpeg(fd, st.st_size, probe);
        if (!probe.ok)
            probe.problem = "corrupt JPEG header";
        return probe;
    }
    if (n >= 24 && std::memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0) {
        probe.width = (head[16] << 24) | (head[17] << 16) | (head[18] << 8) | head[19];
        probe.height = (head[20] << 24) | (head[21] << 16) | (head[22] << 8) | head[23];
        probe.ok = probe.width > 0 && probe.height > 0;
        if (!probe.ok)
            probe.problem = "corrupt PNG header";
        return probe;
    }
    if (n >= 26 && head[0] == 'B' && head[1] == 'M') {
        std::int32_t w, h;
        std::memcpy(&w, head + 18, 4);
        std::memcpy(&h, head + 22, 4);
        probe.width = w;
        probe.height = std::abs(h);
        probe.ok = probe.width > 0 && probe.height > 0;
        if (!probe.ok)
            probe.problem = "corrupt BMP header";
        return probe;
    }
    const bool otherImage = (n >= 12 && std::memcmp(head, "RIFF", 4) == 0 && std::memcmp(head + 8, "WEBP", 4) == 0)
                            || (n >= 4 && (std::memcmp(head, "II*\0", 4) == 0 || std::memcmp(head, "MM\0*", 4) == 0));
    if (!otherImage) {
        probe.problem = "not an image (unrecognised file header)";
        return probe;
    }
    const cv::Mat img = cv::imread(path, cv::IMREAD_UNCHANGED);
    if (img.empty()) {
        probe.problem = "cannot decode";
        return probe;
    }
    probe.ok = true;
    probe.width = img.cols;
    probe.height = img.rows;
    return probe;
}

bool decodeSquareRgb(const std::string& bytes, int size, std::uint8_t* rgbOut, std::string& problem, int knownWidth,
                     int knownHeight)
{
    if (bytes.empty()) {
        problem = "empty file";
        return false;
    }
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    const bool jpeg = bytes.size() >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
    int flags = cv::IMREAD_COLOR;
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
        const int shortSide = std::min(knownWidth, knownHeight);
        if (shortSide >= 8 * size)
            flags = cv::IMREAD_REDUCED_COLOR_8;
        else if (shortSide >= 4 * size)
            flags = cv::IMREAD_REDUCED_COLOR_4;
        else if (shortSide >= 2 * size)
            flags = cv::IMREAD_REDUCED_COLOR_2;
    }
    cv::Mat bgr;
    try {
        bgr = cv::imdecode(cv::_InputArray(data, static_cast<int>(bytes.size())), flags);
    } catch (const cv::Exception& e) {
        problem = std::string("cannot decode: ") + e.what();
        return false;
    }
    if (bgr.empty()) {
        problem = jpeg ? "corrupt JPEG" : "cannot decode";
        return false;
    }
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
