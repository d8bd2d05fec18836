#include "data/Duplicates.h"
#include "data/DemoFaces.h"
#include "util/Error.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <map>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

using namespace faceatlas;

namespace {

/** Groups as sorted member lists, found by comparing every pair (the search's reference). */
std::vector<std::vector<std::uint32_t>> bruteForceGroups(const std::vector<std::uint64_t>& exact,
                                                         const std::vector<std::uint64_t>& hashes, int maxDistance)
{
    const size_t n = hashes.size();
    std::vector<std::uint32_t> parent(n);
    std::iota(parent.begin(), parent.end(), 0u);
    const auto find = [&](std::uint32_t i) {
        while (parent[i] != i)
            i = parent[i];
        return i;
    };
    for (size_t i = 0; i < n; ++i)
        for (size_t j = i + 1; j < n; ++j)
            if (exact[i] == exact[j] || __builtin_popcountll(hashes[i] ^ hashes[j]) <= maxDistance)
                parent[std::max(find(i), find(j))] = std::min(find(i), find(j));
    std::map<std::uint32_t, std::vector<std::uint32_t>> groups;
    for (size_t i = 0; i < n; ++i)
        groups[find(i)].push_back(static_cast<std::uint32_t>(i));
    std::vector<std::vector<std::uint32_t>> out;
    for (auto& [root, members] : groups)
        if (members.size() > 1)
            out.push_back(members);
    return out;
}

/** A face as the image cache stores it: squashed to S x S (area resampling), RGB. */
std::vector<std::uint8_t> cached(const cv::Mat& bgr, int size)
{
    cv::Mat resized, rgb;
    cv::resize(bgr, resized, cv::Size(size, size), 0, 0, cv::INTER_AREA);
    cv::cvtColor(resized, rgb, cv::COLOR_BGR2RGB);
    return std::vector<std::uint8_t>(rgb.data, rgb.data + rgb.total() * 3);
}

cv::Mat reencoded(const cv::Mat& image, int quality)
{
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, quality});
    return cv::imdecode(bytes, cv::IMREAD_COLOR);
}

} // namespace

TEST(DuplicatesTest, MultiIndexSearchFindsExactlyWhatComparingAllPairsFinds)
{
    SplitMix rng(7);
    std::vector<std::uint64_t> hashes, exact;
    for (int i = 0; i < 3000; ++i) {
        hashes.push_back(rng.next());
        exact.push_back(rng.next());
    }
    // Near copies 0-11 bits away (some beyond the limit), chains of them, and exact copies.
    for (int i = 0; i < 400; ++i) {
        std::uint64_t h = hashes[rng.below(hashes.size())];
        const int flips = static_cast<int>(rng.below(12));
        for (int f = 0; f < flips; ++f)
            h ^= std::uint64_t(1) << rng.below(64);
        hashes.push_back(h);
        exact.push_back(rng.next());
    }
    for (int i = 0; i < 30; ++i) {
        const size_t source = rng.below(hashes.size());
        hashes.push_back(rng.next()); // another perceptual hash: only the pixels match
        exact.push_back(exact[source]);
    }
    for (int maxDistance : {0, 3, 6, 9}) {
        const auto groups = findDuplicates({exact, hashes, {}, {}}, {maxDistance, {}});
        std::vector<std::vector<std::uint32_t>> found;
        for (const auto& g : groups) {
            found.emplace_back();
            for (const auto& m : g.members)
                found.back().push_back(m.index);
            for (const auto& m : g.members) {
                EXPECT_LE(m.distance, maxDistance);
                if (m.exact) {
                    EXPECT_EQ(m.distance, 0);
                }
            }
        }
        const auto expected = bruteForceGroups(exact, hashes, maxDistance);
        EXPECT_GT(expected.size(), 25u);
        EXPECT_EQ(found, expected) << "max distance " << maxDistance;
    }
    EXPECT_THROW(findDuplicates({exact, hashes, {}, {}}, {12, {}}), Error);
    EXPECT_THROW(findDuplicates({exact, {1, 2}, {}, {}}, {6, {}}), Error);
}

