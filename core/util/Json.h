#pragma once

#include "util/Error.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace faceatlas {

/**
 * JSON text of `value` (compact for indent < 0), for files and output. Text that is not valid
 * UTF-8 (a file name in Latin-1, say) is written with U+FFFD in place of the bad bytes instead of
 * throwing, as nlohmann::json::dump() does by default: one odd file name must not fail a whole job.
 */
inline std::string jsonText(const nlohmann::json& value, int indent = -1)
{
    return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

/**
 * The most bytes a JSON manifest FaceAtlas writes may have (prepared.json, codes.json, map.json,
 * audit.json, run.json): theirs are kilobytes, a prepared.json with a thousand review problems a few
 * megabytes. Read them with readFile(path, kMaxManifestBytes).
 */
constexpr std::uint64_t kMaxManifestBytes = std::uint64_t(16) << 20;

/**
 * `object[key]` as a whole number from `min` to `max`. Throws Error naming `what` (the file) and the
 * key when it is missing, not a JSON integer (a fraction, 1e300, text) or out of range, so that no
 * such value ever reaches an integer conversion.
 */
inline std::int64_t jsonInt(const nlohmann::json& object, const std::string& key, std::int64_t min, std::int64_t max,
                            const std::string& what)
{
    const auto it = object.is_object() ? object.find(key) : object.end();
    if (!object.is_object() || it == object.end())
        throw Error(what + ": '" + key + "' is missing");
    std::int64_t value = 0;
    bool whole = false;
    if (it->is_number_unsigned()) {
        const auto u = it->get<std::uint64_t>();
        whole = u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        value = whole ? static_cast<std::int64_t>(u) : 0;
    } else if (it->is_number_integer()) {
        value = it->get<std::int64_t>();
        whole = true;
    }
    if (!whole || value < min || value > max)
        throw Error(what + ": '" + key + "' is " + jsonText(*it).substr(0, 40) + ", not a whole number from "
                    + std::to_string(min) + " to " + std::to_string(max));
    return value;
}

/** jsonInt() of a key that may be absent: `fallback` then. */
inline std::int64_t jsonIntOr(const nlohmann::json& object, const std::string& key, std::int64_t fallback,
                              std::int64_t min, std::int64_t max, const std::string& what)
{
    return object.is_object() && object.contains(key) ? jsonInt(object, key, min, max, what) : fallback;
}

/**
 * Parses JSON text that may come from anyone, refusing (Error naming `what`) text nested deeper than
 * `maxDepth` containers or holding more than `maxValues` values (keys count as values; counted from
 * the brackets, commas and colons between them), before anything is built: a small file of nested
 * brackets or of empty objects never becomes a document of gigabytes. One pass over the text, then
 * json::parse(); syntax errors throw nlohmann::json::parse_error, as json::parse() does.
 * (nlohmann's parser callback is no way to do this: it rescans a container at each object's end,
 * which takes quadratic time for an array of many objects.)
 */
inline nlohmann::json parseJsonBounded(std::string_view text, const std::string& what, int maxDepth,
                                       std::size_t maxValues)
{
    const auto refuse = [&](const std::string& problem) {
        throw Error(what + ": JSON " + problem + " (not written by FaceAtlas; damaged?)");
    };
    int depth = 0;
    std::size_t values = 1;
    bool inString = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (inString) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                inString = false;
            continue;
        }
        switch (c) {
        case '"': inString = true; break;
        case '{':
        case '[':
            if (++depth > maxDepth)
                refuse("nested deeper than " + std::to_string(maxDepth) + " levels");
            [[fallthrough]];
        case ',':
        case ':':
            if (++values > maxValues)
                refuse("with more than " + std::to_string(maxValues) + " values");
            break;
        case '}':
        case ']': depth = depth > 0 ? depth - 1 : 0; break;
        default: break;
        }
    }
    return nlohmann::json::parse(text.begin(), text.end());
}

} // namespace faceatlas
