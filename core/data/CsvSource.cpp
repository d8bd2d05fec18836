#include "data/CsvSource.h"

#include "util/Csv.h"
#include "util/Error.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <unordered_map>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

/** A CSV's face column: a whole number from 1 to kMaxCsvFaceNumber, stored 0-based. */
bool parseFaceNumber(const std::string& face, std::int16_t& faceIndex, std::string& problem)
{
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(face.c_str(), &end, 10);
    if (errno || *end || n < 1 || n > kMaxCsvFaceNumber) {
        problem =
            "face '" + face.substr(0, 32) + "' is not a whole number from 1 to " + std::to_string(kMaxCsvFaceNumber);
        return false;
    }
    faceIndex = static_cast<std::int16_t>(n - 1);
    return true;
}

} // namespace

bool parseAge(const std::string& text, int& age, std::string& problem)
{
    // Decimal numbers only: std::stod alone would also take "0x1A", "nan" and "inf".
    const bool decimal = !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
        return std::isdigit(c) || c == '.' || c == '+' || c == '-' || c == 'e' || c == 'E';
    });
    char* end = nullptr;
    errno = 0;
    const double value = decimal ? std::strtod(text.c_str(), &end) : 0.0;
    if (!decimal || end != text.c_str() + text.size() || !std::isfinite(value)) {
        problem = "age '" + text.substr(0, 32) + "' is not a number";
        return false;
    }
    if (errno == ERANGE || value < 0 || value >= kMaxAge + 1) {
        problem = "age '" + text.substr(0, 32) + "' is outside 0-" + std::to_string(kMaxAge);
        return false;
    }
    age = static_cast<int>(value); // 0 <= value < 117: the conversion is defined
    return true;
}

namespace {

/** Where a `csv:` header row puts the columns a record is made of; -1: no such column. */
struct CsvColumns {
    int path = -1;
    int age = -1;
    int gender = -1;
    int face = -1;
};

// Reads and splits the header row into `fields` and finds the record's columns; throws Error
// naming `what` for an empty file or a header without a `path` (or `file`) column.
CsvColumns readCsvHeader(std::istream& in, std::vector<std::string>& fields, const std::string& what)
{
    std::string line;
    if (!std::getline(in, line))
        throw Error(what + ": empty file (a header row with a 'path' column is required)");
    if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0)
        line.erase(0, 3); // UTF-8 byte order mark
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    splitCsvLine(line, fields);
    CsvColumns columns;
    for (int i = 0; i < static_cast<int>(fields.size()); ++i) {
        const std::string name = asciiLower(trimCsvCell(fields[i]));
        if ((name == "path" || name == "file") && columns.path < 0)
            columns.path = i;
        else if (name == "age")
            columns.age = i;
        else if (name == "gender")
            columns.gender = i;
        else if (name == "face")
            columns.face = i;
    }
    if (columns.path < 0)
        throw Error(what + ": no 'path' (or 'file') column in the header row '" + line.substr(0, 200) + "'");
    return columns;
}

/** One data row read as a record: the record, its trimmed path cell, or why the row is not one. */
struct CsvRow {
    Record record;
    std::string path;
    std::string problem;
};

// Makes `row` the record of one split data row (relative paths against `folder`); false with
// row.problem set at the first cell that fails its check (path, age, gender, then face).
bool readCsvRow(const std::vector<std::string>& fields, const CsvColumns& columns, const fs::path& folder, CsvRow& row)
{
    const auto column = [&](int c) {
        return c >= 0 && c < static_cast<int>(fields.size()) ? trimCsvCell(fields[c]) : std::string();
    };
    row.path = column(columns.path);
    if (row.path.empty()) {
        row.problem = "empty path";
        return false;
    }
    if (row.path.find('\0') != std::string::npos) {
        row.problem = "the path holds a NUL byte";
        return false;
    }
    Record& r = row.record;
    const fs::path p = fs::u8path(row.path);
    r.path = (p.is_absolute() ? p : folder / p).lexically_normal().string();
    const std::string age = column(columns.age);
    if (!age.empty()) {
        int value = 0;
        if (!parseAge(age, value, row.problem))
            return false;
        r.age = value;
    }
    const std::string gender = asciiLower(column(columns.gender));
    if (gender == "m" || gender == "male")
        r.gender = Gender::Male;
    else if (gender == "f" || gender == "female")
        r.gender = Gender::Female;
    else if (!gender.empty() && gender != "nan" && gender != "unknown") {
        row.problem = "gender '" + gender.substr(0, 32) + "' is not M/F/male/female";
        return false;
    }
    // Which face of a photo with several (1 the best), as an export of a preparation that took
    // every face writes it; empty: the picture's one face.
    if (const std::string face = column(columns.face); !face.empty())
        return parseFaceNumber(face, r.faceIndex, row.problem);
    return true;
}

} // namespace

void walkCsvSource(const std::string& text, const fs::path& folder, const std::string& what,
                   const CsvSourceVisitor& visit)
{
    std::istringstream in(text);
    std::vector<std::string> fields;
    const CsvColumns columns = readCsvHeader(in, fields, what);
    if (visit.header && !visit.header(fields))
        return;

    auto malformed = [&](size_t lineNumber, const std::string& problem) {
        if (visit.malformed)
            visit.malformed(lineNumber, what + ":" + std::to_string(lineNumber) + ": " + problem);
    };
    std::unordered_map<std::string, size_t> firstLineOf; // each record's key -> the line that gave it
    std::string line;
    size_t lines = 1;
    for (;;) {
        const size_t lineNumber = lines + 1; // where the record starts
        if (!nextCsvRecord(in, line, lines))
            break;
        if (trimCsvCell(line).empty())
            continue;
        if (!splitCsvLine(line, fields)) {
            malformed(lineNumber, "unterminated quote");
            continue;
        }
        CsvRow row;
        if (!readCsvRow(fields, columns, folder, row)) {
            malformed(lineNumber, row.problem);
            continue;
        }
        // A picture listed twice (say with ages 25 and 26) is one face, not two: the first row that
        // is a record is kept and the repeat reported with both lines, so the user can correct the file.
        const auto [first, isNew] = firstLineOf.emplace(recordKey(row.record), lineNumber);
        if (!isNew) {
            malformed(lineNumber, row.path.substr(0, 200) + " is listed twice (lines " + std::to_string(first->second)
                                      + " and " + std::to_string(lineNumber) + "): the first, line "
                                      + std::to_string(first->second) + ", is kept");
            continue;
        }
        if (visit.record)
            visit.record(lineNumber, std::move(row.record), fields);
    }
}

} // namespace faceatlas
