#pragma once

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
 * 5% on every side, or 35 levels brighter, in turn (every fifth copy with its age 15 years off).
 */
PlantedDataset makePlantedDataset(const std::filesystem::path& dir, int faces, int shifted, int copies,
                                  std::uint64_t seed);

} // namespace faceatlas::test
