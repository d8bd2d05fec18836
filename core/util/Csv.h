#pragma once

#include <istream>
#include <string>
#include <vector>

namespace faceatlas {

/** A CSV field as written: as is, unless it needs quotes (RFC 4180). */
std::string csvField(const std::string& s);

/** Splits one CSV record (RFC 4180 quoting, line breaks inside quotes kept); false on an open quote. */
bool splitCsvLine(const std::string& line, std::vector<std::string>& fields);

/** True while `text` (a record read so far) ends inside a quoted field: its next line break is part of the field. */
bool csvQuoteOpen(const std::string& text);

/**
 * Reads the next CSV record from `in`: one line, or several when a quoted field holds line breaks
 * (a file name with a line break, as csvField() writes it), without its line end. A quote still
 * open after 16 lines or 64 KB is taken as a damaged line: the stream goes back to the line after
 * the first, and that first line alone is returned (splitCsvLine() then reports the open quote).
 * `lines` is advanced by the lines consumed. False at the end of the stream.
 */
bool nextCsvRecord(std::istream& in, std::string& record, size_t& lines);

/**
 * A cell or header name as the CSV readers compare it: without leading and trailing white space
 * (std::isspace in the C locale: space, tab, line ends, vertical tab, form feed). One definition for
 * every reader of a `csv:` file, so a name one of them knows the others know too.
 */
std::string trimCsvCell(const std::string& s);
/** `s` with its ASCII letters lowered, every other byte kept (UTF-8 stays intact): names, extensions. */
std::string asciiLower(std::string s);

} // namespace faceatlas
