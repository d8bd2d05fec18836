// Readers whose labels come from file names or a CSV file: UTKFace, CSV, a plain folder.
#include "data/Readers.h"

#include "data/CsvSource.h"
#include "data/FaceAlign.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

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
    const std::string ext = asciiLower(path.extension().string());
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp" || ext == ".tif"
           || ext == ".tiff";
}

bool parseUtkFaceName(const std::string& name, int& age, Gender& gender, std::string& problem)
{
    // age_gender_race_datetime.jpg.chip.jpg (the plain ".jpg" of UTKFace's "In-the-wild" set works too)
    std::string stem = name;
    const std::string lowered = asciiLower(name);
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

// The face numbers a csv: row may give are the faces a preparation keeps of a picture.
static_assert(kMaxCsvFaceNumber == kMaxFacesKept, "CsvSource.h's kMaxCsvFaceNumber is FaceAlign.h's kMaxFacesKept");

LoadedDataset parseCsv(const std::string& text, const fs::path& folder, const std::string& what)
{
    LoadedDataset dataset;
    dataset.kind = SourceKind::Csv;
    // The rows are read as parseSourceColumns reads them (data/CsvSource.h): one rule for both.
    CsvSourceVisitor visit;
    visit.record = [&](size_t, Record&& r, const std::vector<std::string>&) {
        dataset.records.push_back(std::move(r));
    };
    visit.malformed = [&](size_t, const std::string& problem) {
        ++dataset.malformed;
        if (dataset.malformedExamples.size() < 20)
            dataset.malformedExamples.push_back(problem);
    };
    walkCsvSource(text, folder, what, visit);
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
