#include "data/SourceKinds.h"

#include <algorithm>
#include <cctype>
#include <system_error>

namespace faceatlas {

const std::vector<SourceKindInfo>& sourceKinds()
{
    static const std::vector<SourceKindInfo> table = {
        {SourceKind::ImdbWiki, "imdb-wiki", "PATH.mat", "wiki_crop/wiki.mat",
         "IMDB-WIKI's metadata (wiki.mat or imdb.mat) beside its face crops, with its own face scores",
         "Open IMDB-WIKI &.mat...", "", "IMDB-WIKI metadata", "MAT-files (*.mat)", ".mat", "", false, true, false},
        {SourceKind::UtkFace, "utkface", "DIR", "UTKFace",
         "a folder of UTKFace images, the age, gender and race in each file name (AGE_GENDER_RACE_DATE.jpg)",
         "Open &UTKFace folder...", "Ctrl+U", "UTKFace folder", "", "", ".jpg.chip.jpg", true, false, false},
        {SourceKind::Csv, "csv", "FILE", "faces.csv",
         "a CSV with a path column (relative to the CSV's folder) and optional age, gender and further columns",
         "Open &CSV...", "Ctrl+O", "CSV with a path column", "CSV (*.csv)", ".csv", "", false, false, false},
        {SourceKind::Folder, "folder", "DIR", "photos", "a folder of images (searched recursively), without labels",
         "Open a &folder of images...", "Ctrl+Shift+O", "Folder of images", "", "", "", true, false, false},
        {SourceKind::Demo, "demo", "[N]", "2000",
         "N synthetic faces drawn by FaceAtlas (default 2000), with ages, genders and face scores", "", "", "", "", "",
         "", false, true, true},
    };
    return table;
}

const SourceKindInfo& sourceKindInfo(SourceKind kind)
{
    for (const SourceKindInfo& s : sourceKinds())
        if (s.kind == kind)
            return s;
    return sourceKinds().back(); // unreachable: SourceKindsTest checks that every kind has a row
}

const SourceKindInfo* findSourceKind(const std::string& name)
{
    for (const SourceKindInfo& s : sourceKinds())
        if (name == s.name)
            return &s;
    return nullptr;
}

const SourceKindInfo* sourceKindOfSpec(const std::string& spec)
{
    return findSourceKind(spec.substr(0, spec.find(':')));
}

std::string sourceSpecForm(const SourceKindInfo& kind)
{
    const std::string argument = kind.argument;
    const bool optional = argument.size() > 2 && argument.front() == '[';
    return kind.name + (optional ? "[:" + argument.substr(1) : ":" + argument);
}

std::string sourceSpecList()
{
    std::string list;
    const auto& kinds = sourceKinds();
    for (size_t i = 0; i < kinds.size(); ++i)
        list += (i == 0 ? "" : i + 1 == kinds.size() ? " or " : ", ") + sourceSpecForm(kinds[i]);
    return list;
}

namespace {

bool endsWithNoCase(const std::string& text, const std::string& end)
{
    return text.size() >= end.size() && std::equal(end.rbegin(), end.rend(), text.rbegin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
}

/** Whether the folder holds a file whose name ends with `marker` (stops at the first). */
bool folderHolds(const std::filesystem::path& folder, const std::string& marker)
{
    std::error_code ec;
    for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
        if (endsWithNoCase(it->path().filename().string(), marker))
            return true;
    return false;
}

} // namespace

std::string guessSourceSpec(const std::string& path)
{
    const std::filesystem::path p = std::filesystem::u8path(path);
    std::error_code ec;
    const auto status = std::filesystem::status(p, ec);
    if (ec)
        return path;
    std::filesystem::path full = std::filesystem::absolute(p, ec).lexically_normal();
    if (!full.has_filename() && full.has_relative_path()) // "photos/" names the folder "photos"
        full = full.parent_path();
    const std::string absolute = full.u8string();
    if (std::filesystem::is_directory(status)) {
        for (const SourceKindInfo& s : sourceKinds())
            if (s.pathIsFolder && *s.folderMarker && folderHolds(p, s.folderMarker))
                return std::string(s.name) + ":" + absolute;
        for (const SourceKindInfo& s : sourceKinds())
            if (s.pathIsFolder && !*s.folderMarker)
                return std::string(s.name) + ":" + absolute;
    } else if (std::filesystem::is_regular_file(status)) {
        for (const SourceKindInfo& s : sourceKinds())
            if (*s.fileExtension && endsWithNoCase(p.filename().string(), s.fileExtension))
                return std::string(s.name) + ":" + absolute;
    }
    return path;
}

} // namespace faceatlas
