#pragma once

#include <filesystem>
#include <string>

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

/** ../shared/data (utkface/, imdb-wiki-meta/); the tests that need it fail when it is missing. */
std::filesystem::path sharedData();

/** Writes bytes to a file, creating folders. */
void writeBytes(const std::filesystem::path& path, const std::string& bytes);

/** A JPEG of a w x h image filled with a smooth gradient (seeded), as file bytes. */
std::string makeJpeg(int w, int h, int seed = 0, bool gray = false);

/**
 * Writes an IMDB-WIKI-like MAT-file with matio (an independent writer): struct `imdb` with the
 * real file's eight fields and n records. Record i: dob = 700000 + i, photo_taken = 1990 + i % 30,
 * full_path = "NN/i_x.jpg", gender alternating, face_score = i % 7 - 1 (every 50th -Inf),
 * second_face_score NaN except every 10th, name "Person i" (every 3rd with a non-ASCII letter).
 */
void writeImdbLikeMat(const std::filesystem::path& path, size_t n, bool compressed, bool utf16Names = true);

} // namespace faceatlas::test
