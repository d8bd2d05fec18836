#include "data/ClusterAssignments.h"

#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cstdlib>
#include <sstream>

namespace faceatlas {

namespace fs = std::filesystem;

std::string assignmentsCsv(const std::vector<Record>& records, const std::vector<int>& labels)
{
    if (labels.size() != records.size())
        throw Error("internal: one cluster label per record is required");
    std::string csv = "path,cluster\n";
    for (size_t i = 0; i < records.size(); ++i)
        csv += csvField(recordKey(records[i])) + "," + std::to_string(labels[i]) + "\n";
    return csv;
}

std::vector<int> readAssignments(const fs::path& clustersDir, const std::vector<Record>& records)
{
    const fs::path file = clustersDir / "assignments.csv";
    const std::string what = displayPath(file);
    // At most a path of 4 KB and a label per record: a file far larger is not this clustering's.
    std::istringstream in(readFile(file, 64 + records.size() * 4200));
    std::string record;
    size_t lines = 0;
    if (!nextCsvRecord(in, record, lines) || record != "path,cluster")
        throw Error(what + ": the header must be 'path,cluster'");
    std::vector<int> labels;
    labels.reserve(records.size());
    std::vector<std::string> fields;
    for (size_t line = lines + 1; nextCsvRecord(in, record, lines); line = lines + 1) {
        const std::string where = what + ":" + std::to_string(line) + ": ";
        if (!splitCsvLine(record, fields) || fields.size() != 2)
            throw Error(where + "expected path,cluster");
        if (labels.size() >= records.size())
            throw Error(where + "more rows than the " + std::to_string(records.size()) + " faces");
        if (fields[0] != recordKey(records[labels.size()]))
            throw Error(where + "names another face than the dataset's row " + std::to_string(labels.size() + 1)
                        + " (a clustering of another preparation)");
        char* end = nullptr;
        const long label = std::strtol(fields[1].c_str(), &end, 10);
        if (fields[1].empty() || *end != '\0' || label < -1 || label > 100000)
            throw Error(where + "'" + fields[1].substr(0, 20) + "' is not a cluster number");
        labels.push_back(static_cast<int>(label));
    }
    if (labels.size() != records.size())
        throw Error(what + ": " + std::to_string(labels.size()) + " rows for " + std::to_string(records.size())
                    + " faces");
    return labels;
}

} // namespace faceatlas
