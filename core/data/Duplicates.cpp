#include "data/Duplicates.h"

#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Parallel.h"
#include "util/ProgressThrottle.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <memory>
#include <numeric>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <unordered_map>

namespace faceatlas {

namespace {

/** Union-find with path halving; the smaller index is the root, so groups come out in record order. */
class DisjointSets {
public:
    explicit DisjointSets(size_t n)
        : m_parent(n)
    {
        std::iota(m_parent.begin(), m_parent.end(), 0u);
    }
    std::uint32_t find(std::uint32_t i)
    {
        while (m_parent[i] != i)
            i = m_parent[i] = m_parent[m_parent[i]];
        return i;
    }
    /** Joins the sets of a and b; true when they were apart. */
    bool join(std::uint32_t a, std::uint32_t b)
    {
        a = find(a);
        b = find(b);
        if (a != b)
            m_parent[std::max(a, b)] = std::min(a, b);
        return a != b;
    }

private:
    std::vector<std::uint32_t> m_parent;
};

/** Every 16-bit value within `radius` bits of `value` (radius 0-2). */
void neighbours(std::uint16_t value, int radius, std::vector<std::uint16_t>& out)
{
    out.clear();
    out.push_back(value);
    if (radius >= 1)
        for (int a = 0; a < 16; ++a) {
            out.push_back(static_cast<std::uint16_t>(value ^ (1u << a)));
            if (radius >= 2)
                for (int b = a + 1; b < 16; ++b)
                    out.push_back(static_cast<std::uint16_t>(value ^ (1u << a) ^ (1u << b)));
        }
}

/** The search's state as pairs are joined: the groups so far, each face's nearest distance and exactness, the counts.
 */
struct Joined {
    explicit Joined(size_t n)
        : sets(n)
        , nearest(n, 65)
        , isExact(n, false)
    {
    }
    DisjointSets sets;
    std::vector<int> nearest;
    std::vector<bool> isExact;
    DuplicateStats counted;
};

/** The perceptual hashes' 16-bit chunks as bucket indexes: per chunk, CSR arrays (bucket starts, members). */
struct ChunkIndex {
    std::array<std::vector<std::uint32_t>, 4> starts, members;
};

/** Throws Error for hashes or settings the search cannot use. */
void checkSearch(const ImageHashes& hashes, const DuplicateSearch& search)
{
    const size_t n = hashes.exact.size();
    if (hashes.perceptual.size() != n || (!hashes.zoomed.empty() && hashes.zoomed.size() != n)
        || (!hashes.mirrored.empty() && hashes.mirrored.size() != n))
        throw Error("internal: one perceptual hash per exact hash is required");
    if (search.maxDistance < 0 || search.maxDistance > 11)
        throw Error("near-duplicate distance must be 0-11 bits, got " + std::to_string(search.maxDistance));
    if (n > std::numeric_limits<std::uint32_t>::max())
        throw Error("too many faces for the duplicate search");
}

/** Exact copies: equal hashes of the pixels, found by sorting. */
void joinExactCopies(const std::vector<std::uint64_t>& exact, Joined& joined)
{
    const size_t n = exact.size();
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(),
              [&](auto a, auto b) { return exact[a] < exact[b] || (exact[a] == exact[b] && a < b); });
    for (size_t k = 1; k < n; ++k)
        if (exact[order[k]] == exact[order[k - 1]]) {
            joined.counted.exactPairs += joined.sets.join(order[k], order[k - 1]);
            joined.isExact[order[k]] = joined.isExact[order[k - 1]] = true;
            joined.nearest[order[k]] = joined.nearest[order[k - 1]] = 0;
        }
}

/** Near copies: four 16-bit chunks, each a bucket index (counting sort into CSR arrays). */
ChunkIndex indexChunks(const std::vector<std::uint64_t>& perceptual)
{
    const size_t n = perceptual.size();
    ChunkIndex index;
    auto& starts = index.starts;
    auto& members = index.members;
    for (int c = 0; c < 4; ++c) {
        starts[c].assign(65537, 0);
        for (size_t i = 0; i < n; ++i)
            ++starts[c][((perceptual[i] >> (16 * c)) & 0xFFFF) + 1];
        std::partial_sum(starts[c].begin(), starts[c].end(), starts[c].begin());
        members[c].resize(n);
        std::vector<std::uint32_t> fill(starts[c].begin(), starts[c].end() - 1);
        for (size_t i = 0; i < n; ++i)
            members[c][fill[(perceptual[i] >> (16 * c)) & 0xFFFF]++] = static_cast<std::uint32_t>(i);
    }
    return index;
}

/**
 * Joins face i with every face whose whole hash is within the search's distance of `query` (i's
 * hash of the kind `how` compares) and that `check` accepts, probing each chunk's buckets within
 * `radius` bits. `probes` is scratch space.
 */
void joinNearOf(size_t i, std::uint64_t query, Pairing how, int radius, const ImageHashes& hashes,
                const DuplicateSearch& search, const DuplicateCheck& check, const ChunkIndex& index,
                std::vector<std::uint16_t>& probes, Joined& joined)
{
    const auto& exact = hashes.exact;
    const auto& perceptual = hashes.perceptual;
    for (int c = 0; c < 4; ++c) {
        neighbours(static_cast<std::uint16_t>((query >> (16 * c)) & 0xFFFF), radius, probes);
        for (std::uint16_t v : probes)
            for (std::uint32_t k = index.starts[c][v]; k < index.starts[c][v + 1u]; ++k) {
                const std::uint32_t j = index.members[c][k];
                if (how == Pairing::Whole ? j <= i : j == i)
                    continue;
                const int d = __builtin_popcountll(query ^ perceptual[j]);
                if (d > search.maxDistance
                    || (exact[i] != exact[j] && check && !check(static_cast<std::uint32_t>(i), j, how)))
                    continue;
                (how == Pairing::Mirror ? joined.counted.mirrorPairs : joined.counted.hashPairs) +=
                    joined.sets.join(static_cast<std::uint32_t>(i), j);
                joined.nearest[i] = std::min(joined.nearest[i], d);
                joined.nearest[j] = std::min(joined.nearest[j], d);
            }
    }
}

/**
 * Whole faces against whole faces (each pair once), then centres against whole faces (crops),
 * then mirrored faces against whole faces.
 */
void joinNearCopies(const ImageHashes& hashes, const DuplicateSearch& search, const DuplicateCheck& check,
                    Joined& joined)
{
    const size_t n = hashes.exact.size();
    const ChunkIndex index = indexChunks(hashes.perceptual);
    const int radius = search.maxDistance / 4;
    std::vector<std::uint16_t> probes;
    const Pairing passes[] = {Pairing::Whole, Pairing::Crop, Pairing::Mirror};
    for (const Pairing how : passes) {
        const std::vector<std::uint64_t>& queries = how == Pairing::Whole  ? hashes.perceptual
                                                    : how == Pairing::Crop ? hashes.zoomed
                                                                           : hashes.mirrored;
        if (queries.empty())
            continue;
        for (size_t i = 0; i < n; ++i)
            joinNearOf(i, queries[i], how, radius, hashes, search, check, index, probes, joined);
    }
}

/**
 * Candidate pairs from elsewhere, as whole faces or mirrored: their hashes may be up to twice
 * as far apart as the search's (faces of different people are 20-32 bits apart), and the
 * pixels decide.
 */
void joinCandidates(const ImageHashes& hashes, const DuplicateSearch& search, const DuplicateCheck& check,
                    Joined& joined)
{
    const size_t n = hashes.exact.size();
    const auto& perceptual = hashes.perceptual;
    const int candidateDistance = 2 * search.maxDistance;
    for (const auto& [a, b] : search.candidates) {
        if (a >= n || b >= n || a == b || joined.sets.find(a) == joined.sets.find(b))
            continue;
        const int whole = __builtin_popcountll(perceptual[a] ^ perceptual[b]);
        const int mirrored = hashes.mirrored.empty() ? 65 : __builtin_popcountll(hashes.mirrored[a] ^ perceptual[b]);
        int d = 65;
        if (whole <= candidateDistance && (!check || check(a, b, Pairing::Whole)))
            d = whole;
        else if (mirrored <= candidateDistance && (!check || check(a, b, Pairing::Mirror)))
            d = mirrored;
        if (d > candidateDistance)
            continue;
        joined.counted.candidatePairs += joined.sets.join(a, b);
        joined.nearest[a] = std::min(joined.nearest[a], d);
        joined.nearest[b] = std::min(joined.nearest[b], d);
    }
}

/** The joined sets of two or more faces as groups, in the order of their first member. */
std::vector<DuplicateGroup> collectGroups(Joined& joined)
{
    const size_t n = joined.nearest.size();
    std::vector<std::uint32_t> groupOf(n, std::numeric_limits<std::uint32_t>::max());
    std::vector<DuplicateGroup> groups;
    std::vector<std::uint32_t> size(n, 0);
    for (size_t i = 0; i < n; ++i)
        ++size[joined.sets.find(static_cast<std::uint32_t>(i))];
    for (size_t i = 0; i < n; ++i) {
        const std::uint32_t root = joined.sets.find(static_cast<std::uint32_t>(i));
        if (size[root] < 2)
            continue;
        if (groupOf[root] == std::numeric_limits<std::uint32_t>::max()) {
            groupOf[root] = static_cast<std::uint32_t>(groups.size());
            groups.emplace_back();
        }
        groups[groupOf[root]].members.push_back({static_cast<std::uint32_t>(i), joined.isExact[i], joined.nearest[i]});
    }
    return groups;
}

} // namespace

