#pragma once

#include <string>
#include <vector>

namespace faceatlas {

/** A CSV field as written: as is, unless it needs quotes (RFC 4180). */
std::string csvField(const std::string& s);

/** Splits one CSV line (RFC 4180 quoting; embedded newlines are not supported); false on an open quote. */
bool splitCsvLine(const std::string& line, std::vector<std::string>& fields);

} // namespace faceatlas
