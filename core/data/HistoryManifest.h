#pragma once

// What the files of DatasetHistory.h share (DatasetHistory.cpp defines them): not for other callers.

#include <nlohmann/json.hpp>

#include <string>

namespace faceatlas {

/** A number as a stream writes it (six significant digits), for settings in words. */
std::string settingNumber(double v);

/**
 * Whether two prepared.json manifests are of one source: the same kind, and the same location
 * (the same SPEC where either has no location).
 */
bool sameSource(const nlohmann::json& a, const nlohmann::json& b);

} // namespace faceatlas
