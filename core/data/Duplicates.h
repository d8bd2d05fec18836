#pragma once

#include "data/PreparedDataset.h"
#include "util/CancelToken.h"

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace faceatlas {

/**
 * A 64-bit perceptual hash (pHash) of an S x S RGB image: grey, resized to 32 x 32, DCT, and one
 * bit per coefficient of the 8 x 8 lowest frequencies (without the DC term) above their median.
 * Re-encoded, resized and brightness-shifted copies of a face land a few bits apart.
 */
std::uint64_t perceptualHash(const std::uint8_t* rgb, int size);
/**
 * The perceptual hash of the centre `zoom` (0.5-1) of an image, mirrored left to right with `mirror`: what a copy
 * cropped to that centre, or a mirrored copy, hashes to.
 */
std::uint64_t perceptualHash(const std::uint8_t* rgb, int size, double zoom, bool mirror = false);

/** The centre share of a face whose hash is kept too: a copy cropped by 5% on every side matches it. */
constexpr double kCropZoom = 0.9;

/** Exact (FNV-1a of the stored pixels) and perceptual hashes of every image of a prepared dataset. */
struct ImageHashes {
    std::vector<std::uint64_t> exact;
    std::vector<std::uint64_t> perceptual;
    std::vector<std::uint64_t> zoomed;   // of the centre kCropZoom of each face (may be empty: no crop search)
    std::vector<std::uint64_t> mirrored; // of each face mirrored left to right (may be empty: no mirror search)
};
ImageHashes hashImages(const PreparedDataset& data, int threads = 0, const CancelToken& cancel = {},
                       const std::function<void(const JobProgress&)>& onProgress = {});

/** One face of a duplicate group. */
struct DuplicateMember {
    std::uint32_t index = 0; // record index
    bool exact = false;      // another member has the same pixels
    int distance = 0;        // bits to the nearest other member's perceptual hash (0 for exact copies)
};

/** Faces that are copies of one another: exact and near copies, joined transitively. */
struct DuplicateGroup {
    std::vector<DuplicateMember> members; // by record index
};

/**
 * Search settings: near copies are perceptual hashes at most `maxDistance` bits apart (0-11), and
 * `candidates` are further pairs to check when their hashes (or one's mirrored hash and the
 * other's) are at most 2 x `maxDistance` apart: the nearest neighbours of faces in a model's
 * feature space, which finds copies edited more than the hash search forgives.
 */
struct DuplicateSearch {
    int maxDistance = 6;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> candidates;
};

/** How a pair of faces is compared: whole faces, a's centre against b (b is a crop of a), or a against b mirrored. */
enum class Pairing { Whole, Crop, Mirror };

/** Decides whether faces a and b, found close, are copies (by their pixels, say). Empty accepts every pair. */
using DuplicateCheck = std::function<bool(std::uint32_t a, std::uint32_t b, Pairing how)>;

/** How the pairs that joined groups were found (each pair counted once, by the first way that found it). */
struct DuplicateStats {
    size_t exactPairs = 0;     // equal pixels
    size_t hashPairs = 0;      // whole or centre perceptual hashes close
    size_t mirrorPairs = 0;    // a mirrored face's hash close to another face's
    size_t candidatePairs = 0; // from `candidates`, not already in one group
};

/**
 * A check on the pixels of two faces of `data`: the correlation of their 16 x 16 grey thumbnails,
 * each shifted to mean 0 and scaled to deviation 1 (so brightness and contrast changes do not
 * count), is at least `minCorrelation`; for a crop, a's thumbnail is of its centre; for a mirror, b's is mirrored
 * and the correlation must reach (1 + minCorrelation) / 2.
 * Aligned faces of different people can share a perceptual hash; their thumbnails differ. Thumbnails are computed
 * when first asked for (single-threaded use).
 */
DuplicateCheck thumbnailCheck(const PreparedDataset& data, double minCorrelation = 0.95);

/**
 * Groups of two or more faces whose exact hashes match or whose perceptual hashes are within
 * `maxDistance` bits. A multi-index search: the 64 bits are four 16-bit chunks, and two hashes
 * within d bits agree within d/4 bits on some chunk, so each face probes its chunks' buckets and
 * their neighbours at that radius instead of comparing all pairs. Groups are sorted by their
 * first member. With `zoomed` hashes, a face's centre is also looked up among the others' whole
 * faces, which finds copies cropped to that centre; with `mirrored` hashes, mirrored copies. Then
 * the search's candidate pairs. Near pairs count only when `check` accepts them. A member's
 * distance is to the nearest hash that found it (a mirrored hash for a mirrored copy).
 */
std::vector<DuplicateGroup> findDuplicates(const ImageHashes& hashes, const DuplicateSearch& search = {},
                                           const DuplicateCheck& check = {}, DuplicateStats* stats = nullptr);

} // namespace faceatlas
