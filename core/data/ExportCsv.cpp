#include "data/ExportCsv.h"

#include "util/Csv.h"
#include "util/FileUtil.h"

namespace faceatlas {

std::string cleanedCsv(const PreparedDataset& data)
{
    std::vector<bool> isVal(data.count(), false);
    for (std::uint32_t i : data.valIndices())
        isVal[i] = true;
    std::string csv = "path,age,gender,split\n";
    for (size_t i = 0; i < data.count(); ++i) {
        const Record& r = data.records()[i];
        csv += csvField(r.path) + "," + (r.age ? std::to_string(*r.age) : "") + "," + genderName(r.gender) + ","
               + (isVal[i] ? "val" : "train") + "\n";
    }
    return csv;
}

void exportCleanedCsv(const PreparedDataset& data, const std::filesystem::path& file)
{
    if (file.has_parent_path())
        std::filesystem::create_directories(file.parent_path());
    writeFileAtomic(file, cleanedCsv(data));
}

} // namespace faceatlas
