#include "data/CsvExport.h"

#include "data/FaceQuality.h"
#include "data/PreparedDataset.h"
#include "data/SourceColumns.h"
#include "util/Csv.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace faceatlas {

size_t exportCsvDataset(const PreparedDataset& data, const std::vector<std::int64_t>& rows,
                        const std::filesystem::path& file, bool withQuality)
{
    const auto& records = data.records();
    std::vector<char> isVal(records.size(), 0);
    for (const std::uint32_t i : data.valIndices())
        if (i < isVal.size())
            isVal[i] = 1;
    // One of several faces of a photo (a preparation that took every face) is its path and, in a
    // last column the csv: source reads back, which face: 1 the best.
    bool faces = false;
    for (const Record& r : records)
        faces = faces || r.faceIndex >= 0;
    // The source's further columns the preparation kept go back after FaceAtlas's own, so export ->
    // csv: -> prepare keeps them.
    const SourceColumns columns = readPreparedColumns(data);
    FaceQuality quality;
    if (withQuality) {
        quality = readPreparedQuality(data);
        if (quality.empty())
            throw Error(noQualityMessage(data));
    }
    std::string csv = faces ? "path,age,gender,split,face" : "path,age,gender,split";
    for (const std::string& name : columns.names)
        csv += ',' + csvField(name);
    for (const std::string& name : quality.names)
        csv += ',' + name;
    csv += '\n';
    const auto add = [&](size_t i) {
        const Record& r = records[i];
        csv += csvField(r.path);
        csv += ',';
        if (r.age)
            csv += std::to_string(*r.age);
        csv += ',';
        csv += genderName(r.gender);
        csv += isVal[i] ? ",val" : ",train";
        if (faces) {
            csv += ',';
            if (r.faceIndex >= 0)
                csv += std::to_string(r.faceIndex + 1);
        }
        if (!columns.empty())
            for (const std::string& value : columns.rows[i])
                csv += ',' + csvField(value);
        for (size_t k = 0; k < quality.names.size(); ++k) {
            csv += ',';
            if (const float v = quality.at(i, k); std::isfinite(v)) {
                char text[32];
                std::snprintf(text, sizeof text, "%.6g", v);
                csv += text;
            }
        }
        csv += '\n';
    };
    if (rows.empty()) {
        for (size_t i = 0; i < records.size(); ++i)
            add(i);
    } else {
        for (const std::int64_t row : rows) {
            if (row < 0 || static_cast<size_t>(row) >= records.size())
                throw Error(displayPath(file) + ": face " + std::to_string(row) + " is not in "
                            + displayPath(data.dir()) + " (" + std::to_string(records.size()) + " faces)");
            add(static_cast<size_t>(row));
        }
    }
    if (file.has_parent_path())
        std::filesystem::create_directories(file.parent_path());
    writeFileAtomic(file, csv);
    return rows.empty() ? records.size() : rows.size();
}

} // namespace faceatlas
