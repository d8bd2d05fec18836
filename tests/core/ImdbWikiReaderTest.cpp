#include "data/Readers.h"
#include "TestSupport.h"
#include "util/Error.h"

#include <cmath>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

using namespace faceatlas;
using faceatlas::test::TempDir;

namespace {

std::vector<std::string> splitCsv(const std::string& line)
{
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (char c : line) {
        if (c == '"')
            quoted = !quoted;
        else if (c == ',' && !quoted)
            fields.emplace_back();
        else
            fields.back() += c;
    }
    return fields;
}

double parseScore(const std::string& text)
{
    if (text == "nan")
        return std::nan("");
    if (text == "-inf")
        return -INFINITY;
    return std::stod(text);
}

} // namespace

TEST(ImdbWikiReaderTest, RealWikiMatMatchesTheDecodedGoldenRows)
{
    FACEATLAS_REQUIRE_SHARED_DATA("imdb-wiki-meta");
    const auto dir = test::sharedData() / "imdb-wiki-meta";
    const LoadedDataset data = readImdbWiki(dir / "wiki.mat", /*useCache=*/false);
    ASSERT_EQ(data.records.size(), 62328u);
    EXPECT_FALSE(data.fromCache);

    std::ifstream csv(dir / "wiki_first25_decoded.csv");
    ASSERT_TRUE(csv) << "missing " << dir / "wiki_first25_decoded.csv";
    std::string line;
    std::getline(csv, line); // header
    size_t rows = 0;
    while (std::getline(csv, line)) {
        if (!line.empty() && line.back() == '\r') // the file has CRLF line ends
            line.pop_back();
        const auto f = splitCsv(line);
        ASSERT_EQ(f.size(), 11u) << line;
        const size_t i = std::stoul(f[0]);
        const Record& r = data.records.at(i);
        SCOPED_TRACE("row " + f[0]);
        EXPECT_EQ(r.path, (std::filesystem::absolute(dir).lexically_normal() / f[1]).string());
        EXPECT_EQ(r.dob, std::stoi(f[2]));
        EXPECT_EQ(isoDateFromDatenum(r.dob), f[3]);
        EXPECT_EQ(r.photoTaken, std::stoi(f[4]));
        ASSERT_TRUE(r.age.has_value());
        EXPECT_EQ(*r.age, std::stoi(f[5]));
        const Gender g = f[6] == "nan" ? Gender::Unknown : (f[6] == "1" ? Gender::Male : Gender::Female);
        EXPECT_EQ(r.gender, g);
        const double score = parseScore(f[7]), second = parseScore(f[8]);
        if (std::isinf(score))
            EXPECT_TRUE(std::isinf(r.faceScore) && r.faceScore < 0);
        else
            EXPECT_DOUBLE_EQ(r.faceScore, score);
        if (std::isnan(second))
            EXPECT_TRUE(std::isnan(r.secondFaceScore));
        else
            EXPECT_DOUBLE_EQ(r.secondFaceScore, second);
        std::istringstream box(f[9]);
        for (int k = 0; k < 4; ++k) {
            double v;
            box >> v;
            EXPECT_NEAR(r.faceBox[k], v, 5e-5);
        }
        EXPECT_EQ(r.name, f[10]);
        ++rows;
    }
    EXPECT_EQ(rows, 25u);
}

TEST(ImdbWikiReaderTest, RealWikiMatHasTheDocumentedDirt)
{
    FACEATLAS_REQUIRE_SHARED_DATA("imdb-wiki-meta");
    const LoadedDataset data = readImdbWiki(test::sharedData() / "imdb-wiki-meta" / "wiki.mat", false);
    size_t negativeInf = 0, unknownGender = 0, secondFaces = 0;
    for (const auto& r : data.records) {
        negativeInf += std::isinf(r.faceScore) && r.faceScore < 0;
        unknownGender += r.gender == Gender::Unknown;
        secondFaces += !std::isnan(r.secondFaceScore);
    }
    EXPECT_EQ(negativeInf, 18016u);
    EXPECT_EQ(unknownGender, 2643u);
    EXPECT_EQ(secondFaces, 4096u);
}

TEST(ImdbWikiReaderTest, SecondOpenComesFromTheRecordCache)
{
    TempDir dir;
    test::writeImdbLikeMat(dir / "imdb.mat", 500, true);
    const LoadedDataset first = readImdbWiki(dir / "imdb.mat");
    const LoadedDataset second = readImdbWiki(dir / "imdb.mat");
    EXPECT_FALSE(first.fromCache);
    EXPECT_TRUE(second.fromCache);
    ASSERT_EQ(second.records.size(), 500u);
    for (size_t i = 0; i < 500; ++i) {
        EXPECT_EQ(second.records[i].path, first.records[i].path);
        EXPECT_EQ(second.records[i].age, first.records[i].age);
        EXPECT_EQ(second.records[i].name, first.records[i].name);
        EXPECT_EQ(second.records[i].gender, first.records[i].gender);
    }
    EXPECT_EQ(first.records[4].gender, Gender::Unknown);
    EXPECT_EQ(first.records[1].gender, Gender::Male);
    // A changed file is parsed again, never served stale from the cache.
    test::writeImdbLikeMat(dir / "imdb.mat", 300, true);
    const LoadedDataset changed = readImdbWiki(dir / "imdb.mat");
    EXPECT_EQ(changed.records.size(), 300u);
}

TEST(ImdbWikiReaderTest, MissingFieldIsNamed)
{
    TempDir dir;
    // A MAT-file with a struct that lacks the IMDB-WIKI fields.
    test::writeImdbLikeMat(dir / "ok.mat", 3, false);
    std::string bytes;
    {
        std::ifstream in(dir / "ok.mat", std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const auto at = bytes.find("face_score");
    ASSERT_NE(at, std::string::npos);
    bytes.replace(at, 10, "face_scorX");
    test::writeBytes(dir / "bad.mat", bytes);
    try {
        readImdbWiki(dir / "bad.mat", false);
        FAIL() << "must not load without face_score";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("bad.mat"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("'face_score'"), std::string::npos) << e.what();
    }
    EXPECT_THROW(readImdbWiki(dir / "nope.mat"), Error);
}
