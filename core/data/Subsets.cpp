#include "data/Subsets.h"

#include "data/Record.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"

#include <algorithm>
#include <cctype>
#include <system_error>
#include <unordered_map>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

/** The UTF-8 code point starting at byte `i` of `s`, and its length; a byte that starts none: U+FFFD, 1. */
std::pair<char32_t, size_t> codePointAt(const std::string& s, size_t i)
{
    const auto lead = static_cast<unsigned char>(s[i]);
    const size_t size = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    if (size == 0 || i + size > s.size())
        return {0xFFFD, 1};
    char32_t value = size == 1 ? lead : lead & (0x7F >> size);
    for (size_t k = 1; k < size; ++k) {
        const auto next = static_cast<unsigned char>(s[i + k]);
        if ((next & 0xC0) != 0x80)
            return {0xFFFD, 1};
        value = (value << 6) | (next & 0x3F);
    }
    return {value, size};
}

/** White space as Qt's QString::trimmed() sees it: ASCII's, NEL, and Unicode's space and line separators. */
bool isSpace(char32_t c)
{
    return c == 0x20 || (c >= 0x09 && c <= 0x0d) || c == 0x85 || c == 0xa0 || c == 0x1680
           || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/** A character a subset's file name keeps: A-Z, a-z, 0-9, space, '_', '.' and '-'. */
bool keptInFileName(char32_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ' || c == '_'
           || c == '.' || c == '-';
}

/**
 * `s` as UTF-16 code units: the order the subsets were listed in before (Qt's, which sorts file
 * names by their UTF-16 units: a character beyond U+FFFF before U+E000-U+FFFF, unlike UTF-8's order).
 */
std::u16string utf16(const std::string& s)
{
    std::u16string units;
    for (size_t i = 0; i < s.size();) {
        const auto [c, size] = codePointAt(s, i);
        i += size;
        if (c < 0x10000) {
            units.push_back(static_cast<char16_t>(c));
        } else {
            units.push_back(static_cast<char16_t>(0xD800 + ((c - 0x10000) >> 10)));
            units.push_back(static_cast<char16_t>(0xDC00 + ((c - 0x10000) & 0x3FF)));
        }
    }
    return units;
}

/** True for a name ending in ".json" in any case, as the wildcard "*.json" of a folder listing takes it. */
bool hasJsonSuffix(const std::string& name)
{
    static const std::string suffix = ".json";
    if (name.size() < suffix.size())
        return false;
    return std::equal(suffix.begin(), suffix.end(), name.end() - static_cast<std::ptrdiff_t>(suffix.size()),
                      [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
}

} // namespace

std::string subsetFileName(const std::string& name)
{
    std::vector<char32_t> characters;
    for (size_t i = 0; i < name.size();) {
        const auto [c, size] = codePointAt(name, i);
        characters.push_back(c);
        i += size;
    }
    auto first = characters.begin();
    auto last = characters.end();
    while (first != last && isSpace(*first))
        ++first;
    while (last != first && isSpace(*(last - 1)))
        --last;
    std::string safe;
    for (auto it = first; it != last && safe.size() < 80; ++it)
        safe += keptInFileName(*it) ? static_cast<char>(*it) : '_';
    return safe + ".json";
}

fs::path subsetFile(const fs::path& folder, const std::string& name)
{
    return folder / subsetFileName(name);
}

std::vector<std::string> listSubsets(const fs::path& folder)
{
    std::vector<std::string> files;
    std::error_code error;
    for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
        const std::string file = it->path().filename().string();
        std::error_code typeError;
        if (file.empty() || file.front() == '.' || !hasJsonSuffix(file) || !it->is_regular_file(typeError))
            continue;
        files.push_back(file);
    }
    std::sort(files.begin(), files.end(),
              [](const std::string& a, const std::string& b) { return utf16(a) < utf16(b); });
    std::vector<std::string> names;
    names.reserve(files.size());
    for (const std::string& file : files)
        names.push_back(file.substr(0, file.size() - 5)); // without ".json"
    return names;
}

void writeSubset(const fs::path& file, const std::string& name, const std::string& source,
                 const std::vector<Record>& records, const std::vector<std::int64_t>& rows)
{
    nlohmann::json paths = nlohmann::json::array();
    for (const std::int64_t row : rows)
        paths.push_back(recordKey(records[static_cast<size_t>(row)]));
    const nlohmann::json j = {{"name", name}, {"source", source}, {"count", rows.size()}, {"paths", paths}};
    fs::create_directories(file.parent_path());
    writeFileAtomic(file, jsonText(j) + "\n");
}

SubsetSelection readSubset(const fs::path& file, const std::vector<Record>& records)
{
    const std::string where = displayPath(file);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(readFile(file));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(where + ": invalid: " + e.what());
    }
    if (!j.is_object() || !j.contains("paths") || !j.at("paths").is_array())
        throw Error(where + ": no list of paths");
    std::unordered_map<std::string, size_t> rowOf;
    rowOf.reserve(records.size());
    for (size_t i = 0; i < records.size(); ++i)
        rowOf.emplace(recordKey(records[i]), i);
    SubsetSelection s;
    s.mask.assign(records.size(), 0);
    for (const auto& p : j.at("paths")) {
        if (!p.is_string())
            throw Error(where + ": a path that is not a string");
        ++s.listed;
        const auto it = rowOf.find(p.get<std::string>());
        if (it != rowOf.end() && !s.mask[it->second]) {
            s.mask[it->second] = 1;
            ++s.found;
        }
    }
    return s;
}

} // namespace faceatlas
