#include "data/MatFile.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <cmath>
#include <filesystem>
#include <gtest/gtest.h>

using namespace faceatlas;
using faceatlas::test::TempDir;

namespace {

void expectSameAsWritten(const std::filesystem::path& file, size_t n)
{
    const auto variables = readMatFile(file);
    ASSERT_EQ(variables.size(), 1u);
    const MatArray& root = variables[0];
    EXPECT_EQ(root.name, "imdb");
    ASSERT_EQ(root.kind, MatArray::Kind::Struct);
    ASSERT_EQ(root.fieldNames.size(), 8u);
    const MatArray* dob = root.field("dob");
    const MatArray* path = root.field("full_path");
    const MatArray* name = root.field("name");
    const MatArray* box = root.field("face_location");
    const MatArray* score = root.field("face_score");
    const MatArray* second = root.field("second_face_score");
    ASSERT_TRUE(dob && path && name && box && score && second);
    EXPECT_EQ(root.field("no_such_field"), nullptr);
    ASSERT_EQ(dob->numbers.size(), n);
    ASSERT_EQ(path->elements.size(), n);
    for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ(dob->numbers[i], 700000.0 + i);
        EXPECT_EQ(path->elements[i].text, std::to_string(i % 100) + "/" + std::to_string(i) + "_x.jpg");
        EXPECT_EQ(name->elements[i].text,
                  i % 3 == 0 ? "P\xC3\xA9rson " + std::to_string(i) : "Person " + std::to_string(i));
        ASSERT_EQ(box->elements[i].numbers.size(), 4u);
        EXPECT_EQ(box->elements[i].numbers[0], 1.0 * i);
        EXPECT_EQ(box->elements[i].numbers[3], 4.5);
        if (i % 50 == 0) {
            EXPECT_TRUE(std::isinf(score->numbers[i]) && score->numbers[i] < 0);
        }
        EXPECT_EQ(std::isnan(second->numbers[i]), i % 10 != 0);
    }
}

} // namespace

TEST(MatFileTest, ReadsWhatMatioWroteCompressed)
{
    TempDir dir;
    test::writeImdbLikeMat(dir / "c.mat", 257, /*compressed=*/true);
    expectSameAsWritten(dir / "c.mat", 257);
}

TEST(MatFileTest, ReadsALargeFileWhoseArraysCompressWell)
{
    // 100,000 records are 300,000 arrays in about a megabyte: more arrays than file bytes / 4, the
    // per-file limit that once refused an IMDB-sized file that matio had written.
    TempDir dir;
    test::writeImdbLikeMat(dir / "big.mat", 100000, /*compressed=*/true);
    const auto bytes = std::filesystem::file_size(dir / "big.mat");
    EXPECT_LT(bytes / 4, 300000u) << bytes << " bytes: the file no longer tests what it should";
    expectSameAsWritten(dir / "big.mat", 100000);
}

TEST(MatFileTest, ReadsWhatMatioWroteUncompressedWithUtf8Text)
{
    TempDir dir;
    test::writeImdbLikeMat(dir / "u.mat", 64, /*compressed=*/false, /*utf16Names=*/false);
    expectSameAsWritten(dir / "u.mat", 64);
}

TEST(MatFileTest, TruncatedFileNamesTheFile)
{
    TempDir dir;
    test::writeImdbLikeMat(dir / "t.mat", 100, true);
    std::string bytes = readFile(dir / "t.mat");
    bytes.resize(bytes.size() / 2);
    test::writeBytes(dir / "t.mat", bytes);
    try {
        readMatFile(dir / "t.mat");
        FAIL() << "a truncated file must not load";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("t.mat"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    }
}

TEST(MatFileTest, RejectsFilesThatAreNotMatFiles)
{
    TempDir dir;
    test::writeBytes(dir / "notes.mat", std::string(200, 'x'));
    test::writeBytes(dir / "short.mat", "MATLAB");
    EXPECT_THROW(readMatFile(dir / "notes.mat"), Error);
    EXPECT_THROW(readMatFile(dir / "short.mat"), Error);
    EXPECT_THROW(readMatFile(dir / "missing.mat"), Error);
}
