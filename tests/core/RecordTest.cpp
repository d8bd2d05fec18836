#include "data/Record.h"
#include "data/PreparedDataset.h"
#include "data/RecordCache.h"
#include "TestSupport.h"
#include "util/Error.h"

#include <climits>
#include <cmath>
#include <functional>
#include <gtest/gtest.h>
#include <limits>

using namespace faceatlas;

TEST(RecordTest, DatenumMatchesMatlab)
{
    EXPECT_EQ(matlabDatenum(0, 1, 1), 1);
    EXPECT_EQ(matlabDatenum(1, 1, 1), 367); // year 0 is a leap year in MATLAB
    EXPECT_EQ(matlabDatenum(1981, 5, 5), 723671);
    EXPECT_EQ(isoDateFromDatenum(723671), "1981-05-05");
    EXPECT_EQ(isoDateFromDatenum(0), "-001-12-31");
}

TEST(RecordTest, AgeUsesFirstOfJulyOfThePhotoYear)
{
    EXPECT_EQ(imdbWikiAge(static_cast<std::int32_t>(matlabDatenum(1981, 5, 5)), 2009), 28);
    EXPECT_EQ(imdbWikiAge(static_cast<std::int32_t>(matlabDatenum(1948, 7, 3)), 2008), 59); // birthday after 1 July
    // datevec counts from year 0, so someone born on 1 July is a year younger than the calendar says:
    // the official recipe, which the published ages use.
    EXPECT_EQ(imdbWikiAge(static_cast<std::int32_t>(matlabDatenum(1948, 7, 1)), 2008), 59);
    EXPECT_EQ(imdbWikiAge(static_cast<std::int32_t>(matlabDatenum(1948, 6, 30)), 2008), 60);
    EXPECT_EQ(imdbWikiAge(static_cast<std::int32_t>(matlabDatenum(2010, 1, 1)), 2005), -5); // bogus dob stays visible
}

TEST(RecordTest, TheAgeBoundHoldsEveryAgeTheImdbWikiReaderComputes)
{
    // The reader takes births up to 10,000,000 serial days either side of year 0 and photos of 0-9999.
    for (const std::int32_t dob : {-10'000'000, -1, 1, 10'000'000})
        for (const int year : {0, 9999})
            EXPECT_LE(std::abs(imdbWikiAge(dob, year)), kMaxRecordAge) << dob << " " << year;
}

TEST(RecordTest, RecordFilesWithFieldsNoReaderGivesAreRefusedNamingTheRecord)
{
    // F14: records.bin ages of 2^31 - 1 once trained with rc 0 and "val MAE 1010580540".
    std::vector<Record> records(3);
    records[0].path = "/d/a.jpg";
    records[0].age = 30;
    records[1].path = "/d/b.jpg";
    records[1].age = -5; // IMDB-WIKI: a photo before the birth, kept by a preparation without the age filter
    records[1].faceScore = -std::numeric_limits<double>::infinity(); // no face
    records[1].dob = 734139;
    records[1].photoTaken = 2005;
    records[2].path = "/d/c.jpg";
    records[2].age = 116;
    records[2].gender = Gender::Female;
    records[2].faceScore = 3.5;
    records[2].faceBox = {1, 2, 300.5, 400};
    records[2].roll = -12.5f;
    records[2].yaw = 80;
    records[2].facesFound = 2;
    records[2].faceIndex = 1;
    ASSERT_EQ(RecordCache::deserialize(RecordCache::serialize(records)).value().size(), 3u);

    const std::vector<std::pair<std::function<void(Record&)>, std::string>> cases = {
        {[](Record& r) { r.age = INT_MAX; }, "age 2147483647 is outside -40000 to 40000"},
        {[](Record& r) { r.age = -kMaxRecordAge - 1; }, "age -40001"},
        {[](Record& r) { r.gender = static_cast<Gender>(5); }, "gender 5"},
        {[](Record& r) { r.faceScore = std::numeric_limits<double>::infinity(); }, "face score inf"},
        {[](Record& r) { r.secondFaceScore = 1e300; }, "face score 1e+300"},
        {[](Record& r) { r.faceBox[2] = -1e300; }, "face box coordinate -1e+300"},
        {[](Record& r) { r.dob = INT_MIN; }, "date of birth -2147483648"},
        {[](Record& r) { r.photoTaken = 10000; }, "photo year 10000"},
        {[](Record& r) { r.roll = 181; }, "head roll 181"},
        {[](Record& r) { r.yaw = std::numeric_limits<float>::infinity(); }, "head yaw inf"},
        {[](Record& r) { r.facesFound = -2; }, "faces found -2"},
    };
    for (const auto& [edit, expected] : cases) {
        std::vector<Record> bad = records;
        edit(bad[1]);
        std::string problem;
        EXPECT_FALSE(RecordCache::deserialize(RecordCache::serialize(bad), &problem)) << expected;
        EXPECT_NE(problem.find("record 2 (/d/b.jpg): " + expected), std::string::npos) << problem;
    }

    // A prepared dataset with such a record does not open, and the error names the file and the record.
    test::TempDir dir;
    std::vector<Record> bad = records;
    bad[2].age = INT_MAX;
    test::writeBytes(dir / "d" / "prepared.json",
                     R"({"format": "faceatlas-prepared", "size": 8, "source": "x", )"
                     R"("normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]}})");
    test::writeBytes(dir / "d" / "records.bin", RecordCache::serialize(bad));
    test::writeBytes(dir / "d" / "images.u8", std::string(3 * 8 * 8 * 3, '\x7f'));
    PreparedDataset::writeSplit(dir / "d" / "split.bin", {0, 1, 2}, {});
    try {
        PreparedDataset::open(dir / "d");
        ADD_FAILURE() << "a record aged 2147483647 was accepted";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("records.bin"), std::string::npos) << what;
        EXPECT_NE(what.find("record 3 (/d/c.jpg): age 2147483647"), std::string::npos) << what;
    }
    test::writeBytes(dir / "d" / "records.bin", RecordCache::serialize(records));
    EXPECT_EQ(PreparedDataset::open(dir / "d").count(), 3u);
}
