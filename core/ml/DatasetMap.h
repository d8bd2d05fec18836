#pragma once

#include "ml/MapJob.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace faceatlas {

class Codes;
class PreparedDataset;

/** A map opened for the open dataset: its points, and the codes it was made of (memory-mapped). */
struct DatasetMap {
    MapPoints points;
    std::shared_ptr<const Codes> codes;
};

/**
 * Reads the map in DIR (readMap) and checks that it is a map of `data`: made from one of the
 * preparations `fingerprints` names (when the map records one), one point per face, face i's path
 * the dataset's face i's; then opens its codes, which must still hold a code per face. Throws Error
 * naming the folder (or the codes) and the first thing that does not match.
 */
DatasetMap readDatasetMap(const std::filesystem::path& dir, const PreparedDataset& data,
                          const std::vector<std::string>& fingerprints);

} // namespace faceatlas