std::uint64_t perceptualHash(const std::uint8_t* rgb, int size)
{
    return perceptualHash(rgb, size, 1.0);
}

std::uint64_t perceptualHash(const std::uint8_t* rgb, int size, double zoom, bool mirror)
{
    const cv::Mat whole(size, size, CV_8UC3, const_cast<std::uint8_t*>(rgb));
    const int side = std::clamp(static_cast<int>(std::lround(size * zoom)), 1, size);
    // The pixels are the caller's (often a read-only mapping): a mirror image is a new one.
    cv::Mat image = whole(cv::Rect((size - side) / 2, (size - side) / 2, side, side));
    if (mirror) {
        cv::Mat mirrored;
        cv::flip(image, mirrored, 1);
        image = mirrored;
    }
    cv::Mat grey, small, dct;
    cv::cvtColor(image, grey, cv::COLOR_RGB2GRAY);
    cv::resize(grey, small, cv::Size(32, 32), 0, 0, side >= 32 ? cv::INTER_AREA : cv::INTER_LINEAR);
    small.convertTo(small, CV_32F);
    cv::dct(small, dct);
    std::array<float, 64> low{};
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x)
            low[static_cast<size_t>(y) * 8 + static_cast<size_t>(x)] = dct.at<float>(y, x);
    low[0] = 0; // the DC term is the brightness: left out, so a brighter copy keeps its hash
    std::array<float, 64> sorted = low;
    std::nth_element(sorted.begin() + 1, sorted.begin() + 32, sorted.end());
    const float median = sorted[32];
    std::uint64_t hash = 0;
    for (size_t i = 1; i < 64; ++i)
        if (low[i] > median)
            hash |= std::uint64_t(1) << i;
    return hash;
}

