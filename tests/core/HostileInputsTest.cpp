// Readers that distrust their input: every case here once crashed, hung, read out of bounds or
// allocated gigabytes (see tests/data/regressions/, copied from the hostile inputs found on
// 2026-11-29), and must now give one clear Error or a malformed row with its reason.
#include "data/ImageIO.h"
#include "data/MatFile.h"
#include "data/PreparedDataset.h"
#include "data/Readers.h"
#include "data/RecordCache.h"
#include "ErrorOf.h"
#include "MatBytes.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Json.h"
#include "util/MappedFile.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <gtest/gtest.h>
#include <limits>
#include <opencv2/imgcodecs.hpp>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace faceatlas;
using faceatlas::test::TempDir;
namespace mat = faceatlas::test::mat;

namespace {

std::filesystem::path regression(const std::string& name)
{
    return std::filesystem::path(FACEATLAS_TEST_DATA) / "regressions" / name;
}

std::string parseError(const std::string& variables)
{
    return errorOf([&] { parseMat5(mat::file(variables), "test.mat"); });
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

/** A prepared folder with `n` records of size x size images and the given manifest `size` text. */
void writePrepared(const std::filesystem::path& dir, size_t n, int size, const std::string& sizeText)
{
    std::filesystem::create_directories(dir);
    test::writeBytes(dir / "prepared.json", R"({"format": "faceatlas-prepared", "size": )" + sizeText
                                                + R"(, "source": "x", "normalization": {"mean": [0.5, 0.5, 0.5], )"
                                                  R"("std": [0.2, 0.2, 0.2]}})");
    std::vector<Record> records(n);
    test::writeBytes(dir / "records.bin", RecordCache::serialize(records));
    test::writeBytes(dir / "images.u8", std::string(n * static_cast<size_t>(size) * size * 3, '\x7f'));
    std::vector<std::uint32_t> train;
    for (std::uint32_t i = 0; i < n; ++i)
        train.push_back(i);
    PreparedDataset::writeSplit(dir / "split.bin", train, {});
}

bool underAddressSanitizer()
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#endif
#endif
    return false;
}

} // namespace

// --- MAT-files ------------------------------------------------------------------------------------

TEST(HostileMatTest, NumericDimensionsMustMatchTheData)
{
    // dims say 1x1000, the data holds 3 doubles: reading record 999 would be out of bounds.
    const std::string e = parseError(mat::doubles({1, 2, 3}, {1, 1000}, "dob"));
    EXPECT_TRUE(contains(e, "test.mat") && contains(e, "3 values") && contains(e, "1000")) << e;
    EXPECT_EQ(parseError(mat::doubles({1, 2, 3}, {1, 3}, "dob")), "");
}

TEST(HostileMatTest, CellCountIsBoundedByTheBytesLeft)
{
    // A cell claiming a million elements in a few bytes must not reserve a million MatArrays.
    const std::string e = parseError(mat::matrix(mat::CELL, {1000, 1000}, "c", mat::text("a")));
    EXPECT_TRUE(contains(e, "1000000 elements") && contains(e, "do not match")) << e;
}

