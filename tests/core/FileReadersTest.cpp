#include "data/Readers.h"
#include "TestSupport.h"
#include "util/Error.h"

#include <gtest/gtest.h>

using namespace faceatlas;
using faceatlas::test::TempDir;

TEST(UtkFaceReaderTest, RealSampleLoadsAllFiveThousand)
{
    FACEATLAS_REQUIRE_SHARED_DATA("utkface/images");
    const LoadedDataset data = readUtkFace(test::sharedData() / "utkface" / "images");
    ASSERT_EQ(data.records.size(), 5000u);
    EXPECT_EQ(data.malformed, 0u);
    size_t male = 0;
    for (const auto& r : data.records) {
        ASSERT_TRUE(r.age.has_value());
        male += r.gender == Gender::Male;
    }
    EXPECT_EQ(male, 2587u); // SOURCE.md: 2,587 M / 2,413 F
    EXPECT_EQ(data.records.front().path.substr(data.records.front().path.rfind('/') + 1),
              "100_1_0_20170110183726390.jpg.chip.jpg");
    EXPECT_EQ(*data.records.front().age, 100);
    EXPECT_EQ(data.records.front().gender, Gender::Female); // UTKFace: 1 = female
}

TEST(UtkFaceReaderTest, MalformedNamesAreCountedAndSkipped)
{
    TempDir dir;
    for (const char* name : {"25_0_1_20170116174525125.jpg.chip.jpg", "61_1_20170109142408075.jpg.chip.jpg",
                             "39_1_20170116174525125.jpg.chip.jpg", "x_0_1_20170116174525125.jpg.chip.jpg",
                             "24_0_1_2017011617452512.jpg.chip.jpg", "30_2_1_20170116174525125.jpg.chip.jpg",
                             "40_1_3_20170116174525125.jpg.chip.jpg"})
        test::writeBytes(dir / name, "x");
    const LoadedDataset data = readUtkFace(dir.path());
    EXPECT_EQ(data.records.size(), 2u);
    EXPECT_EQ(data.malformed, 5u);
    EXPECT_EQ(data.malformedExamples.size(), 5u);
    EXPECT_THROW(readUtkFace(dir / "missing"), Error);
}

TEST(CsvReaderTest, ReadsPathAgeGenderAndResolvesRelativePaths)
{
    TempDir dir;
    test::writeBytes(dir / "list" / "faces.csv", "id,file,Age,gender,notes\n"
                                                 "1,a.jpg,31,M,x\n"
                                                 "2,sub/b.jpg,,female,\"quoted, with comma\"\n"
                                                 "3,/abs/c.jpg,45,,\n"
                                                 "4,d.jpg,old,F,\n"
                                                 "5,e.jpg,20,X,\n"
                                                 "\n");
    const LoadedDataset data = readCsv(dir / "list" / "faces.csv");
    ASSERT_EQ(data.records.size(), 3u);
    EXPECT_EQ(data.malformed, 2u);
    EXPECT_EQ(data.records[0].path, (dir / "list" / "a.jpg").string());
    EXPECT_EQ(*data.records[0].age, 31);
    EXPECT_EQ(data.records[0].gender, Gender::Male);
    EXPECT_EQ(data.records[1].path, (dir / "list" / "sub" / "b.jpg").string());
    EXPECT_FALSE(data.records[1].age.has_value());
    EXPECT_EQ(data.records[1].gender, Gender::Female);
    EXPECT_EQ(data.records[2].path, "/abs/c.jpg");
    EXPECT_EQ(data.records[2].gender, Gender::Unknown);
}

TEST(CsvReaderTest, APictureListedTwiceIsKeptOnceAndReportedWithBothLines)
{
    // The same file twice with ages 25 and 26 is one face (the first row's), not two; another face
    // of the same photo (the face column) is a face of its own.
    const LoadedDataset data = parseCsv("path,age,face\n"
                                        "a.jpg,25,\n"
                                        "b.jpg,40,\n"
                                        "./a.jpg,26,\n"
                                        "b.jpg,40,2\n",
                                        "/data", "faces.csv");
    ASSERT_EQ(data.records.size(), 3u);
    EXPECT_EQ(data.records[0].path, "/data/a.jpg");
    EXPECT_EQ(*data.records[0].age, 25);
    EXPECT_EQ(data.records[2].faceIndex, 1);
    ASSERT_EQ(data.malformed, 1u);
    ASSERT_EQ(data.malformedExamples.size(), 1u);
    EXPECT_EQ(data.malformedExamples[0],
              "faces.csv:4: ./a.jpg is listed twice (lines 2 and 4): the first, line 2, is kept");
}

TEST(CsvReaderTest, MissingPathColumnIsAClearError)
{
    TempDir dir;
    test::writeBytes(dir / "bad.csv", "name,age\nx,3\n");
    test::writeBytes(dir / "empty.csv", "");
    try {
        readCsv(dir / "bad.csv");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.csv"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("'path'"), std::string::npos);
    }
    EXPECT_THROW(readCsv(dir / "empty.csv"), Error);
    EXPECT_THROW(readCsv(dir / "absent.csv"), Error);
}

TEST(FolderReaderTest, ListsImagesRecursivelyInOrder)
{
    TempDir dir;
    test::writeBytes(dir / "b.jpg", "x");
    test::writeBytes(dir / "a" / "c.PNG", "x");
    test::writeBytes(dir / "notes.txt", "x");
    const LoadedDataset data = readFolder(dir.path());
    ASSERT_EQ(data.records.size(), 2u);
    EXPECT_EQ(data.records[0].path, (dir / "a" / "c.PNG").string());
    EXPECT_FALSE(data.records[0].age.has_value());
    EXPECT_THROW(readFolder(dir / "b.jpg"), Error);
}

TEST(SourceSpecTest, DispatchesAndRejectsUnknownKinds)
{
    TempDir dir;
    test::writeBytes(dir / "x.jpg", "x");
    EXPECT_EQ(openSource("folder:" + dir.path().string()).records.size(), 1u);
    EXPECT_THROW(openSource("zip:" + dir.path().string()), Error);
    EXPECT_THROW(openSource("utkface:"), Error);
    EXPECT_THROW(openSource("demo:abc"), Error);
}