ImageHashes hashImages(const PreparedDataset& data, int threads, const CancelToken& cancel,
                       const std::function<void(const JobProgress&)>& onProgress)
{
    ImageHashes h;
    h.exact.resize(data.count());
    h.perceptual.resize(data.count());
    h.zoomed.resize(data.count());
    h.mirrored.resize(data.count());
    std::atomic<long long> done{0};
    ProgressThrottle throttle(onProgress);
    parallelFor(
        data.count(), threads,
        [&](size_t i) {
            if (cancel.isCancelled())
                return;
            const std::uint8_t* image = data.image(i);
            h.exact[i] = fnv1a64(std::string_view(reinterpret_cast<const char*>(image), data.imageBytes()));
            h.perceptual[i] = perceptualHash(image, data.imageSize());
            h.zoomed[i] = perceptualHash(image, data.imageSize(), kCropZoom);
            h.mirrored[i] = perceptualHash(image, data.imageSize(), 1.0, true);
            throttle("hashing images", ++done, static_cast<long long>(data.count()));
        },
        64);
    return h;
}

DuplicateCheck thumbnailCheck(const PreparedDataset& data, double minCorrelation)
{
    auto cache = std::make_shared<std::unordered_map<std::uint64_t, std::array<float, 256>>>();
    // Variant 0: the whole face, 1: its centre (kCropZoom), 2: the whole face mirrored.
    const auto thumbnail = [&data, cache](std::uint32_t i, int variant) -> const std::array<float, 256>& {
        const std::uint64_t key = std::uint64_t(i) * 3 + static_cast<std::uint64_t>(variant);
        auto it = cache->find(key);
        if (it != cache->end())
            return it->second;
        const int size = data.imageSize();
        const int side = variant == 1 ? static_cast<int>(std::lround(size * kCropZoom)) : size;
        const cv::Mat whole(size, size, CV_8UC3, const_cast<std::uint8_t*>(data.image(i)));
        const cv::Mat image = whole(cv::Rect((size - side) / 2, (size - side) / 2, side, side));
        cv::Mat grey, small;
        cv::cvtColor(image, grey, cv::COLOR_RGB2GRAY);
        cv::resize(grey, small, cv::Size(16, 16), 0, 0, side >= 16 ? cv::INTER_AREA : cv::INTER_LINEAR);
        if (variant == 2)
            cv::flip(small, small, 1);
        std::array<float, 256> t{};
        double sum = 0, sq = 0;
        for (int k = 0; k < 256; ++k) {
            t[static_cast<size_t>(k)] = small.at<std::uint8_t>(k / 16, k % 16);
            sum += t[static_cast<size_t>(k)];
        }
        const double mean = sum / 256;
        for (float& v : t) {
            v = static_cast<float>(v - mean);
            sq += double(v) * v;
        }
        const float scale = static_cast<float>(1.0 / std::sqrt(std::max(sq, 1e-9)));
        for (float& v : t)
            v *= scale;
        return cache->emplace(key, t).first->second;
    };
    const auto correlation = [](const std::array<float, 256>& x, const std::array<float, 256>& y) {
        double dot = 0;
        for (size_t k = 0; k < 256; ++k)
            dot += double(x[k]) * y[k];
        return dot;
    };
    return [thumbnail, correlation, minCorrelation](std::uint32_t a, std::uint32_t b, Pairing how) {
        const double r =
            correlation(thumbnail(a, how == Pairing::Crop ? 1 : 0), thumbnail(b, how == Pairing::Mirror ? 2 : 0));
        // Mirroring is one more chance for two faces of different people to match (drawn demo
        // faces lit from opposite sides do at 32 px): a mirrored pair has to match more closely,
        // halfway from the threshold to 1.
        if (how == Pairing::Mirror)
            return r >= 0.5 * (1.0 + minCorrelation);
        return r >= minCorrelation;
    };
}

std::vector<DuplicateGroup> findDuplicates(const ImageHashes& hashes, const DuplicateSearch& search,
                                           const DuplicateCheck& check, DuplicateStats* stats)
{
    checkSearch(hashes, search);
    Joined joined(hashes.exact.size());
    joinExactCopies(hashes.exact, joined);
    joinNearCopies(hashes, search, check, joined);
    joinCandidates(hashes, search, check, joined);
    if (stats)
        *stats = joined.counted;
    return collectGroups(joined);
}

} // namespace faceatlas