TEST(HostileMatTest, ArraysPerFileAreBoundedWhateverTheCompression)
{
    // Empty cell elements take 8 bytes of (inflated) file each but a MatArray each in memory: a
    // compressed variable of incompressible text beside 300,000 of them would once have built them all.
    std::string junk(1 << 17, '\0');
    std::uint64_t state = 12345;
    for (char& c : junk)
        c = static_cast<char>((state = state * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
    std::vector<std::string> elements(300000, mat::element(mat::MATRIX, ""));
    elements.insert(elements.begin(), mat::text(junk));
    const std::string e = parseError(mat::compressed(mat::cell(elements, "c")));
    EXPECT_TRUE(contains(e, "arrays for a file of this size")) << "[" << e << "]";
    // The same number of arrays in a file big enough to hold them as data is fine.
    std::vector<std::string> fewer(1000, mat::element(mat::MATRIX, ""));
    EXPECT_NO_THROW(parseMat5(mat::file(mat::compressed(mat::cell(fewer, "c"))), "ok.mat"));
}

TEST(HostileMatTest, DimensionProductOverflowIsAnError)
{
    const std::string e = parseError(mat::matrix(mat::CELL, {65536, 65536, 65536, 65536}, "c", ""));
    EXPECT_TRUE(contains(e, "overflow")) << e;
}

TEST(HostileMatTest, NegativeNanFractionalAndHugeDimensionsAreRejected)
{
    for (double bad : {-1.0, std::nan(""), 1.5, 1e300, -1e300, 4294967296.0}) {
        const std::string dims = mat::element(mat::DOUBLE, mat::raw(std::vector<double>{1, bad}));
        const std::string e = parseError(mat::matrixWithDims(mat::DOUBLE_CLASS, dims, "x", ""));
        EXPECT_TRUE(contains(e, "invalid array dimension")) << bad << ": " << e;
    }
    // ub/mat-dims-float-cast.mat: fractional dims once went through an undefined float-to-int cast.
    EXPECT_THROW(readMatFile(regression("ub-mat-dims-float-cast.mat")), Error);
}

TEST(HostileMatTest, DeepNestingIsAnErrorNotAStackOverflow)
{
    std::string nested = mat::doubles({1});
    for (int i = 0; i < 40; ++i)
        nested = mat::cell({nested});
    EXPECT_TRUE(contains(parseError(nested), "nested more than 32 levels")) << parseError(nested);
    std::string shallow = mat::doubles({1});
    for (int i = 0; i < 30; ++i)
        shallow = mat::cell({shallow});
    EXPECT_EQ(parseError(shallow), "");
    // 20,000 nested cells (compressed): SIGSEGV from recursion before the limit.
    const std::string e = errorOf([] { readMatFile(regression("mat-deep-cells-20000-compressed.mat")); });
    EXPECT_TRUE(contains(e, "nested")) << e;
}

TEST(HostileMatTest, CompressedBombIsRefusedBeforeItInflates)
{
    // 16 MB of zeros compress to ~16 KB (1000:1); the limit is 64:1.
    const std::string zeros(16 << 20, '\0');
    const std::string bomb = mat::compressed(mat::matrix(6, {1, 16 << 20}, "z", mat::element(mat::INT8, zeros)));
    ASSERT_LT(bomb.size(), 100000u);
    const std::string e = parseError(bomb);
    EXPECT_TRUE(contains(e, "inflates to more than")) << e;
    // Text compresses far less: a compressed struct of 2000 records still loads.
    std::vector<double> dob(2000, 730000), year(2000, 2010);
    EXPECT_EQ(parseError(mat::compressed(mat::wiki(dob, year))), "");
}

TEST(HostileMatTest, StructFieldNameLengthIsChecked)
{
    for (std::int32_t length : {0, -5, 1 << 30}) {
        const std::string body =
            mat::element(mat::INT32, mat::raw(std::vector<std::int32_t>{length})) + mat::element(mat::INT8, "abcd");
        const std::string e = parseError(mat::matrix(mat::STRUCT, {1, 1}, "s", body));
        EXPECT_TRUE(contains(e, "field name length")) << length << ": " << e;
    }
}

TEST(HostileMatTest, V73FilesAreRefusedWithAMessageInsteadOfReachingHdf5)
{
    const std::string e = errorOf([] { readMatFile(regression("matio-hdf5-hang.mat")); });
    EXPECT_TRUE(contains(e, "hdf5-hang.mat") && contains(e, "v7.3 (HDF5)") && contains(e, "save -v7")) << e;
}

TEST(HostileMatTest, FindingsWithShortFieldsGiveAnError)
{
    // Each once read past the end of a field array (ASan) or returned records made of garbage.
    for (const char* name : {"mat-decode-dob-no-data.mat", "mat-decode-dob-short.mat", "mat-decode-oob-2M.mat",
                             "mat-fuzz-decode-numbers-short.mat"}) {
        const std::string e = errorOf([&] { readImdbWiki(regression(name), /*useCache=*/false); });
        EXPECT_TRUE(contains(e, name)) << name << ": " << e;
    }
    for (const char* name : {"mat-ok-wiki-3.mat", "mat-ok-wiki-3-compressed.mat"})
        EXPECT_EQ(readImdbWiki(regression(name), false).records.size(), 3u) << name;
}

// --- IMDB-WIKI values ---------------------------------------------------------------------------

TEST(HostileImdbWikiTest, OutOfRangeDatesMakeTheRecordMalformed)
{
    const double nan = std::nan("");
    const auto variables = parseMat5(
        mat::file(mat::wiki({730000, 1e300, nan, 730000, -1e300, 730000}, {2010, 2010, 2010, 1e300, 2010, nan})),
        "wiki.mat");
    const LoadedDataset data = imdbWikiFromMat(variables, "/data", "wiki.mat");
    ASSERT_EQ(data.records.size(), 1u);
    EXPECT_EQ(data.malformed, 5u);
    ASSERT_FALSE(data.malformedExamples.empty());
    EXPECT_TRUE(contains(data.malformedExamples[0], "record 2") && contains(data.malformedExamples[0], "out of range"))
        << data.malformedExamples[0];
    ASSERT_TRUE(data.records[0].age.has_value());
    EXPECT_EQ(*data.records[0].age, imdbWikiAge(730000, 2010));
}

TEST(HostileImdbWikiTest, FieldsOfDifferentLengthsAreAnError)
{
    // dob holds 2 dates, photo_taken and full_path 3 entries.
    const std::string root =
        mat::structure("wiki", {{"dob", mat::doubles({730000, 730000})},
                                {"photo_taken", mat::doubles({2010, 2010, 2010})},
                                {"full_path", mat::cell({mat::text("a"), mat::text("b"), mat::text("c")})}});
    const auto variables = parseMat5(mat::file(root), "w.mat");
    const std::string e = errorOf([&] { imdbWikiFromMat(variables, "/d", "w.mat"); });
    EXPECT_TRUE(contains(e, "w.mat") && contains(e, "'photo_taken' has 3 entries, expected 2")) << e;
}

TEST(HostileImdbWikiTest, Dob1e300FindingLoadsWithoutUndefinedCasts)
{
    const LoadedDataset data = readImdbWiki(regression("ub-mat-dob-1e300.mat"), false);
    EXPECT_GT(data.malformed, 0u);
    for (const auto& r : data.records) {
        if (r.age) {
            EXPECT_LT(std::abs(*r.age), 100000) << r.path;
        }
    }
}

// --- CSV, UTKFace, special files -----------------------------------------------------------------

TEST(HostileCsvTest, AgesMustBeDecimalNumbersFrom0To116)
{
    // One picture per row (a picture listed twice is one face: FileReadersTest covers that).
    const LoadedDataset data = readCsv(regression("csv-ages.csv"));
    std::vector<int> ages;
    for (const auto& r : data.records)
        ages.push_back(r.age.value_or(-1));
    // 30, 1e2, +7, " 12 " and 30.9 are ages; -5, nan, NaN, inf, -inf, 1e10, -1e10, 0x1A, 12abc,
    // 1e400, 2147483648 and -0.5 are not.
    EXPECT_EQ(ages, (std::vector<int>{30, 100, 7, 12, 30}));
    EXPECT_EQ(data.malformed, 12u);
    for (const auto& example : data.malformedExamples)
        EXPECT_TRUE(contains(example, "is not a number") || contains(example, "is outside 0-116")) << example;
    int age = 0;
    std::string problem;
    EXPECT_FALSE(parseAge("200", age, problem));
    EXPECT_TRUE(contains(problem, "outside")) << problem;
    EXPECT_TRUE(parseAge("116", age, problem));
    EXPECT_EQ(age, 116);
}

TEST(HostileCsvTest, NulBytesQuotesAndLineBreaksAreMalformedRows)
{
    const LoadedDataset nul = readCsv(regression("csv-nul.csv"));
    EXPECT_TRUE(nul.records.empty());
    ASSERT_EQ(nul.malformed, 1u);
    EXPECT_TRUE(contains(nul.malformedExamples[0], "NUL")) << nul.malformedExamples[0];
    const LoadedDataset quotes = readCsv(regression("csv-quotes.csv"));
    EXPECT_EQ(quotes.records.size(), 2u);
    EXPECT_EQ(quotes.malformed, 1u);
    // A quoted line break is part of the field (a file name with a line break, as export writes it:
    // finding F19), and the next row reads.
    const LoadedDataset newline = readCsv(regression("csv-embedded-newline.csv"));
    ASSERT_EQ(newline.records.size(), 2u);
    EXPECT_EQ(newline.malformed, 0u);
    EXPECT_TRUE(contains(newline.records[0].path, "first\nsecond.jpg")) << newline.records[0].path;
}

TEST(HostileFileTest, FifosDevicesAndFoldersAreRefusedWithoutBlocking)
{
    TempDir dir;
    ASSERT_EQ(::mkfifo((dir / "fifo.csv").c_str(), 0600), 0);
    std::filesystem::create_directories(dir / "folder.jpg");
    std::filesystem::create_symlink("loop.jpg", dir / "loop.jpg");
    const std::string fifo = errorOf([&] { readCsv(dir / "fifo.csv"); });
    EXPECT_TRUE(contains(fifo, "fifo.csv") && contains(fifo, "FIFO")) << fifo;
    EXPECT_TRUE(contains(errorOf([&] { readFile(dir / "fifo.csv"); }), "not a regular file"));
    EXPECT_TRUE(contains(errorOf([&] { MappedFile::openReadOnly(dir / "fifo.csv"); }), "FIFO"));
    EXPECT_TRUE(contains(errorOf([] { readFile("/dev/zero"); }), "character device"));
    EXPECT_TRUE(contains(errorOf([&] { MappedFile::openReadOnly(dir / "folder.jpg"); }), "folder"));
    EXPECT_THROW(readFile(dir / "loop.jpg"), Error);

    for (const auto& path : {(dir / "fifo.csv").string(), std::string("/dev/zero"), (dir / "folder.jpg").string()}) {
        const ImageProbe probe = probeImage(path);
        EXPECT_FALSE(probe.ok) << path;
        EXPECT_TRUE(contains(probe.problem, "not a regular file")) << path << ": " << probe.problem;
    }
    const ImageProbe loop = probeImage((dir / "loop.jpg").string());
    EXPECT_FALSE(loop.ok);
    EXPECT_TRUE(contains(loop.problem, "symbolic links")) << loop.problem;
}

TEST(HostileUtkFaceTest, OddNamesAreMalformedWithAReason)
{
    int age = -1;
    Gender gender = Gender::Unknown;
    std::string problem;
    for (const char* bad : {"999_1_4_20170116174525125.jpg.chip.jpg", "1000_0_0_20170116174525125.jpg.chip.jpg",
                            "25__0_20170116174525125.jpg", "25_0_0_2017011617452512.jpg",
                            "25_0_0_20170116174525125\xff.jpg", "25_0_0_20170116174525125_1_2_3.jpg", "", "_"}) {
        EXPECT_FALSE(parseUtkFaceName(bad, age, gender, problem)) << bad;
        EXPECT_FALSE(problem.empty()) << bad;
    }
    EXPECT_FALSE(parseUtkFaceName("999_1_4_20170116174525125.jpg.chip.jpg", age, gender, problem));
    EXPECT_TRUE(contains(problem, "over 116")) << problem;
    ASSERT_TRUE(parseUtkFaceName("0_0_0_00000000000000000.JPG", age, gender, problem)) << problem;
    EXPECT_EQ(age, 0);
    ASSERT_TRUE(parseUtkFaceName("116_1_4_20170116174525125.png", age, gender, problem)) << problem;
    EXPECT_EQ(age, 116);
    EXPECT_EQ(gender, Gender::Female);
}

TEST(HostileSpecTest, TildeStartsInHome)
{
    TempDir dir;
    test::writeBytes(dir / "faces" / "x.csv", "path,age\na.jpg,30\n");
    test::writeBytes(dir / "utk" / "25_0_0_20170116174525125.jpg.chip.jpg", "x");
    const std::string oldHome = std::getenv("HOME") ? std::getenv("HOME") : "";
    ::setenv("HOME", dir.path().c_str(), 1);
    LoadedDataset csv, utk;
    std::string error;
    try {
        csv = openSource("csv:~/faces/x.csv");
        utk = openSource("utkface:~/utk");
    } catch (const Error& e) {
        error = e.what();
    }
    ::setenv("HOME", oldHome.c_str(), 1);
    ASSERT_EQ(error, "");
    ASSERT_EQ(csv.records.size(), 1u);
    EXPECT_EQ(csv.records[0].path, (dir / "faces" / "a.jpg").string());
    EXPECT_EQ(csv.spec, "csv:~/faces/x.csv");
    EXPECT_EQ(utk.records.size(), 1u);
    // "~user" is not expanded (no user lookup): it stays a relative name.
    EXPECT_THROW(openSource("csv:~nobody-here/x.csv"), Error);
}

// --- Images --------------------------------------------------------------------------------------

TEST(HostileImageTest, HeaderBombsAreRefusedBeforeDecoding)
{
    std::vector<std::uint8_t> out(32 * 32 * 3);
    for (const char* name : {"img-bomb-100000x100000-header-only.png", "img-jpeg-65500x65500-header.jpg"}) {
        const ImageProbe probe = probeImage(regression(name).string());
        EXPECT_FALSE(probe.ok) << name;
        EXPECT_TRUE(contains(probe.problem, "over the limit")) << name << ": " << probe.problem;
        std::string problem;
        EXPECT_FALSE(decodeSquareRgb(readFile(regression(name)), 32, out.data(), problem)) << name;
        EXPECT_TRUE(contains(problem, "over the limit")) << name << ": " << problem;
    }
    // A real 8000x8000 grey PNG (64 megapixels, 64 KB): refused, not decoded into 192 MB.
    std::vector<uchar> png;
    cv::imencode(".png", cv::Mat(8000, 8000, CV_8UC1, cv::Scalar(0)), png);
    const std::string bomb(png.begin(), png.end());
    std::string problem;
    EXPECT_FALSE(decodeSquareRgb(bomb, 32, out.data(), problem));
    EXPECT_TRUE(contains(problem, "8000x8000")) << problem;
}

TEST(HostileImageTest, HeaderClaimingMoreThanTheFileHoldsIsRefused)
{
    std::vector<uchar> png;
    cv::imencode(".png", cv::Mat(10, 10, CV_8UC3, cv::Scalar(1, 2, 3)), png);
    std::string bytes(png.begin(), png.end());
    // 6000 x 6000 = 36 megapixels (under the limit) claimed by a file of ~80 bytes.
    const unsigned char size[8] = {0, 0, 0x17, 0x70, 0, 0, 0x17, 0x70};
    bytes.replace(16, 8, reinterpret_cast<const char*>(size), 8);
    int w = 0, h = 0;
    std::string problem;
    EXPECT_FALSE(checkImageHeader(bytes, static_cast<long long>(bytes.size()), w, h, problem));
    EXPECT_TRUE(contains(problem, "more than its")) << problem;
    EXPECT_EQ(w, 6000);
    // The real file's header is fine, and the 1 x 2,000,000 PNG finding is decoded or refused, never fatal.
    EXPECT_TRUE(
        checkImageHeader(std::string(png.begin(), png.end()), static_cast<long long>(png.size()), w, h, problem))
        << problem;
    std::vector<std::uint8_t> out(16 * 16 * 3);
    decodeSquareRgb(readFile(regression("img-huge-w-1x2000000.png")), 16, out.data(), problem);
}

// --- Prepared datasets and record files ------------------------------------------------------------

TEST(HostilePreparedTest, SizeIsValidatedBeforeComputingSizes)
{
    TempDir dir;
    // prepared-size-overflow: size 2^30 made size*size*3*count wrap to 0 and images read from null.
    const std::string overflow = errorOf([] { PreparedDataset::open(regression("prepared-size-overflow")); });
    EXPECT_TRUE(contains(overflow, "prepared.json") && contains(overflow, "1073741824")) << overflow;
    for (const char* size : {"-64", "0", "4", "2048", "1e9", "\"64\"", "64.5", "9223372036854775807"}) {
        writePrepared(dir / "bad", 2, 8, size);
        const std::string e = errorOf([&] { PreparedDataset::open(dir / "bad"); });
        EXPECT_TRUE(contains(e, "image size")) << size << ": " << e;
    }
    writePrepared(dir / "good", 2, 8, "8");
    const PreparedDataset data = PreparedDataset::open(dir / "good");
    EXPECT_EQ(data.count(), 2u);
    EXPECT_EQ(data.image(1)[0], 0x7f);
    EXPECT_THROW(data.image(2), std::out_of_range);
}

TEST(HostilePreparedTest, FifoInPlaceOfADataFileIsAnError)
{
    TempDir dir;
    for (const char* file : {"images.u8", "records.bin", "split.bin", "prepared.json"}) {
        writePrepared(dir / file, 1, 8, "8");
        std::filesystem::remove(dir / file / file);
        ASSERT_EQ(::mkfifo((dir / file / file).c_str(), 0600), 0);
        const std::string e = errorOf([&] { PreparedDataset::open(dir / file); });
        EXPECT_TRUE(contains(e, file) && contains(e, "FIFO")) << file << ": " << e;
    }
}

TEST(HostilePreparedTest, EmptySplitAndImpossibleCountsAreHandled)
{
    TempDir dir;
    // ub/prepared-empty-split-memcpy-null.bin: manifest, records and split with no entries.
    const std::string parts = readFile(regression("ub-prepared-empty-split-memcpy-null.bin"));
    std::vector<std::string> files;
    for (size_t at = 0, next; (next = parts.find("@@SEP@@", at)) != std::string::npos; at = next + 7)
        files.push_back(parts.substr(at, next - at));
    ASSERT_EQ(files.size(), 3u);
    test::writeBytes(dir / "e" / "prepared.json", files[0]);
    test::writeBytes(dir / "e" / "records.bin", files[1]);
    test::writeBytes(dir / "e" / "split.bin", files[2]);
    test::writeBytes(dir / "e" / "images.u8", "");
    const PreparedDataset empty = PreparedDataset::open(dir / "e");
    EXPECT_EQ(empty.count(), 0u);
    EXPECT_TRUE(empty.trainIndices().empty());

    std::vector<std::uint32_t> train, val;
    std::string split = files[2];
    const std::uint64_t huge[2] = {std::uint64_t(1) << 62, std::uint64_t(1) << 62}; // sum * 4 wraps to 0
    split.replace(8, 16, reinterpret_cast<const char*>(huge), 16);
    const std::string e = errorOf([&] { PreparedDataset::parseSplit(split, 10, train, val, "split.bin"); });
    EXPECT_TRUE(contains(e, "split.bin")) << e;
}

TEST(HostilePreparedTest, RecordCountIsCheckedAgainstTheBytesBeforeAllocating)
{
    // records-amplification.py: 20 MB claiming 20 M records once allocated 2.8 GB of Records.
    std::string bytes = "FAREC001";
    const std::uint64_t n = 20u * 1000 * 1000;
    bytes.append(reinterpret_cast<const char*>(&n), 8);
    bytes.resize(n, '\0');
    if (!underAddressSanitizer()) {
        // In a child limited to 1 GB more address space, so that allocating 2.8 GB fails the test
        // (std::bad_alloc, exit 1) instead of succeeding slowly.
        const auto child = [&] {
            rlimit limit{};
            getrlimit(RLIMIT_AS, &limit);
            long pages = 0;
            if (FILE* f = std::fopen("/proc/self/statm", "r")) {
                if (std::fscanf(f, "%ld", &pages) != 1)
                    pages = 0;
                std::fclose(f);
            }
            limit.rlim_cur = static_cast<rlim_t>(pages) * ::sysconf(_SC_PAGESIZE) + (rlim_t(1) << 30);
            setrlimit(RLIMIT_AS, &limit);
            try {
                std::_Exit(RecordCache::deserialize(bytes) ? 2 : 0);
            } catch (const std::bad_alloc&) {
                std::_Exit(1);
            }
        };
        // "threadsafe": the child is a fresh run of this test, not a fork of a process with thread pools.
        GTEST_FLAG_SET(death_test_style, "threadsafe");
        EXPECT_EXIT(child(), ::testing::ExitedWithCode(0), "");
    }
    EXPECT_FALSE(RecordCache::deserialize(bytes));
    // The real thing still round-trips.
    std::vector<Record> records(3);
    records[1].path = "a.jpg";
    records[2].age = 40;
    records[2].faceIndex = 2;
    records[2].yaw = -12.5f;
    const std::string good = RecordCache::serialize(records);
    const auto back = RecordCache::deserialize(good);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->size(), 3u);
    EXPECT_EQ((*back)[1].path, "a.jpg");
    EXPECT_EQ((*back)[2].age, 40);
    EXPECT_EQ((*back)[2].faceIndex, 2);
    EXPECT_EQ((*back)[2].yaw, -12.5f);
    EXPECT_EQ((*back)[1].faceIndex, -1);
    // A face index below -1 is not one of ours.
    std::string bad = good;
    bad[bad.size() - 1] = '\xff';
    bad[bad.size() - 2] = '\xf0';
    EXPECT_FALSE(RecordCache::deserialize(bad));
}

// --- JSON output ---------------------------------------------------------------------------------

TEST(JsonTextTest, InvalidUtf8IsReplacedNotThrown)
{
    const nlohmann::json j = {{"path", "/data/\xe9t\xe9.jpg"}};
    EXPECT_THROW(j.dump(), nlohmann::json::type_error);
    std::string text;
    ASSERT_NO_THROW(text = jsonText(j));
    EXPECT_EQ(text, "{\"path\":\"/data/\xEF\xBF\xBDt\xEF\xBF\xBD.jpg\"}");
    EXPECT_EQ(jsonText(nlohmann::json{{"a", 1}}, 2), "{\n  \"a\": 1\n}");
}
