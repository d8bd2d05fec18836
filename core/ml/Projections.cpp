#include "ml/Projections.h"

namespace faceatlas {

namespace {

EmbeddingResult principalComponents(const torch::Tensor& x, const EmbeddingParams&, const CancelToken& cancel,
                                    const std::function<void(const JobProgress&)>& onProgress)
{
    if (onProgress)
        onProgress({"principal components", 0, 0});
    EmbeddingResult r;
    r.map = pca2d(x);
    r.cancelled = cancel.isCancelled();
    return r;
}

} // namespace

const std::vector<ProjectionInfo>& projections()
{
    static const std::vector<ProjectionInfo> table = {
        {"neighbors", "Neighbour map (UMAP-like)", "Neighbour map",
         "a UMAP-like neighbour embedding: a k-nearest-neighbour graph (see --knn), fuzzy edge weights, a layout "
         "started from the graph's spectral layout (PCA from 50,000 faces or for a graph in pieces) and optimised by "
         "SGD with negative sampling; faces near in the codes stay near on the map",
         true,
         [](const torch::Tensor& x, const EmbeddingParams& p, const CancelToken& cancel,
            const std::function<void(const JobProgress&)>& onProgress) {
             return neighbourEmbedding(x, p, cancel, onProgress);
         }},
        {"pca", "PCA (seconds)", "PCA map",
         "the codes' first two principal components, in seconds: distances mean the same everywhere on the map, "
         "but neighbourhoods blur",
         false, principalComponents},
    };
    return table;
}

const ProjectionInfo* findProjection(const std::string& name)
{
    for (const ProjectionInfo& p : projections())
        if (name == p.name)
            return &p;
    return nullptr;
}

std::string projectionNameList()
{
    std::string list;
    const auto& all = projections();
    for (size_t i = 0; i < all.size(); ++i)
        list += (i == 0 ? "" : i + 1 == all.size() ? " or " : ", ") + std::string(all[i].name);
    return list;
}

} // namespace faceatlas
