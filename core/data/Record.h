#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace faceatlas {

enum class Gender : std::int8_t { Unknown = -1, Female = 0, Male = 1 };

/** One face image and what a dataset says about it; fields a source lacks stay unknown. */
struct Record {
    static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

    std::string path;       // absolute path of the image file
    std::optional<int> age; // whole years
    Gender gender = Gender::Unknown;
    double faceScore = kNaN;                               // detector score; -inf where no face was found
    double secondFaceScore = kNaN;                         // NaN when there is no second face
    std::array<double, 4> faceBox{kNaN, kNaN, kNaN, kNaN}; // x1 y1 x2 y2 in the original image
    std::int32_t dob = 0;                                  // date of birth as a MATLAB serial date (0 = unknown)
    int photoTaken = 0;                                    // year (0 = unknown)
    std::string name;                                      // person's name, UTF-8 (may be empty)
    // What FaceAtlas's own face detector found when the faces were aligned (data/FaceAlign.h);
    // -1 and NaN where it did not look (centre-cropped preparations, records read from a source).
    std::int16_t facesFound = -1;
    float roll = std::numeric_limits<float>::quiet_NaN(); // degrees
    float yaw = std::numeric_limits<float>::quiet_NaN();  // degrees, a rough estimate
    // Which face of its picture this record is, when a preparation took every face of each photo
    // (PrepareParams::everyFace) and the picture had several: 0 the best, then by the detector's
    // confidence. -1 for a record that is the whole picture's one face.
    std::int16_t faceIndex = -1;
};

/**
 * What names a record in files and on screen: its path, or "path#faceN" (N from 1) for one of
 * several faces taken from one photo. Paths alone are not unique in such a dataset.
 */
std::string recordKey(const Record& record);

/**
 * What is wrong with a record's fields for one read back from a file (records.bin, the record cache),
 * or "" when each holds a value a FaceAtlas reader or preparation can give it: an age within
 * +-kMaxRecordAge, a gender of the enum, face scores finite within +-1e6 (a score's NaN: unknown,
 * -infinity: no face), face box coordinates NaN or within +-1e7 pixels, a date of birth within
 * +-10,000,000 serial days and a photo year 0-9999 (IMDB-WIKI's limits), head roll within +-180 and
 * yaw within +-90 degrees or NaN, faces found and face index from -1.
 */
std::string recordProblem(const Record& record);

/**
 * The largest age (either way) a record can hold: the readers take 0-116, but IMDB-WIKI's ages are
 * computed from its dates (births up to 10 million serial days either side of year 0, photos in years
 * 0-9999), within 40,000 years either way, and a preparation without the age filter keeps them.
 */
constexpr int kMaxRecordAge = 40000;

/** Which reader produced a dataset. */
enum class SourceKind { ImdbWiki, UtkFace, Csv, Folder, Demo };

const char* sourceKindName(SourceKind kind);
const char* genderName(Gender gender); // "M", "F" or ""

/** Records read from one source, with what was skipped while reading it. */
struct LoadedDataset {
    std::string spec; // the SPEC as given, e.g. "utkface:/data/UTKFace"
    SourceKind kind = SourceKind::Folder;
    std::string location; // the file or folder the records came from (absolute)
    std::vector<Record> records;
    size_t malformed = 0;                       // entries that could not be read as records (skipped)
    std::vector<std::string> malformedExamples; // a few of them, with the reason
    bool fromCache = false;                     // parsed records came from the record cache
};

/** MATLAB serial date (datenum) of a civil date; year 0 exists and is a leap year, as in MATLAB. */
std::int64_t matlabDatenum(int year, int month, int day);
/** The civil date of a MATLAB serial day number (the fraction of a day is ignored). */
void matlabDateFromDatenum(std::int64_t serial, int& year, int& month, int& day);
/** IMDB-WIKI's official age: the year part of datevec(datenum(photo_taken, 7, 1) - dob). */
int imdbWikiAge(std::int32_t dob, int photoTaken);
/** "YYYY-MM-DD" for a MATLAB serial date. */
std::string isoDateFromDatenum(std::int64_t serial);

} // namespace faceatlas
