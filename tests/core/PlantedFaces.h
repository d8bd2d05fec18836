#pragma once

#include "analysis/AuditJob.h"
#include "data/PreparedDataset.h"
#include "data/PrepareJob.h"

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace faceatlas::test {

/** A demo dataset with errors we planted, and where they are. */
struct PlantedDataset {
    std::filesystem::path csv;                               // path,age,gender of every face and copy (a csv: source)
    std::set<std::string> shifted;                           // faces whose age label was moved by 20-40 years
    std::vector<std::pair<std::string, std::string>> copies; // (original, copy) paths
    std::set<std::string> conflicting;                       // copies labelled with another age than their original
};

/**
 * `faces` demo faces written as JPEGs into DIR, `shifted` of them with ages moved 20-40 years,
 * and `copies` copies of other faces: re-encoded at JPEG quality 30, resized to 60%, cropped by
 * 5% on every side, 35 levels brighter, or mirrored, in turn (every third copy with its age 15 years off).
 */
PlantedDataset makePlantedDataset(const std::filesystem::path& dir, int faces, int shifted, int copies,
                                  std::uint64_t seed);

/** Settings that keep every planted face: no age, face score or size filter, no resampling. */
PrepareParams keepEveryFace(const std::filesystem::path& csv, const std::filesystem::path& out, int size);

/** How an audit did on the planted errors. */
struct PlantedScores {
    size_t topPlanted = 0;     // shifted faces among the first 2 x shifted suspects
    size_t flagged = 0;        // faces with age_outlier
    size_t flaggedPlanted = 0; // ... that were shifted
    static constexpr int kKinds = 5;
    static constexpr const char* kKindNames[kKinds] = {"re-encoded", "resized", "cropped", "brighter", "mirrored"};
    size_t pairsFound[kKinds] = {}; // copy pairs in one group, by kind (kKindNames)
    size_t pairs[kKinds] = {};
    size_t members = 0;        // faces in duplicate groups
    size_t plantedMembers = 0; // ... that are planted originals or copies
    size_t found() const
    {
        size_t n = 0;
        for (size_t f : pairsFound)
            n += f;
        return n;
    }
};
PlantedScores scorePlanted(const PlantedDataset& planted, const AuditResult& audit, const PreparedDataset& data);

} // namespace faceatlas::test
