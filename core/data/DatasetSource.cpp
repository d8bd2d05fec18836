#include "data/DemoFaces.h"
#include "data/Readers.h"
#include "data/SourceKinds.h"
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

/** The demo's SPEC argument: a face count, 2000 when none is given. */
LoadedDataset readDemo(const std::string& spec, const std::string& arg)
{
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
    return makeDemoDataset(count, kDemoSeed, folder);
}

/** Each kind's reader (the kinds themselves are data/SourceKinds' table); SourceKindsTest checks that
 *  every kind has one. */
LoadedDataset readKind(SourceKind kind, const std::string& spec, const std::filesystem::path& path,
                       const std::string& arg)
{
    switch (kind) {
    case SourceKind::ImdbWiki: return readImdbWiki(path);
    case SourceKind::UtkFace: return readUtkFace(path);
    case SourceKind::Csv: return readCsv(path);
    case SourceKind::Folder: return readFolder(path);
    case SourceKind::Demo: return readDemo(spec, arg);
    }
    throw Error("source '" + spec + "': no reader for its kind");
}

} // namespace

LoadedDataset openSource(const std::string& spec)
{
    const SourceKindInfo* kind = sourceKindOfSpec(spec);
    if (!kind)
        throw Error("source '" + spec + "': unknown kind '" + spec.substr(0, spec.find(':')) + "' (use "
                    + sourceSpecList() + ")");
    const auto colon = spec.find(':');
    const std::string rawArg = colon == std::string::npos ? std::string() : spec.substr(colon + 1);
    std::filesystem::path path;
    if (kind->kind != SourceKind::Demo) { // the demo's argument is a count, not a path
        const std::string arg = expandHome(rawArg);
        if (arg.empty())
            throw Error("source '" + spec + "': give a path, e.g. " + kind->name + ":" + kind->example);
        path = std::filesystem::u8path(arg);
    }
    LoadedDataset dataset = readKind(kind->kind, spec, path, rawArg);
    dataset.spec = spec;
    return dataset;
}

std::filesystem::path sourceFolder(const std::string& spec)
{
    const SourceKindInfo* kind = sourceKindOfSpec(spec);
    const auto colon = spec.find(':');
    if (colon == std::string::npos || !kind || kind->kind == SourceKind::Demo)
        return {};
    const std::filesystem::path path = std::filesystem::u8path(expandHome(spec.substr(colon + 1)));
    if (path.empty())
        return {};
    if (kind->pathIsFolder)
        return path;
    return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

} // namespace faceatlas
