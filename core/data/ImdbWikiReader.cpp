#include "data/MatFile.h"
#include "data/Readers.h"
#include "data/RecordCache.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cmath>
#include <cstdio>

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

/** Elements a field holds for records: the numbers of a numeric field, the elements of a cell. */
size_t entries(const MatArray& field)
{
    return field.kind == MatArray::Kind::Cell ? field.elements.size() : field.numbers.size();
}

std::string shortNumber(double value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.10g", value);
    return text;
}

/** A MATLAB serial date or a year as an integer; false for NaN, infinities and values beyond `limit`. */
bool checkedInt(double value, double limit, std::int32_t& out)
{
    if (!(std::fabs(value) <= limit)) // false for NaN too
        return false;
    out = static_cast<std::int32_t>(std::floor(value));
    return true;
}

void decode(const MatArray& root, const std::filesystem::path& folder, const std::string& what, LoadedDataset& dataset)
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
    // Dimensions that say n while the data holds fewer would index past the end below.
    for (const char* field : {"dob", "photo_taken", "full_path", "gender", "face_score", "second_face_score"})
        if (entries(*root.field(field)) < n)
            throw Error(what + ": field '" + field + "' holds " + std::to_string(entries(*root.field(field)))
                        + " values for " + std::to_string(n) + " records");

    // Dates of birth are MATLAB serial days (year 0 to 9999 is 1 to 3.7 million); years 0-9999.
    constexpr double kMaxSerialDate = 1e7, kMaxYear = 9999;
    dataset.records.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        Record r;
        r.path = (folder / fullPath.elements[i].text).string();
        std::int32_t d = 0, year = 0;
        if (!checkedInt(dob.numbers[i], kMaxSerialDate, d) || !checkedInt(photoTaken.numbers[i], kMaxYear, year)
            || year < 0) {
            ++dataset.malformed;
            if (dataset.malformedExamples.size() < 20)
                dataset.malformedExamples.push_back(what + ": record " + std::to_string(i + 1) + " (" + r.path
                                                    + "): dob " + shortNumber(dob.numbers[i]) + " / photo_taken "
                                                    + shortNumber(photoTaken.numbers[i]) + " out of range");
            continue;
        }
        if (d != 0) {
            r.dob = d;
            r.photoTaken = year;
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
        dataset.records.push_back(std::move(r));
    }
}

} // namespace

LoadedDataset imdbWikiFromMat(const std::vector<MatArray>& variables, const std::filesystem::path& folder,
                              const std::string& what)
{
    LoadedDataset dataset;
    dataset.kind = SourceKind::ImdbWiki;
    decode(findStruct(variables, what), folder, what, dataset);
    return dataset;
}

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
    const auto folder = std::filesystem::path(dataset.location).parent_path();
    LoadedDataset decoded = imdbWikiFromMat(readMatFile(matFile), folder, what);
    dataset.records = std::move(decoded.records);
    dataset.malformed = decoded.malformed;
    dataset.malformedExamples = std::move(decoded.malformedExamples);
    // Only clean results are cached: the cache keeps records, not the malformed ones' reasons.
    if (useCache && dataset.malformed == 0)
        RecordCache::store(identity, dataset.records);
    return dataset;
}

} // namespace faceatlas
