#pragma once

#include <nlohmann/json.hpp>
#include <string>

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

} // namespace faceatlas
