#pragma once

#include "data/PreparedDataset.h"

#include <filesystem>
#include <optional>
#include <string>

namespace faceatlas {

/**
 * Identity of one preparation of a dataset, as 16 hex digits: the FNV-1a hash of what it holds, its
 * prepared.json without its times (the settings, the source, the image key that changes with any
 * source file's size or time, the normalisation, the counts), then every record's key and labels and
 * the split. Preparing again with the same settings over the same files gives the same fingerprint,
 * so what was made from it stays its own; any other result gives another. Recorded as
 * "data_fingerprint" in run.json, codes.json, a clustering's metrics.json, map.json and audit.json.
 */
std::string datasetFingerprint(const PreparedDataset& data);

/**
 * The fingerprint FaceAtlas recorded before this definition: the hash of the whole prepared.json.
 * Runs, codes, clusterings, maps and audits made by an earlier version carry it.
 */
std::string legacyDatasetFingerprint(const PreparedDataset& data);

/** Whether `recorded` (an artifact's data_fingerprint) names `data`, by either definition. */
bool madeFromDataset(const std::string& recorded, const PreparedDataset& data);

/** The fingerprint of the prepared folder `dir` (opens it); throws Error naming the folder. */
std::string datasetFingerprint(const std::filesystem::path& dir);

/** The "data_fingerprint" a codes folder recorded; nullopt for codes from an older FaceAtlas or no codes. */
std::optional<std::string> readCodesFingerprint(const std::filesystem::path& codesDir);

} // namespace faceatlas
