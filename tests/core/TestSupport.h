#pragma once

#include <cstdint>
#include <filesystem>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace faceatlas::test {

/** A fresh folder under the system temp folder, removed with everything in it at the end of the test. */
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return m_path; }
    std::filesystem::path operator/(const std::string& name) const { return m_path / name; }

private:
    std::filesystem::path m_path;
};

/**
 * ../shared/data (utkface/, imdb-wiki-meta/), or $FACEATLAS_SHARED_DATA when set. The tests that
 * need it skip (FACEATLAS_REQUIRE_SHARED_DATA) when the folder they read is absent.
 */
std::filesystem::path sharedData();

/** sharedData() / sub when that folder exists, else an empty path. */
std::filesystem::path sharedDataFolder(const std::string& sub);

/** The id of a process that has just ended: one no live process has (for temporaries of dead writers). */
long deadProcessId();

/** Writes bytes to a file, creating folders. */
void writeBytes(const std::filesystem::path& path, const std::string& bytes);

/** A JPEG of a w x h image filled with a smooth gradient (seeded), as file bytes. */
std::string makeJpeg(int w, int h, int seed = 0, bool gray = false);

/**
 * A photo-like test picture of w x h (BGR): a demo face drawn large and area-resized, with sensor-like
 * noise and a hard-edged block in the top-left corner (so a mirrored or turned picture differs).
 */
cv::Mat makeFacePhoto(int w, int h, int seed = 0);

/** The pictures decodeSquareRgb is measured against: cv::imdecode at full size, area resize to size x size, RGB. */
std::vector<std::uint8_t> referenceSquareRgb(const std::string& bytes, int size);

/** Peak signal-to-noise ratio of two 8-bit pictures of n bytes, in dB; infinity when they are equal. */
double psnr(const std::uint8_t* a, const std::uint8_t* b, size_t n);

/**
 * Writes an IMDB-WIKI-like MAT-file with matio (an independent writer): struct `imdb` with the
 * real file's eight fields and n records. Record i: dob = 700000 + i, photo_taken = 1990 + i % 30,
 * full_path = "NN/i_x.jpg", gender alternating, face_score = i % 7 - 1 (every 50th -Inf),
 * second_face_score NaN except every 10th, name "Person i" (every 3rd with a non-ASCII letter).
 */
void writeImdbLikeMat(const std::filesystem::path& path, size_t n, bool compressed, bool utf16Names = true);

} // namespace faceatlas::test

/**
 * Skips the calling test, saying which folder is absent, when sharedData() / sub (e.g.
 * "utkface/images") is not there: the real data is research-only and not part of the project.
 */
#define FACEATLAS_REQUIRE_SHARED_DATA(sub)                                                                             \
    do {                                                                                                               \
        if (faceatlas::test::sharedDataFolder(sub).empty())                                                            \
            GTEST_SKIP() << "real data folder " << (faceatlas::test::sharedData() / (sub)).string()                    \
                         << " is absent (set FACEATLAS_SHARED_DATA or -DFACEATLAS_SHARED_DATA=...)";                   \
    } while (false)
