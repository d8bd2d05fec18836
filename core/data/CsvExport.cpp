#include "data/CsvExport.h"

#include "data/PreparedDataset.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <string>

namespace faceatlas {

size_t exportCsvDataset(const PreparedDataset& data, const std::vector<std::int64_t>& rows,
                        const std::filesystem::path& file)
{
    const auto& records = data.records();
    std::string csv = "path,age,gender\n";
    const auto add = [&](const Record& r) {
        csv += csvField(r.path);
        csv += ',';
        if (r.age)
            csv += std::to_string(*r.age);
        csv += ',';
        csv += genderName(r.gender);
        csv += '\n';
    };
    if (rows.empty()) {
        for (const Record& r : records)
            add(r);
    } else {
        for (const std::int64_t row : rows) {
            if (row < 0 || static_cast<size_t>(row) >= records.size())
                throw Error(displayPath(file) + ": face " + std::to_string(row) + " is not in "
                            + displayPath(data.dir()) + " (" + std::to_string(records.size()) + " faces)");
            add(records[static_cast<size_t>(row)]);
        }
    }
    writeFileAtomic(file, csv);
    return rows.empty() ? records.size() : rows.size();
}

} // namespace faceatlas