TEST(DuplicatesTest, CopiesOfAFaceHashCloseAndOtherFacesFar)
{
    constexpr int kSize = 64;
    std::vector<std::uint64_t> faces;
    int within[4] = {0, 0, 0, 0}; // re-encoded, resized, cropped, brighter
    for (std::uint64_t i = 0; i < 120; ++i) {
        const cv::Mat face = drawDemoFace(demoFace(kDemoSeed, i), kDemoImageSize);
        const auto pixels = cached(face, kSize);
        const std::uint64_t h = perceptualHash(pixels.data(), kSize);
        const std::uint64_t centre = perceptualHash(pixels.data(), kSize, kCropZoom);
        faces.push_back(h);
        cv::Mat small, cropped, brighter;
        cv::resize(face, small, cv::Size(), 0.6, 0.6, cv::INTER_AREA);
        const int m = face.cols / 20;
        cropped = face(cv::Rect(m, m, face.cols - 2 * m, face.rows - 2 * m));
        face.convertTo(brighter, -1, 1.0, 35.0);
        int kind = 0; // every kind of copy, crops included (their centre hash), within 6 bits
        for (const cv::Mat& copy : {reencoded(face, 30), reencoded(small, 95), reencoded(cropped, 95), brighter}) {
            const std::uint64_t c = perceptualHash(cached(copy, kSize).data(), kSize);
            const int d = std::min(__builtin_popcountll(h ^ c), __builtin_popcountll(centre ^ c));
            within[kind++] += d <= 6;
        }
    }
    size_t close = 0, pairs = 0;
    for (size_t a = 0; a < faces.size(); ++a)
        for (size_t b = a + 1; b < faces.size(); ++b, ++pairs)
            close += __builtin_popcountll(faces[a] ^ faces[b]) <= 6;
    for (int k = 0; k < 4; ++k)
        EXPECT_GE(within[k], 114) << within[k] << " of 120 copies of kind " << k << " within 6 bits";
    EXPECT_LE(close, pairs / 200) << close << " of " << pairs << " pairs of different faces within 6 bits";
}

TEST(DuplicatesTest, MirroredCopiesAreFoundByTheirMirroredHash)
{
    constexpr int kSize = 64;
    constexpr std::uint64_t kFaces = 60;
    ImageHashes h;
    for (std::uint64_t i = 0; i < 2 * kFaces; ++i) {
        // Faces 0..59, then each one mirrored and re-encoded.
        cv::Mat face = drawDemoFace(demoFace(kDemoSeed, 16 * (i % kFaces)), kDemoImageSize);
        if (i >= kFaces) {
            cv::flip(face, face, 1);
            face = reencoded(face, 80);
        }
        const auto pixels = cached(face, kSize);
        h.exact.push_back(i);
        h.perceptual.push_back(perceptualHash(pixels.data(), kSize));
        h.mirrored.push_back(perceptualHash(pixels.data(), kSize, 1.0, true));
        EXPECT_EQ(pixels, cached(face, kSize)) << "hashing a mirror image must leave the face as it was";
    }
    const auto pairsIn = [&](const std::vector<DuplicateGroup>& groups) {
        std::map<std::uint32_t, size_t> groupOf;
        for (size_t g = 0; g < groups.size(); ++g)
            for (const auto& m : groups[g].members)
                groupOf[m.index] = g;
        size_t pairs = 0;
        for (std::uint32_t i = 0; i < kFaces; ++i)
            pairs += groupOf.count(i) && groupOf.count(i + kFaces) && groupOf[i] == groupOf[i + kFaces];
        return pairs;
    };
    // A mirrored face's own hash is far from its original's (none within 6 bits when this was
    // written): the mirrored hashes must find (nearly) all of them.
    DuplicateStats stats;
    const size_t withMirror = pairsIn(findDuplicates(h, {6, {}}, {}, &stats));
    ImageHashes noMirror = h;
    noMirror.mirrored.clear();
    const size_t without = pairsIn(findDuplicates(noMirror, {6, {}}));
    std::printf("mirrored copies found: %zu of %llu with the mirrored hashes, %zu without\n", withMirror,
                static_cast<unsigned long long>(kFaces), without);
    EXPECT_GE(withMirror, kFaces - 3);
    EXPECT_GT(withMirror, without);
    EXPECT_GT(stats.mirrorPairs, 0u);
    EXPECT_EQ(stats.exactPairs, 0u);

    // A check that refuses mirrored pairs leaves only what the whole-face hashes found.
    const DuplicateCheck noMirrors = [](std::uint32_t, std::uint32_t, Pairing how) { return how != Pairing::Mirror; };
    EXPECT_EQ(pairsIn(findDuplicates(h, {6, {}}, noMirrors)), without);
    h.mirrored.pop_back();
    EXPECT_THROW(findDuplicates(h, {6, {}}), Error);
}

