#include "data/SourceColumns.h"

#include "data/PreparedDataset.h"
#include "data/Record.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <sstream>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

std::string trimmed(const std::string& s)
{
    const auto begin = s.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos)
        return {};
    return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

std::string lowered(std::string s)
{
    for (char& c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

bool hasControl(const std::string& s)
{
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

/** The columns the csv: reader understands itself (split: an export's, which the reader ignores). */
bool isKnownColumn(const std::string& lowerName)
{
    for (const char* known : {"path", "file", "age", "gender", "face", "split"})
        if (lowerName == known)
            return true;
    return false;
}

/** A value as kept: trimmed, control characters (tabs, line breaks in quotes) as spaces, bounded. */
std::string keptValue(const std::string& field, const std::string& where, const std::string& column)
{
    std::string v = trimmed(field);
    if (v.size() > kMaxSourceColumnValue)
        throw Error(where + ": the value of column '" + column + "' has " + std::to_string(v.size())
                    + " bytes (at most " + std::to_string(kMaxSourceColumnValue) + ")");
    for (char& c : v)
        if (static_cast<unsigned char>(c) < 0x20)
            c = ' ';
    return v;
}

/** prepared.json's "columns" names in `manifestText`; empty when it has none or they are odd. */
std::vector<std::string> preparedColumnNamesOf(const std::string& manifestText)
{
    try {
        const auto manifest = nlohmann::json::parse(manifestText);
        const auto it = manifest.find("columns");
        if (it == manifest.end() || !it->is_object())
            return {};
        auto names = it->at("names").get<std::vector<std::string>>();
        if (names.size() > kMaxSourceColumns)
            return {};
        return names;
    } catch (const std::exception&) {
        return {};
    }
}

} // namespace

int SourceColumns::find(const std::string& name) const
{
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

std::vector<std::string> SourceColumns::values(std::size_t column) const
{
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (const auto& row : rows)
        out.push_back(column < row.size() ? row[column] : std::string());
    return out;
}

SourceColumnTable parseSourceColumns(const std::string& text, const fs::path& folder, const std::string& what)
{
    SourceColumnTable table;
    std::istringstream in(text);
    std::string line;
    std::vector<std::string> fields;
    if (!std::getline(in, line))
        return table; // parseCsv refuses an empty file
    if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0)
        line.erase(0, 3);
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    splitCsvLine(line, fields);
    int pathColumn = -1, faceColumn = -1;
    std::vector<int> kept; // the further columns' positions
    for (int i = 0; i < static_cast<int>(fields.size()); ++i) {
        const std::string name = trimmed(fields[i]);
        const std::string low = lowered(name);
        if ((low == "path" || low == "file") && pathColumn < 0)
            pathColumn = i;
        else if (low == "face")
            faceColumn = i;
        if (name.empty() || isKnownColumn(low))
            continue; // an unnamed column (a trailing comma) is no column
        if (name.size() > kMaxSourceColumnName || hasControl(name))
            throw Error(what + ":1: the column name '" + name.substr(0, kMaxSourceColumnName)
                        + "...' is not a name of at most " + std::to_string(kMaxSourceColumnName) + " printable bytes");
        if (std::find(table.names.begin(), table.names.end(), name) != table.names.end())
            throw Error(what + ":1: the column '" + name + "' is named twice");
        table.names.push_back(name);
        kept.push_back(i);
    }
    if (table.names.size() > kMaxSourceColumns)
        throw Error(what + ":1: " + std::to_string(table.names.size()) + " further columns besides path, age, "
                    + "gender and face (FaceAtlas keeps at most " + std::to_string(kMaxSourceColumns) + ")");
    if (table.names.empty() || pathColumn < 0)
        return table;
    size_t lines = 1;
    for (;;) {
        const size_t lineNumber = lines + 1;
        if (!nextCsvRecord(in, line, lines))
            break;
        if (!splitCsvLine(line, fields))
            continue; // malformed: parseCsv reports it and keeps no record
        const auto column = [&](int c) {
            return c >= 0 && c < static_cast<int>(fields.size()) ? trimmed(fields[c]) : std::string();
        };
        const std::string path = column(pathColumn);
        if (path.empty() || path.find('\0') != std::string::npos)
            continue;
        // The record's key as parseCsv makes it: the path against the file's folder, the face (1-based).
        Record r;
        const fs::path p = fs::u8path(path);
        r.path = (p.is_absolute() ? p : folder / p).lexically_normal().string();
        const std::string face = column(faceColumn);
        if (!face.empty() && face.size() <= 3
            && std::all_of(face.begin(), face.end(), [](char c) { return c >= '0' && c <= '9'; })
            && std::stoi(face) >= 1)
            r.faceIndex = static_cast<std::int16_t>(std::stoi(face) - 1);
        const std::string key = recordKey(r);
        if (table.byKey.count(key))
            continue; // a repeat: parseCsv keeps the first row
        std::vector<std::string> values;
        values.reserve(kept.size());
        const std::string where = what + ":" + std::to_string(lineNumber);
        for (size_t k = 0; k < kept.size(); ++k)
            values.push_back(keptValue(column(kept[k]), where, table.names[k]));
        table.byKey.emplace(key, std::move(values));
    }
    return table;
}

SourceColumnTable readSourceColumns(const fs::path& csvFile)
{
    const std::string location = fs::absolute(csvFile).lexically_normal().string();
    return parseSourceColumns(readFile(csvFile), fs::path(location).parent_path(), displayPath(csvFile));
}

SourceColumns columnsFor(const SourceColumnTable& table, const std::vector<Record>& records)
{
    SourceColumns columns;
    columns.names = table.names;
    if (columns.names.empty())
        return columns;
    columns.rows.reserve(records.size());
    for (const Record& r : records) {
        const auto it = table.byKey.find(recordKey(r));
        columns.rows.push_back(it != table.byKey.end() ? it->second : std::vector<std::string>(table.names.size()));
    }
    return columns;
}

std::string sourceColumnsCsv(const SourceColumns& columns)
{
    std::string csv;
    for (size_t k = 0; k < columns.names.size(); ++k)
        csv += (k ? "," : "") + csvField(columns.names[k]);
    csv += '\n';
    for (const auto& row : columns.rows) {
        for (size_t k = 0; k < row.size(); ++k)
            csv += (k ? "," : "") + csvField(row[k]);
        if (row.size() == 1 && row[0].empty())
            csv += "\"\""; // a row of one empty value is a line, not a blank one
        csv += '\n';
    }
    return csv;
}

nlohmann::json sourceColumnsManifest(const SourceColumns& columns, const std::string& csvText)
{
    return {{"file", kSourceColumnsFile},
            {"names", columns.names},
            {"rows", columns.rows.size()},
            {"fnv1a", hexKey(fnv1a64(csvText))}};
}

std::vector<std::string> preparedColumnNames(const fs::path& preparedDir)
{
    try {
        return preparedColumnNamesOf(
            readFile(preparedDir / PreparedDataset::kManifest, PreparedDataset::kMaxManifestBytes));
    } catch (const std::exception&) {
        return {};
    }
}

std::vector<std::string> preparedColumnNames(const PreparedDataset& data)
{
    return preparedColumnNamesOf(data.manifestJson());
}

SourceColumns readPreparedColumns(const PreparedDataset& data)
{
    SourceColumns columns;
    nlohmann::json entry;
    try {
        const auto manifest = nlohmann::json::parse(data.manifestJson());
        const auto it = manifest.find("columns");
        if (it == manifest.end())
            return columns; // a preparation without further columns (or from an earlier FaceAtlas)
        entry = *it;
    } catch (const std::exception&) {
        return columns; // PreparedDataset::open checked the manifest
    }
    const fs::path file = data.dir() / kSourceColumnsFile;
    const std::string what = displayPath(file);
    std::vector<std::string> names;
    std::string hash;
    try {
        names = entry.at("names").get<std::vector<std::string>>();
        hash = entry.at("fnv1a").get<std::string>();
    } catch (const std::exception&) {
        throw Error(displayPath(data.dir() / PreparedDataset::kManifest) + ": \"columns\" is not {names, fnv1a}");
    }
    if (names.empty() || names.size() > kMaxSourceColumns)
        throw Error(what + ": prepared.json names " + std::to_string(names.size()) + " columns (1 to "
                    + std::to_string(kMaxSourceColumns) + ")");
    // Bounded before reading: every value at its limit, quoted, with every quote doubled.
    const std::uint64_t maxBytes =
        (static_cast<std::uint64_t>(data.count()) + 1) * names.size() * (2 * kMaxSourceColumnValue + 3) + 4096;
    const std::string text = readFile(file, maxBytes);
    if (hexKey(fnv1a64(text)) != hash)
        throw Error(what + ": changed since the preparation (its hash differs from prepared.json's): prepare again");
    std::istringstream in(text);
    std::string line;
    std::vector<std::string> fields;
    size_t lines = 0;
    if (!nextCsvRecord(in, line, lines) || !splitCsvLine(line, fields) || fields != names)
        throw Error(what + ":1: the header is not the columns prepared.json names");
    columns.names = std::move(names);
    columns.rows.reserve(data.count());
    for (;;) {
        const size_t lineNumber = lines + 1;
        if (!nextCsvRecord(in, line, lines))
            break;
        if (columns.rows.size() == data.count())
            throw Error(what + ":" + std::to_string(lineNumber) + ": more rows than the preparation's "
                        + std::to_string(data.count()) + " faces");
        if (!splitCsvLine(line, fields) || fields.size() != columns.names.size())
            throw Error(what + ":" + std::to_string(lineNumber) + ": not " + std::to_string(columns.names.size())
                        + " values");
        for (const std::string& v : fields)
            if (v.size() > kMaxSourceColumnValue)
                throw Error(what + ":" + std::to_string(lineNumber) + ": a value over "
                            + std::to_string(kMaxSourceColumnValue) + " bytes");
        columns.rows.push_back(fields);
    }
    if (columns.rows.size() != data.count())
        throw Error(what + ": " + std::to_string(columns.rows.size()) + " rows for the preparation's "
                    + std::to_string(data.count()) + " faces");
    return columns;
}

} // namespace faceatlas
