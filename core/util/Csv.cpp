#include "util/Csv.h"

#include <cctype>

namespace faceatlas {

std::string csvField(const std::string& s)
{
    if (s.find_first_of(",\"\r\n") == std::string::npos)
        return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

bool splitCsvLine(const std::string& line, std::vector<std::string>& fields)
{
    fields.clear();
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.push_back(field);
            field.clear();
        } else {
            field += c;
        }
    }
    fields.push_back(field);
    return !quoted;
}

namespace {

void dropCarriageReturn(std::string& line)
{
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
}

} // namespace

bool csvQuoteOpen(const std::string& text)
{
    size_t quotes = 0;
    for (char c : text)
        quotes += c == '"';
    return quotes % 2 == 1; // "" inside a quoted field counts twice, so the parity tells
}

bool nextCsvRecord(std::istream& in, std::string& record, size_t& lines)
{
    if (!std::getline(in, record))
        return false;
    ++lines;
    dropCarriageReturn(record);
    if (!csvQuoteOpen(record))
        return true;
    constexpr size_t kMaxLines = 16, kMaxBytes = 64 * 1024;
    const std::streampos afterFirst = in.tellg();
    const std::string first = record;
    std::string line;
    for (size_t extra = 1; extra < kMaxLines && record.size() <= kMaxBytes && std::getline(in, line); ++extra) {
        dropCarriageReturn(line);
        record += '\n';
        record += line;
        if (!csvQuoteOpen(record)) {
            lines += extra;
            return true;
        }
    }
    in.clear();
    if (afterFirst != std::streampos(-1))
        in.seekg(afterFirst);
    record = first;
    return true;
}

std::string trimCsvCell(const std::string& s)
{
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
        ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
        --e;
    return s.substr(b, e - b);
}

std::string asciiLower(std::string s)
{
    for (char& c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

} // namespace faceatlas
