#include "data/DemoFaces.h"
#include "data/Readers.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cstdlib>

namespace faceatlas {

namespace {

/** `~` and `~/...` start in $HOME, as a shell would have expanded them (it does not after "csv:"). */
std::string expandHome(const std::string& path)
{
    if (path.empty() || path[0] != '~' || (path.size() > 1 && path[1] != '/'))
        return path;
    const char* home = std::getenv("HOME");
    if (!home || !*home)
        throw Error("'" + path + "': cannot expand '~' (HOME is not set)");
    return std::string(home) + path.substr(1);
}

} // namespace

LoadedDataset openSource(const std::string& spec)
{
    const auto colon = spec.find(':');
    const std::string kind = spec.substr(0, colon);
    const std::string rawArg = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
    const std::string arg = kind == "demo" ? rawArg : expandHome(rawArg);
    const auto needPath = [&](const char* what) {
        if (arg.empty())
            throw Error("source '" + spec + "': give a path, e.g. " + kind + ":" + what);
        return std::filesystem::u8path(arg);
    };
    LoadedDataset dataset;
    if (kind == "imdb-wiki") {
        dataset = readImdbWiki(needPath("wiki_crop/wiki.mat"));
    } else if (kind == "utkface") {
        dataset = readUtkFace(needPath("UTKFace"));
    } else if (kind == "csv") {
        dataset = readCsv(needPath("faces.csv"));
    } else if (kind == "folder") {
        dataset = readFolder(needPath("photos"));
    } else if (kind == "demo") {
        int count = 2000;
        if (!arg.empty()) {
            try {
                size_t used = 0;
                count = std::stoi(arg, &used);
                if (used != arg.size())
                    throw std::invalid_argument(arg);
            } catch (const std::exception&) {
                throw Error("source '" + spec + "': the demo size '" + arg + "' is not a number");
            }
        }
        if (count < 1 || count > 1000000)
            throw Error("source '" + spec + "': the demo size must be between 1 and 1000000");
        const auto folder = cacheDir() / "demo" / ("faces-" + std::to_string(count) + "-v1");
        dataset = makeDemoDataset(count, kDemoSeed, folder);
    } else {
        throw Error("source '" + spec + "': unknown kind '" + kind
                    + "' (use imdb-wiki:FILE.mat, utkface:DIR, csv:FILE, folder:DIR or demo[:N])");
    }
    dataset.spec = spec;
    return dataset;
}

std::filesystem::path sourceFolder(const std::string& spec)
{
    const auto colon = spec.find(':');
    const std::string kind = spec.substr(0, colon);
    if (colon == std::string::npos || kind == "demo")
        return {};
    const std::filesystem::path path = std::filesystem::u8path(expandHome(spec.substr(colon + 1)));
    if (path.empty())
        return {};
    if (kind == "utkface" || kind == "folder")
        return path;
    return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

} // namespace faceatlas
