#pragma once

#include <stdexcept>
#include <string>

namespace faceatlas {

/** A failure a user can act on: the message names the file (or setting) and the problem. */
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace faceatlas
