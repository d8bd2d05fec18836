#include "data/MatFile.h"
#include "data/Readers.h"
#include "data/RecordCache.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cmath>

namespace faceatlas {

namespace {

const MatArray& requireField(const MatArray& root, const char* name, size_t count, const std::string& what)
{
    const MatArray* field = root.field(name);
    if (!field)
        throw Error(what + ": field '" + name + "' is missing from the '" + root.name + "' struct");
    if (field->count() != count)
        throw Error(what + ": field '" + name + "' has " + std::to_string(field->count()) + " entries, expected "
                    + std::to_string(count));
    const bool cell = field->kind == MatArray::Kind::Cell;
    const bool numeric = field->kind == MatArray::Kind::Numeric;
    if (!cell && !numeric)
        throw Error(what + ": field '" + name + "' has an unexpected type");
    return *field;
}

const MatArray& findStruct(const std::vector<MatArray>& variables, const std::string& what)
{
    for (const auto& v : variables)
        if (v.kind == MatArray::Kind::Struct && (v.name == "wiki" || v.name == "imdb"))
            return v;
    for (const auto& v : variables)
        if (v.kind == MatArray::Kind::Struct)
            return v;
    throw Error(what + ": no struct variable (expected 'wiki' or 'imdb')");
}

std::vector<Record> decode(const MatArray& root, const std::filesystem::path& folder, const std::string& what)
{
    const MatArray* dobField = root.field("dob");
    if (!dobField)
        throw Error(what + ": field 'dob' is missing from the '" + root.name + "' struct");
    const size_t n = dobField->count();
    const auto& dob = requireField(root, "dob", n, what);
    const auto& photoTaken = requireField(root, "photo_taken", n, what);
    const auto& fullPath = requireField(root, "full_path", n, what);
    const auto& gender = requireField(root, "gender", n, what);
    const auto& faceScore = requireField(root, "face_score", n, what);
    const auto& secondFaceScore = requireField(root, "second_face_score", n, what);
    const MatArray* name = root.field("name");
    const MatArray* faceLocation = root.field("face_location");
    if (fullPath.kind != MatArray::Kind::Cell)
        throw Error(what + ": field 'full_path' is not a cell array of text");
    for (const MatArray* f : {&dob, &photoTaken, &gender, &faceScore, &secondFaceScore})
        if (f->kind != MatArray::Kind::Numeric)
            throw Error(what + ": a numeric field holds a cell array");

    std::vector<Record> records(n);
    for (size_t i = 0; i < n; ++i) {
        Record& r = records[i];
        r.path = (folder / fullPath.elements[i].text).string();
        const double d = dob.numbers[i];
        const double year = photoTaken.numbers[i];
        if (std::isfinite(d) && std::isfinite(year) && d != 0) {
            r.dob = static_cast<std::int32_t>(std::floor(d));
            r.photoTaken = static_cast<int>(year);
            r.age = imdbWikiAge(r.dob, r.photoTaken);
        }
        const double g = gender.numbers[i];
        r.gender = std::isnan(g) ? Gender::Unknown : (g >= 0.5 ? Gender::Male : Gender::Female);
        r.faceScore = faceScore.numbers[i];
        r.secondFaceScore = secondFaceScore.numbers[i];
        if (name && name->kind == MatArray::Kind::Cell && i < name->elements.size())
            r.name = name->elements[i].text;
        if (faceLocation && faceLocation->kind == MatArray::Kind::Cell && i < faceLocation->elements.size()) {
            const auto& box = faceLocation->elements[i].numbers;
            if (box.size() == 4)
                r.faceBox = {box[0], box[1], box[2], box[3]};
        }
    }
    return records;
}

} // namespace

LoadedDataset readImdbWiki(const std::filesystem::path& matFile, bool useCache)
{
    const std::string what = displayPath(matFile);
    if (!std::filesystem::is_regular_file(matFile))
        throw Error(what + ": no such file");
    LoadedDataset dataset;
    dataset.kind = SourceKind::ImdbWiki;
    dataset.location = std::filesystem::absolute(matFile).lexically_normal().string();
    const std::string identity = fileIdentity(matFile);
    if (useCache) {
        if (auto cached = RecordCache::load(identity)) {
            dataset.records = std::move(*cached);
            dataset.fromCache = true;
            return dataset;
        }
    }
    const auto variables = readMatFile(matFile);
    const auto folder = std::filesystem::path(dataset.location).parent_path();
    dataset.records = decode(findStruct(variables, what), folder, what);
    if (useCache)
        RecordCache::store(identity, dataset.records);
    return dataset;
}

} // namespace faceatlas
