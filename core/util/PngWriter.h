#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace faceatlas {

/** Encodes 8-bit RGB (channels last, rows top to bottom) as PNG bytes; zlib only, no image library. */
std::string encodePngRgb(const std::uint8_t* rgb, int width, int height);

/** Writes an RGB image as a PNG file atomically. */
void writePngRgb(const std::filesystem::path& path, const std::uint8_t* rgb, int width, int height);

} // namespace faceatlas
