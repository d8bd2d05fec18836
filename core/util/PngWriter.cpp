#include "util/PngWriter.h"

#include "util/Error.h"
#include "util/FileUtil.h"

#include <vector>
#include <zlib.h>

namespace faceatlas {

namespace {

void putBigEndian(std::string& out, std::uint32_t v)
{
    const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                           static_cast<char>(v)};
    out.append(bytes, 4);
}

void chunk(std::string& out, const char* type, const std::string& data)
{
    putBigEndian(out, static_cast<std::uint32_t>(data.size()));
    const size_t start = out.size();
    out.append(type, 4);
    out += data;
    const auto crc =
        crc32(0, reinterpret_cast<const Bytef*>(out.data() + start), static_cast<uInt>(out.size() - start));
    putBigEndian(out, static_cast<std::uint32_t>(crc));
}

} // namespace

std::string encodePngRgb(const std::uint8_t* rgb, int width, int height)
{
    if (width <= 0 || height <= 0)
        throw Error("cannot encode an empty image as PNG");
    // Each row starts with filter type 0 (none).
    std::string raw;
    raw.reserve(static_cast<size_t>(height) * (1 + 3 * width));
    for (int y = 0; y < height; ++y) {
        raw += '\0';
        raw.append(reinterpret_cast<const char*>(rgb + static_cast<size_t>(y) * width * 3),
                   static_cast<size_t>(width) * 3);
    }
    uLongf packedSize = compressBound(static_cast<uLong>(raw.size()));
    std::vector<Bytef> packed(packedSize);
    if (compress2(packed.data(), &packedSize, reinterpret_cast<const Bytef*>(raw.data()),
                  static_cast<uLong>(raw.size()), 6)
        != Z_OK)
        throw Error("PNG compression failed");

    std::string png("\x89PNG\r\n\x1a\n", 8);
    std::string header;
    putBigEndian(header, static_cast<std::uint32_t>(width));
    putBigEndian(header, static_cast<std::uint32_t>(height));
    header += std::string("\x08\x02\x00\x00\x00", 5); // 8 bits, RGB, deflate, no filter method, no interlace
    chunk(png, "IHDR", header);
    chunk(png, "IDAT", std::string(reinterpret_cast<const char*>(packed.data()), packedSize));
    chunk(png, "IEND", std::string());
    return png;
}

void writePngRgb(const std::filesystem::path& path, const std::uint8_t* rgb, int width, int height)
{
    writeFileAtomic(path, encodePngRgb(rgb, width, height), /*durable=*/false);
}

} // namespace faceatlas
