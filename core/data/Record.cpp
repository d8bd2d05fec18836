#include "data/Record.h"
#include "data/SourceKinds.h"

#include <cstdio>

namespace faceatlas {

namespace {

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, days since 1970-01-01).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civilFromDays(std::int64_t z, int& year, int& month, int& day)
{
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    year = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2));
}

const std::int64_t kSerialEpoch = daysFromCivil(0, 1, 1) - 1; // datenum(0,1,1) == 1

} // namespace

std::string recordKey(const Record& record)
{
    return record.faceIndex < 0 ? record.path : record.path + "#face" + std::to_string(record.faceIndex + 1);
}

std::string recordProblem(const Record& r)
{
    const auto number = [](double v) {
        char text[32];
        std::snprintf(text, sizeof text, "%.6g", v);
        return std::string(text);
    };
    if (r.age && (*r.age < -kMaxRecordAge || *r.age > kMaxRecordAge))
        return "age " + std::to_string(*r.age) + " is outside -" + std::to_string(kMaxRecordAge) + " to "
               + std::to_string(kMaxRecordAge);
    if (r.gender != Gender::Unknown && r.gender != Gender::Female && r.gender != Gender::Male)
        return "gender " + std::to_string(static_cast<int>(r.gender)) + " is not -1 (unknown), 0 (F) or 1 (M)";
    for (const double score : {r.faceScore, r.secondFaceScore})
        if (!std::isnan(score) && score != -std::numeric_limits<double>::infinity() && !(std::fabs(score) <= 1e6))
            return "face score " + number(score) + " is not a number within +-1e6";
    for (const double v : r.faceBox)
        if (!std::isnan(v) && !(std::fabs(v) <= 1e7))
            return "face box coordinate " + number(v) + " is beyond +-1e7 pixels";
    if (r.dob < -10'000'000 || r.dob > 10'000'000)
        return "date of birth " + std::to_string(r.dob) + " is beyond +-10,000,000 days";
    if (r.photoTaken < 0 || r.photoTaken > 9999)
        return "photo year " + std::to_string(r.photoTaken) + " is outside 0-9999";
    if (!std::isnan(r.roll) && !(std::fabs(r.roll) <= 180))
        return "head roll " + number(r.roll) + " is beyond +-180 degrees";
    if (!std::isnan(r.yaw) && !(std::fabs(r.yaw) <= 90))
        return "head yaw " + number(r.yaw) + " is beyond +-90 degrees";
    if (r.facesFound < -1 || r.faceIndex < -1)
        return "faces found " + std::to_string(r.facesFound) + " / face index " + std::to_string(r.faceIndex)
               + " below -1";
    return "";
}

const char* sourceKindName(SourceKind kind)
{
    return sourceKindInfo(kind).name;
}

const char* genderName(Gender gender)
{
    switch (gender) {
    case Gender::Male: return "M";
    case Gender::Female: return "F";
    case Gender::Unknown: break;
    }
    return "";
}

std::int64_t matlabDatenum(int year, int month, int day)
{
    return daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) - kSerialEpoch;
}

void matlabDateFromDatenum(std::int64_t serial, int& year, int& month, int& day)
{
    civilFromDays(serial + kSerialEpoch, year, month, day);
}

int imdbWikiAge(std::int32_t dob, int photoTaken)
{
    int year, month, day;
    matlabDateFromDatenum(matlabDatenum(photoTaken, 7, 1) - dob, year, month, day);
    return year;
}

std::string isoDateFromDatenum(std::int64_t serial)
{
    int year, month, day;
    matlabDateFromDatenum(serial, year, month, day);
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d", year, month, day);
    return text;
}

} // namespace faceatlas
