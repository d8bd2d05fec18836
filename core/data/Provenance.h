#pragma once

#include "data/PreparedDataset.h"

#include <filesystem>
#include <optional>
#include <string>

namespace faceatlas {

/**
 * Identity of one preparation of a dataset: the FNV-1a hash of its prepared.json, as 16 hex digits.
 * The manifest holds its creation time and image key, so preparing the same source again gives a new
 * fingerprint. Recorded as "data_fingerprint" in run.json, codes.json and a clustering's metrics.json.
 */
std::string datasetFingerprint(const PreparedDataset& data);

/** The fingerprint of the prepared folder `dir` (opens it); throws Error naming the folder. */
std::string datasetFingerprint(const std::filesystem::path& dir);

/** The "data_fingerprint" a codes folder recorded; nullopt for codes from an older FaceAtlas or no codes. */
std::optional<std::string> readCodesFingerprint(const std::filesystem::path& codesDir);

} // namespace faceatlas
