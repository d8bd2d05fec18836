#pragma once

#include "analysis/AuditJob.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faceatlas {

/** suspects.csv: `path,split,age,gender,predicted,predicted_sd,score,reasons`, one row per face in the given order. */
std::string suspectsCsv(const std::vector<Suspect>& suspects);

/** duplicates.csv: `group,path,split,age,gender,kind,distance`, one row per member (kind exact or near). */
std::string duplicatesCsv(const std::vector<AuditGroup>& groups, const std::vector<Suspect>& suspects);

/**
 * Reads an audit folder back (for the review page): suspects.csv, duplicates.csv and audit.json,
 * every row checked (fields, numbers, splits, kinds, members naming faces of suspects.csv). Throws
 * Error naming the file and line. Record indices are the rows' positions in the prepared dataset
 * when `records` is given (matched by path), else the row numbers of suspects.csv.
 */
AuditResult readAudit(const std::filesystem::path& dir, const std::vector<Record>* records = nullptr);

/** audit.json's "files": the hashes of the two tables it was written with, which readAudit() checks. */
nlohmann::json auditFileHashes(const std::string& suspectsCsvText, const std::string& duplicatesCsvText);

} // namespace faceatlas
