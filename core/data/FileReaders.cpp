// Readers whose labels come from file names or a CSV file: UTKFace, CSV, a plain folder.
#include "data/Readers.h"

#include "data/FaceAlign.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <unordered_map>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string trim(const std::string& s)
{
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
        ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
        --e;
    return s.substr(b, e - b);
}

bool allDigits(const std::string& s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

/** Sorted list of image files under a folder; throws Error when it is not a folder. */
std::vector<fs::path> listImages(const fs::path& folder, bool recursive)
{
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw Error(displayPath(folder) + ": not a folder");
    std::vector<fs::path> files;
    auto consider = [&](const fs::directory_entry& entry) {
        std::error_code e;
        if (entry.is_regular_file(e) && hasImageExtension(entry.path()))
            files.push_back(entry.path());
    };
    if (recursive) {
        for (auto it = fs::recursive_directory_iterator(folder, fs::directory_options::skip_permission_denied, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
            consider(*it);
    } else {
        for (auto it = fs::directory_iterator(folder, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
            consider(*it);
    }
    if (ec)
        throw Error(displayPath(folder) + ": cannot list: " + ec.message());
    std::sort(files.begin(), files.end());
    return files;
}

} // namespace

bool hasImageExtension(const fs::path& path)
{
    const std::string ext = lower(path.extension().string());
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp" || ext == ".tif"
           || ext == ".tiff";
}

bool parseUtkFaceName(const std::string& name, int& age, Gender& gender, std::string& problem)
{
    // age_gender_race_datetime.jpg.chip.jpg (the plain ".jpg" of UTKFace's "In-the-wild" set works too)
    std::string stem = name;
    const std::string lowered = lower(name);
    for (const char* suffix : {".jpg.chip.jpg", ".jpg", ".jpeg", ".png"})
        if (stem.size() > std::strlen(suffix)
            && lowered.compare(stem.size() - std::strlen(suffix), std::string::npos, suffix) == 0) {
            stem.resize(stem.size() - std::strlen(suffix));
            break;
        }
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t pos; (pos = stem.find('_', start)) != std::string::npos && parts.size() < 5; start = pos + 1)
        parts.push_back(stem.substr(start, pos - start));
    parts.push_back(stem.substr(start));
    problem.clear();
    if (parts.size() != 4)
        problem = "expected age_gender_race_datetime, found "
                  + std::string(parts.size() > 4 ? "more than 4" : std::to_string(parts.size())) + " fields";
    else if (!allDigits(parts[0]) || parts[0].size() > 3)
        problem = "age '" + parts[0].substr(0, 16) + "' is not a number from 0 to " + std::to_string(kMaxAge);
    else if (std::stoi(parts[0]) > kMaxAge)
        problem = "age " + parts[0] + " is over " + std::to_string(kMaxAge);
    else if (parts[1] != "0" && parts[1] != "1")
        problem = "gender '" + parts[1].substr(0, 16) + "' is not 0 or 1";
    else if (parts[2].size() != 1 || parts[2][0] < '0' || parts[2][0] > '4')
        problem = "race '" + parts[2].substr(0, 16) + "' is not 0-4";
    else if (!allDigits(parts[3]) || parts[3].size() != 17)
        problem = "date '" + parts[3].substr(0, 32) + "' is not 17 digits";
    if (!problem.empty())
        return false;
    age = std::stoi(parts[0]);
    gender = parts[1] == "0" ? Gender::Male : Gender::Female; // UTKFace: 0 = male, 1 = female
    return true;
}

LoadedDataset readUtkFace(const fs::path& folder)
{
    LoadedDataset dataset;
    dataset.kind = SourceKind::UtkFace;
    dataset.location = fs::absolute(folder).lexically_normal().string();
    for (const auto& file : listImages(folder, /*recursive=*/false)) {
        const std::string name = file.filename().string();
        Record r;
        int age = 0;
        std::string problem;
        if (!parseUtkFaceName(name, age, r.gender, problem)) {
            ++dataset.malformed;
            if (dataset.malformedExamples.size() < 20)
                dataset.malformedExamples.push_back(name + ": " + problem);
            continue;
        }
        r.path = fs::absolute(file).lexically_normal().string();
        r.age = age;
        dataset.records.push_back(std::move(r));
    }
    return dataset;
}

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

/** A CSV's face column: a whole number from 1 to kMaxFacesKept, stored 0-based. */
bool parseFaceNumber(const std::string& face, std::int16_t& faceIndex, std::string& problem)
{
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(face.c_str(), &end, 10);
    if (errno || *end || n < 1 || n > kMaxFacesKept) {
        problem = "face '" + face.substr(0, 32) + "' is not a whole number from 1 to " + std::to_string(kMaxFacesKept);
        return false;
    }
    faceIndex = static_cast<std::int16_t>(n - 1);
    return true;
}

} // namespace

LoadedDataset parseCsv(const std::string& text, const fs::path& folder, const std::string& what)
{
    std::istringstream in(text);
    LoadedDataset dataset;
    dataset.kind = SourceKind::Csv;

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
        const std::string name = lower(trim(fields[i]));
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

    auto malformed = [&](size_t lineNumber, const std::string& problem) {
        ++dataset.malformed;
        if (dataset.malformedExamples.size() < 20)
            dataset.malformedExamples.push_back(what + ":" + std::to_string(lineNumber) + ": " + problem);
    };
    std::unordered_map<std::string, size_t> firstLineOf; // each record's key -> the line that gave it
    size_t lines = 1;
    for (;;) {
        const size_t lineNumber = lines + 1; // where the record starts
        if (!nextCsvRecord(in, line, lines))
            break;
        if (trim(line).empty())
            continue;
        if (!splitCsvLine(line, fields)) {
            malformed(lineNumber, "unterminated quote");
            continue;
        }
        const auto column = [&](int c) {
            return c >= 0 && c < static_cast<int>(fields.size()) ? trim(fields[c]) : std::string();
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
        const std::string gender = lower(column(genderColumn));
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
        // A picture listed twice (say with ages 25 and 26) is one face, not two: the first row is
        // kept and the repeat reported with both lines, so the user can correct the file.
        const auto [first, isNew] = firstLineOf.emplace(recordKey(r), lineNumber);
        if (!isNew) {
            malformed(lineNumber, path.substr(0, 200) + " is listed twice (lines " + std::to_string(first->second)
                                      + " and " + std::to_string(lineNumber) + "): the first, line "
                                      + std::to_string(first->second) + ", is kept");
            continue;
        }
        dataset.records.push_back(std::move(r));
    }
    return dataset;
}

LoadedDataset readCsv(const fs::path& csvFile)
{
    const std::string what = displayPath(csvFile);
    const std::string text = readFile(csvFile); // refuses a FIFO or a device instead of blocking on it
    const std::string location = fs::absolute(csvFile).lexically_normal().string();
    LoadedDataset dataset = parseCsv(text, fs::path(location).parent_path(), what);
    dataset.location = location;
    return dataset;
}

LoadedDataset readFolder(const fs::path& folder)
{
    LoadedDataset dataset;
    dataset.kind = SourceKind::Folder;
    dataset.location = fs::absolute(folder).lexically_normal().string();
    for (const auto& file : listImages(folder, /*recursive=*/true)) {
        Record r;
        r.path = fs::absolute(file).lexically_normal().string();
        dataset.records.push_back(std::move(r));
    }
    return dataset;
}

} // namespace faceatlas
