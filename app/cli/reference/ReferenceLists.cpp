#include "cli/reference/ReferenceLists.h"

#include "data/FaceQuality.h"
#include "data/Slices.h"
#include "data/SourceKinds.h"
#include "ml/ModelKinds.h"
#include "ml/Projections.h"

namespace faceatlas::cli {

ReferenceLists referenceLists()
{
    ReferenceLists lists;
    for (const ModelKindInfo& k : modelKinds()) {
        lists["models"].emplace_back(k.name, k.description);
        if (k.role == ModelRole::AgeModel)
            lists["age-models"].emplace_back(k.name, k.description);
    }
    for (const SliceAttribute& a : sliceAttributes())
        lists["slice-attributes"].emplace_back(a.name, a.description);
    for (const SourceKindInfo& s : sourceKinds())
        lists["sources"].emplace_back(sourceSpecForm(s), s.description);
    for (const ProjectionInfo& p : projections())
        lists["projections"].emplace_back(p.name, p.description);
    for (const QualityColumn& q : qualityColumns())
        lists["quality-columns"].emplace_back(q.name, q.description);
    return lists;
}

} // namespace faceatlas::cli
