#pragma once
// The ways a map lays the codes out in 2-D, in one table: the CLI's `map --method`, its help and man
// page, the window's Map page and MapJob all read it. A new projection is a row and its function.

#include "ml/Projection.h"

#include <string>
#include <vector>

namespace faceatlas {

struct ProjectionInfo {
    const char* name;        // as map.json and `map --method` spell it: "neighbors"
    const char* title;       // the Map page's choice: "Neighbour map (UMAP-like)"
    const char* caption;     // a map's caption: "Neighbour map"
    const char* description; // a sentence for the help and the man page
    /** Whether the neighbour settings (neighbours, min-dist, epochs, the kNN search) shape it. */
    bool neighbourSettings;
    /** The layout: `map` always; the neighbour graph and its figures where it builds one. */
    EmbeddingResult (*layout)(const torch::Tensor& x, const EmbeddingParams& params, const CancelToken& cancel,
                              const std::function<void(const JobProgress&)>& onProgress);
};

/** Every projection, the default first. */
const std::vector<ProjectionInfo>& projections();
/** The row called `name`, or nullptr. */
const ProjectionInfo* findProjection(const std::string& name);
/** "neighbors or pca": for errors. */
std::string projectionNameList();

} // namespace faceatlas
