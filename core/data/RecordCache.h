#pragma once

#include "data/Record.h"

#include <optional>
#include <string>
#include <vector>

namespace faceatlas {

/**
 * Parsed records of slow-to-parse sources (IMDB-WIKI .mat files), kept in the cache folder and
 * keyed by the source file's identity (path, size, modification time).
 */
class RecordCache {
public:
    static std::optional<std::vector<Record>> load(const std::string& identity);
    /** Stores atomically; a failure to write the cache is not an error (it is only a cache). */
    static void store(const std::string& identity, const std::vector<Record>& records);

    /** Binary form of records, also used in prepared datasets. */
    static std::string serialize(const std::vector<Record>& records);
    /**
     * Parses serialize()'s output; nullopt when the bytes are not a valid record file: truncated, or
     * a record with a field no reader gives (recordProblem(), an age of 2^31 say). `problem`, when
     * given, then says what is wrong and names the record ("record 7 (PATH): age ... is outside ...").
     */
    static std::optional<std::vector<Record>> deserialize(const std::string& bytes, std::string* problem = nullptr);
};

} // namespace faceatlas
