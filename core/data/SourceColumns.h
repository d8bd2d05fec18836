#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace faceatlas {

class PreparedDataset;
struct Record;

/**
 * The further columns of a `csv:` source (issue 27): every column FaceAtlas does not read itself
 * (path, file, age, gender, face, split), kept as text beside the records rather than in them, so
 * that the record format (and everything built on it) stays as it is. A preparation keeps them for
 * its records in `columns.csv` (kSourceColumnsFile), which its prepared.json names with a hash, so
 * two preparations with other columns have other fingerprints.
 *
 * A source file is hostile, yet its further columns never fail a preparation (they are extras):
 * names and values are made valid UTF-8 (U+FFFD for each byte that is not), so prepared.json and
 * columns.csv hold the same text; the first kMaxSourceColumns columns are kept, names cut to
 * kMaxSourceColumnName bytes and values to kMaxSourceColumnValue (at a character's end); a repeated
 * name is dropped, and a name a slice grouping already means (a slice attribute, "cluster", "all",
 * "selection...", "subset...") is kept as "csv_NAME". Each such change is a note of the table.
 * columns.csv, FaceAtlas's own file, is read back strictly (readPreparedColumns).
 */
constexpr std::size_t kMaxSourceColumns = 32;
constexpr std::size_t kMaxSourceColumnName = 64;
constexpr std::size_t kMaxSourceColumnValue = 256;
constexpr const char* kSourceColumnsFile = "columns.csv";

/** Columns for a list of records: `rows[i]` holds record i's values, one per name ("" unknown). */
struct SourceColumns {
    std::vector<std::string> names;
    std::vector<std::vector<std::string>> rows;

    bool empty() const { return names.empty(); }
    /** The position of the column `name` (exact), or -1. */
    int find(const std::string& name) const;
    /** One column's values, one per record. */
    std::vector<std::string> values(std::size_t column) const;
};

/** A source's further columns by record key (recordKey of the record its row gives). */
struct SourceColumnTable {
    std::vector<std::string> names;
    std::unordered_map<std::string, std::vector<std::string>> byKey;
    /** What was not kept as the file has it (columns dropped, names renamed or cut, values cut), for the report. */
    std::vector<std::string> notes;
};

/**
 * The further columns of CSV text as parseCsv reads it (relative paths against `folder`, `what`
 * naming the file): the rows are walked by walkCsvSource, as parseCsv walks them, so each record's
 * values are those of the row its record came from. Empty when the file has no further column.
 * Throws only what parseCsv throws (an empty file, no path column).
 */
SourceColumnTable parseSourceColumns(const std::string& text, const std::filesystem::path& folder,
                                     const std::string& what);
/** parseSourceColumns on a CSV file (the csv: source's file). */
SourceColumnTable readSourceColumns(const std::filesystem::path& csvFile);

/** The table's values for `records`, in their order; a record the table does not hold gets "". */
SourceColumns columnsFor(const SourceColumnTable& table, const std::vector<Record>& records);

/** columns.csv: the names, then one row per record. */
std::string sourceColumnsCsv(const SourceColumns& columns);

/** prepared.json's "columns": the file, the names, the rows and the file's hash (so the fingerprint holds it). */
nlohmann::json sourceColumnsManifest(const SourceColumns& columns, const std::string& csvText);

/**
 * The names of the columns the preparation in `preparedDir` kept, from its prepared.json alone (for
 * a command's help and its --by check before the preparation is opened); empty when it names none
 * or cannot be read (opening the preparation then says why).
 */
std::vector<std::string> preparedColumnNames(const std::filesystem::path& preparedDir);
/** The same from an open preparation's prepared.json (in memory: no file is read). */
std::vector<std::string> preparedColumnNames(const PreparedDataset& data);

/**
 * The columns a preparation kept (empty when its prepared.json names none). Checked: the file's hash
 * against prepared.json, its header against the names, one row per record, each with every column,
 * the limits. Throws Error naming the file (and line). Reads a file: call it on a worker.
 */
SourceColumns readPreparedColumns(const PreparedDataset& data);

} // namespace faceatlas
