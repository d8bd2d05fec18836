#pragma once

#include "data/Record.h"
#include "util/MappedFile.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace faceatlas {

class OpenFolder;

/**
 * A prepared dataset folder, opened for reading: cleaned records, the uint8 image cache
 * (memory-mapped, N x S x S x 3 RGB) and the training / validation split.
 * Needs no OpenCV, so the training side builds with LibTorch alone.
 *
 * Layout: prepared.json (manifest and report, written last), records.bin, images.u8, split.bin.
 */
class PreparedDataset {
public:
    static constexpr const char* kManifest = "prepared.json";
    static constexpr const char* kRecords = "records.bin";
    static constexpr const char* kImages = "images.u8";
    static constexpr const char* kSplit = "split.bin";
    /** Aligned preparations: N x 68 x 2 float32 landmarks in the original images' pixels (NaN: no face). */
    static constexpr const char* kLandmarks = "landmarks.f32";

    /**
     * Opens DIR; throws Error naming the file and the problem (missing, incomplete, wrong size).
     * Every file comes from one preparation, even when another is swapped into DIR meanwhile.
     */
    static PreparedDataset open(const std::filesystem::path& dir);
    /**
     * prepared.json is a few kilobytes to a few megabytes (its lists of failed and skipped rows, which
     * grow with the source), so it gets more room than other manifests (kMaxManifestBytes in Json.h):
     * more is refused unread.
     */
    static constexpr std::uint64_t kMaxManifestBytes = 64ull << 20;

    /** Smallest and largest image side a prepared dataset may have. */
    static constexpr int kMinSize = 8;
    static constexpr int kMaxSize = 1024;

    /** What prepared.json says, checked (the settings and the cleaning report stay in the text). */
    struct Manifest {
        int size = 0;
        std::string source;
        std::array<float, 3> mean{};
        std::array<float, 3> stddev{};
    };
    /**
     * Parses and checks prepared.json text: the format tag, `size` within kMinSize-kMaxSize, three
     * finite means and standard deviations. `what` names the file in the Error thrown.
     */
    static Manifest parseManifest(const std::string& text, const std::string& what);
    /**
     * Parses split.bin bytes into training and validation indices, each checked to be below
     * `count`; the counts are checked against the bytes before anything is allocated.
     */
    static void parseSplit(const std::string& bytes, size_t count, std::vector<std::uint32_t>& train,
                           std::vector<std::uint32_t>& val, const std::string& what);
    /** Checks that images.u8 of `bytes` holds `count` images of size x size (overflow-safe). */
    static void checkImagesSize(size_t bytes, size_t count, int size, const std::string& what);

    const std::filesystem::path& dir() const { return m_dir; }
    int imageSize() const { return m_size; }
    size_t count() const { return m_records.size(); }
    const std::vector<Record>& records() const { return m_records; }
    /** Training indices after resampling (an image may appear more than once). */
    const std::vector<std::uint32_t>& trainIndices() const { return m_train; }
    const std::vector<std::uint32_t>& valIndices() const { return m_val; }
    /**
     * RGB bytes of image i: imageSize() * imageSize() * 3, row-major, channels last. Throws
     * std::out_of_range when i >= count().
     */
    const std::uint8_t* image(size_t i) const
    {
        if (i >= count())
            throwImageIndex(i);
        return m_images.data() + i * imageBytes();
    }
    size_t imageBytes() const { return static_cast<size_t>(m_size) * m_size * 3; }
    /** Per-channel mean and standard deviation of the training images, on a 0-1 scale. */
    const std::array<float, 3>& mean() const { return m_mean; }
    const std::array<float, 3>& stddev() const { return m_std; }
    const std::string& sourceSpec() const { return m_source; }
    /**
     * Face i's 68 landmarks, (x, y) x 68 in its picture's pixels, from DIR/landmarks.f32 (aligned
     * preparations); null when the folder has none, the file is not one row per face, or no face
     * was found. Mapped at open, so a later preparation swapped into DIR never pairs this folder's
     * faces with its landmarks.
     */
    const float* landmarks(size_t i) const;
    /** The manifest text (JSON), with the settings and the cleaning report. */
    const std::string& manifestJson() const { return m_manifest; }

    /** Writes split.bin: training then validation indices. */
    static void writeSplit(const std::filesystem::path& file, const std::vector<std::uint32_t>& train,
                           const std::vector<std::uint32_t>& val);

private:
    static PreparedDataset openFrom(const OpenFolder& folder);
    [[noreturn]] void throwImageIndex(size_t i) const;

    std::filesystem::path m_dir;
    int m_size = 0;
    std::vector<Record> m_records;
    std::vector<std::uint32_t> m_train;
    std::vector<std::uint32_t> m_val;
    MappedFile m_images;
    MappedFile m_landmarks; // empty, or count() x 136 float32
    std::array<float, 3> m_mean{0.5f, 0.5f, 0.5f};
    std::array<float, 3> m_std{0.25f, 0.25f, 0.25f};
    std::string m_source;
    std::string m_manifest;
};

} // namespace faceatlas
