#pragma once

#include <cstring>
#include <stdexcept>
#include <string>

namespace faceatlas {

/** A failure a user can act on: the message names the file (or setting) and the problem. */
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/**
 * The system's text for an errno value ("No such file or directory"), safe to call from any thread
 * (std::strerror may share one buffer between threads).
 */
inline std::string errnoText(int error)
{
    char buffer[256];
    // GNU strerror_r: returns the text, in `buffer` or in a constant string of its own.
    return ::strerror_r(error, buffer, sizeof buffer);
}

} // namespace faceatlas
