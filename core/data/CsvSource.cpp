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

void walkCsvSource(const std::string& text, const fs::path& folder, const std::string& what,
                   const CsvSourceVisitor& visit)
{
    std::istringstream in(text);
    std::string line;
    std::vector<std::string> fields;
    if (!std::getline(in, line))
        throw Error(what + ": empty file (a header row with a 'path' column is required)");
    if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0)
        line.erase(0, 3); // UTF-8 byte order mark
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    splitCsvLine(line, fields);
    int pathColumn = -1, ageColumn = -1, genderColumn = -1, faceColumn = -1;
    for (int i = 0; i < static_cast<int>(fields.size()); ++i) {
        const std::string name = asciiLower(trimCsvCell(fields[i]));
        if ((name == "path" || name == "file") && pathColumn < 0)
            pathColumn = i;
        else if (name == "age")
            ageColumn = i;
        else if (name == "gender")
            genderColumn = i;
        else if (name == "face")
            faceColumn = i;
    }
    if (pathColumn < 0)
        throw Error(what + ": no 'path' (or 'file') column in the header row '" + line.substr(0, 200) + "'");
    if (visit.header && !visit.header(fields))
        return;

    auto malformed = [&](size_t lineNumber, const std::string& problem) {
        if (visit.malformed)
            visit.malformed(lineNumber, what + ":" + std::to_string(lineNumber) + ": " + problem);
    };
    std::unordered_map<std::string, size_t> firstLineOf; // each record's key -> the line that gave it
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
        const auto column = [&](int c) {
            return c >= 0 && c < static_cast<int>(fields.size()) ? trimCsvCell(fields[c]) : std::string();
        };
        const std::string path = column(pathColumn);
        if (path.empty()) {
            malformed(lineNumber, "empty path");
            continue;
        }
        if (path.find('\0') != std::string::npos) {
            malformed(lineNumber, "the path holds a NUL byte");
            continue;
        }
        Record r;
        const fs::path p = fs::u8path(path);
        r.path = (p.is_absolute() ? p : folder / p).lexically_normal().string();
        const std::string age = column(ageColumn);
        if (!age.empty()) {
            int value = 0;
            std::string problem;
            if (!parseAge(age, value, problem)) {
                malformed(lineNumber, problem);
                continue;
            }
            r.age = value;
        }
        const std::string gender = asciiLower(column(genderColumn));
        if (gender == "m" || gender == "male")
            r.gender = Gender::Male;
        else if (gender == "f" || gender == "female")
            r.gender = Gender::Female;
        else if (!gender.empty() && gender != "nan" && gender != "unknown") {
            malformed(lineNumber, "gender '" + gender.substr(0, 32) + "' is not M/F/male/female");
            continue;
        }
        // Which face of a photo with several (1 the best), as an export of a preparation that took
        // every face writes it; empty: the picture's one face.
        if (const std::string face = column(faceColumn); !face.empty()) {
            std::string problem;
            if (!parseFaceNumber(face, r.faceIndex, problem)) {
                malformed(lineNumber, problem);
                continue;
            }
        }
        // A picture listed twice (say with ages 25 and 26) is one face, not two: the first row that
        // is a record is kept and the repeat reported with both lines, so the user can correct the file.
        const auto [first, isNew] = firstLineOf.emplace(recordKey(r), lineNumber);
        if (!isNew) {
            malformed(lineNumber, path.substr(0, 200) + " is listed twice (lines " + std::to_string(first->second)
                                      + " and " + std::to_string(lineNumber) + "): the first, line "
                                      + std::to_string(first->second) + ", is kept");
            continue;
        }
        if (visit.record)
            visit.record(lineNumber, std::move(r), fields);
    }
}

} // namespace faceatlas
