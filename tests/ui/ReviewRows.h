#pragma once

#include "util/Csv.h"

#include <QFile>
#include <QString>
#include <string>
#include <tuple>
#include <vector>

namespace faceatlas::test {

/** One row of review.csv as the UI tests compare them: path, action, new label. */
using ReviewRow = std::tuple<std::string, std::string, std::string>;

/** Every row of a review file after the header, in file order (not only the latest of each path). */
inline std::vector<ReviewRow> reviewRows(const QString& file)
{
    std::vector<ReviewRow> rows;
    QFile in(file);
    if (!in.open(QIODevice::ReadOnly))
        return rows;
    in.readLine(); // the header
    std::vector<std::string> fields;
    while (!in.atEnd()) {
        const std::string line = in.readLine().trimmed().toStdString();
        if (!line.empty() && splitCsvLine(line, fields) && fields.size() == 6)
            rows.emplace_back(fields[0], fields[1], fields[3]);
    }
    return rows;
}

} // namespace faceatlas::test
