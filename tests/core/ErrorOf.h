#pragma once

#include "util/Error.h"

#include <string>

namespace faceatlas {

/** The message of the faceatlas::Error that f() throws, or "" when it throws none (other exceptions pass). */
template <typename F>
std::string errorOf(F&& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

} // namespace faceatlas