TEST(DuplicatesTest, CandidatePairsJoinOnlyWhenTheCheckAcceptsThem)
{
    // Pairs (i, i + 1) for even i whose hashes are 7-12 bits apart, beyond the hash search's 6
    // but within the candidates' 12, and whose mirrored hashes are 8 bits apart; the last pair is
    // 20 bits apart. Everything else is random (about 32 bits apart).
    SplitMix rng(11);
    ImageHashes h;
    const auto flip = [](std::uint64_t v, int bits, int offset) {
        for (int k = 0; k < bits; ++k)
            v ^= std::uint64_t(1) << ((offset + 5 * k) % 64);
        return v;
    };
    for (int i = 0; i < 200; i += 2) {
        const std::uint64_t a = rng.next();
        const std::uint64_t b = flip(a, i == 198 ? 20 : 7 + (i / 2) % 6, i);
        h.exact.insert(h.exact.end(), {rng.next(), rng.next()});
        h.perceptual.insert(h.perceptual.end(), {a, b});
        h.mirrored.insert(h.mirrored.end(), {i == 198 ? rng.next() : flip(b, 8, i + 1), rng.next()});
    }
    DuplicateSearch search{6, {}};
    for (std::uint32_t i = 0; i + 1 < 200; i += 2)
        search.candidates.emplace_back(i, i + 1);
    search.candidates.emplace_back(7, 7);   // a face with itself
    search.candidates.emplace_back(3, 999); // out of range
    search.candidates.emplace_back(0, 1);   // twice
    // Faces 0 mod 6 are copies of the next as they are, 2 mod 6 only mirrored, 4 mod 6 not at all.
    std::vector<Pairing> asked;
    const DuplicateCheck check = [&](std::uint32_t a, std::uint32_t, Pairing how) {
        asked.push_back(how);
        return a % 6 == 0 ? how == Pairing::Whole : a % 6 == 2 && how == Pairing::Mirror;
    };
    DuplicateStats stats;
    const auto groups = findDuplicates(h, search, check, &stats);
    size_t expected = 0, wholeCopies = 0;
    for (std::uint32_t i = 0; i + 1 < 198; i += 2) {
        expected += i % 6 != 4;
        wholeCopies += i % 6 == 0;
    }
    ASSERT_EQ(groups.size(), expected);
    for (const auto& g : groups) {
        ASSERT_EQ(g.members.size(), 2u);
        const std::uint32_t a = g.members[0].index;
        EXPECT_NE(a % 6, 4u);
        EXPECT_EQ(a % 2, 0u);
        EXPECT_EQ(g.members[1].index, a + 1);
        const std::uint64_t other = h.perceptual[a + 1];
        EXPECT_EQ(g.members[0].distance, __builtin_popcountll((a % 6 == 0 ? h.perceptual[a] : h.mirrored[a]) ^ other));
    }
    EXPECT_EQ(stats.candidatePairs, expected);
    EXPECT_EQ(stats.hashPairs + stats.mirrorPairs + stats.exactPairs, 0u);
    // Whole faces first, mirrored only where the whole faces differ; a pair already joined, or 20 bits apart, is not
    // asked about.
    EXPECT_EQ(asked.size(), 99u + (99u - wholeCopies));

    // Refused pairs stay apart.
    const auto none = findDuplicates(h, search, [](std::uint32_t, std::uint32_t, Pairing) { return false; });
    EXPECT_TRUE(none.empty());
}
