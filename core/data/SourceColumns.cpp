#include "data/SourceColumns.h"

#include "data/CsvSource.h"
#include "data/PreparedDataset.h"
#include "data/Record.h"
#include "data/Slices.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <sstream>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

/** The columns the csv: reader understands itself (split: an export's, which the reader ignores). */
bool isKnownColumn(const std::string& lowerName)
{
    for (const char* known : {"path", "file", "age", "gender", "face", "split"})
        if (lowerName == known)
            return true;
    return false;
}

/**
 * `s` as valid UTF-8: each byte that does not start a well-formed character (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF) becomes U+FFFD. jsonText() would replace such bytes
 * in prepared.json but columns.csv would keep them, and the two would then differ for good.
 */
std::string validUtf8(const std::string& s)
{
    std::string out;
    out.reserve(s.size());
    const auto byte = [&](size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
    const auto cont = [&](size_t i) { return (byte(i) & 0xC0u) == 0x80u; };
    for (size_t i = 0; i < s.size();) {
        const unsigned c = byte(i);
        size_t n = 0;
        if (c < 0x80)
            n = 1;
        else if (c >= 0xC2 && c <= 0xDF)
            n = cont(i + 1) ? 2 : 0;
        else if (c >= 0xE0 && c <= 0xEF) {
            const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
            n = byte(i + 1) >= lo && byte(i + 1) <= hi && cont(i + 2) ? 3 : 0;
        } else if (c >= 0xF0 && c <= 0xF4) {
            const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
            n = byte(i + 1) >= lo && byte(i + 1) <= hi && cont(i + 2) && cont(i + 3) ? 4 : 0;
        }
        if (n == 0) {
            out += "\xEF\xBF\xBD"; // U+FFFD
            ++i;
        } else {
            out.append(s, i, n);
            i += n;
        }
    }
    return out;
}

/** Valid UTF-8 `s` cut to at most `maxBytes` at the end of a character. */
std::string cutUtf8(const std::string& s, size_t maxBytes)
{
    if (s.size() <= maxBytes)
        return s;
    size_t end = maxBytes;
    while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0u) == 0x80u)
        --end; // s[end] is a continuation byte: the character starting before it would be cut
    return s.substr(0, end);
}

/** Text as kept: valid UTF-8, control characters (tabs, line breaks in quotes) as spaces, trimmed. */
std::string cleanText(const std::string& field)
{
    std::string v = validUtf8(field);
    for (char& c : v)
        if (static_cast<unsigned char>(c) < 0x20)
            c = ' ';
    return trimCsvCell(v);
}

/**
 * True when a slice grouping already means `name` (compared without case): a slice attribute, the
 * clustering's "cluster", the whole's "all", or the face sets the Slices page adds ("selection",
 * "subset ..."). The GUI would pick the attribute and the CLI the column; the column is renamed instead.
 */
bool shadowsGrouping(const std::string& name)
{
    const std::string low = asciiLower(name);
    if (low == "cluster" || low == "all" || low.rfind("selection", 0) == 0 || low.rfind("subset", 0) == 0)
        return true;
    for (const SliceAttribute& a : sliceAttributes())
        if (low == asciiLower(a.name))
            return true;
    return false;
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
    std::vector<int> kept;   // the further columns' positions
    std::vector<size_t> cut; // per kept column: the values cut to kMaxSourceColumnValue
    CsvSourceVisitor visit;
    visit.header = [&](const std::vector<std::string>& fields) {
        std::vector<std::string> dropped; // past kMaxSourceColumns
        for (int i = 0; i < static_cast<int>(fields.size()); ++i) {
            const std::string raw = trimCsvCell(fields[i]);
            if (raw.empty() || isKnownColumn(asciiLower(raw)))
                continue; // an unnamed column (a trailing comma) is no column
            std::string name = cutUtf8(cleanText(raw), kMaxSourceColumnName);
            const std::string column = "column " + std::to_string(i + 1) + " '" + name + "'";
            if (name != raw)
                table.notes.push_back(column + ": its name is kept as valid UTF-8 of at most "
                                      + std::to_string(kMaxSourceColumnName) + " printable bytes");
            if (shadowsGrouping(name)) {
                name = cutUtf8("csv_" + name, kMaxSourceColumnName);
                table.notes.push_back(column + " is kept as '" + name + "' (a slice grouping has the name)");
            }
            if (std::find(table.names.begin(), table.names.end(), name) != table.names.end()) {
                table.notes.push_back(column + " is dropped: an earlier column has the name");
                continue;
            }
            if (table.names.size() == kMaxSourceColumns) {
                dropped.push_back(name);
                continue;
            }
            table.names.push_back(name);
            kept.push_back(i);
        }
        if (!dropped.empty()) {
            std::string list;
            for (const std::string& name : dropped)
                list += (list.empty() ? "" : ", ") + name;
            if (list.size() > 300)
                list = cutUtf8(list, 300) + "...";
            table.notes.insert(table.notes.begin(), "kept " + std::to_string(kMaxSourceColumns) + " of "
                                                        + std::to_string(kMaxSourceColumns + dropped.size())
                                                        + " further columns (FaceAtlas keeps at most "
                                                        + std::to_string(kMaxSourceColumns) + "): dropped " + list);
        }
        cut.assign(kept.size(), 0);
        return !table.names.empty();
    };
    // Called for exactly the rows parseCsv makes records of (walkCsvSource): a repeated picture's
    // first record row wins here as there, and a malformed row gives nothing to either.
    visit.record = [&](size_t, Record&& r, const std::vector<std::string>& fields) {
        std::vector<std::string> values;
        values.reserve(kept.size());
        for (size_t k = 0; k < kept.size(); ++k) {
            const int c = kept[k];
            const std::string v = cleanText(c < static_cast<int>(fields.size()) ? fields[c] : std::string());
            cut[k] += v.size() > kMaxSourceColumnValue;
            values.push_back(cutUtf8(v, kMaxSourceColumnValue));
        }
        table.byKey.emplace(recordKey(r), std::move(values));
    };
    walkCsvSource(text, folder, what, visit);
    for (size_t k = 0; k < cut.size(); ++k)
        if (cut[k])
            table.notes.push_back("column '" + table.names[k] + "': " + std::to_string(cut[k]) + " values over "
                                  + std::to_string(kMaxSourceColumnValue) + " bytes are cut to their first "
                                  + std::to_string(kMaxSourceColumnValue));
    for (std::string& note : table.notes)
        note = what + ": " + note;
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
