#include "ml/DatasetMap.h"

#include "data/PreparedDataset.h"
#include "ml/Inference.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <algorithm>

namespace faceatlas {

DatasetMap readDatasetMap(const std::filesystem::path& dir, const PreparedDataset& data,
                          const std::vector<std::string>& fingerprints)
{
    MapPoints map = readMap(dir);
    const std::string where = displayPath(dir);
    if (!map.dataFingerprint.empty()
        && std::find(fingerprints.begin(), fingerprints.end(), map.dataFingerprint) == fingerprints.end())
        throw Error(where + " is a map of another preparation than the open dataset");
    if (map.count() != data.count())
        throw Error(where + " holds " + std::to_string(map.count()) + " faces, the open dataset "
                    + std::to_string(data.count()));
    for (size_t i = 0; i < map.count(); ++i)
        if (map.paths[i] != recordKey(data.records()[i]))
            throw Error(where + ": face " + std::to_string(i) + " is " + map.paths[i] + ", not the open dataset's "
                        + recordKey(data.records()[i]));
    DatasetMap opened;
    opened.codes = std::make_shared<const Codes>(Codes::open(map.codes));
    if (opened.codes->count() != data.count())
        throw Error(displayPath(map.codes) + " no longer holds the codes this map was made of");
    opened.points = std::move(map);
    return opened;
}

} // namespace faceatlas
