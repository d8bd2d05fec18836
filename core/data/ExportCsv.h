#pragma once

#include "data/PreparedDataset.h"

#include <filesystem>
#include <string>

namespace faceatlas {

/**
 * The cleaned dataset (every face a prepared folder holds, with its corrected labels) as CSV in the
 * format the `csv:` source reads: `path,age,gender,split`, one row per face in record order, the
 * path absolute, the age in whole years and the gender M or F (empty when unknown).
 */
std::string cleanedCsv(const PreparedDataset& data);

/** Writes cleanedCsv() to `file` atomically. */
void exportCleanedCsv(const PreparedDataset& data, const std::filesystem::path& file);

} // namespace faceatlas
