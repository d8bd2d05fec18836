#include "data/Subsets.h"
#include "data/Record.h"
#include "ErrorOf.h"
#include "TestSupport.h"
#include "util/Error.h"
#include "util/FileUtil.h"

#include <gtest/gtest.h>

using namespace faceatlas;
using faceatlas::test::TempDir;
using faceatlas::test::writeBytes;

namespace {

/** Records at these paths; a "#N" suffix makes the record face N of its photo (recordKey "path#faceN"). */
std::vector<Record> records(const std::vector<std::string>& keys)
{
    std::vector<Record> out;
    for (const std::string& key : keys) {
        Record r;
        const size_t hash = key.find('#');
        r.path = key.substr(0, hash);
        if (hash != std::string::npos)
            r.faceIndex = static_cast<std::int16_t>(std::stoi(key.substr(hash + 1)) - 1);
        out.push_back(r);
    }
    return out;
}

std::vector<char> flags(std::initializer_list<int> values)
{
    return std::vector<char>(values.begin(), values.end());
}

} // namespace

// Saved and read back: the file holds the faces' keys in the selection's order, and they select the
// same faces of the dataset again, the second face of a photo too.
TEST(SubsetsTest, ASavedSubsetSelectsTheSameFacesAgain)
{
    TempDir dir;
    const auto folder = dir / "workspace" / "subsets"; // made by the write
    const std::vector<Record> data = records({"/f/a.jpg", "/f/b.jpg", "/f/c.jpg", "/f/group.jpg#2"});
    const auto file = subsetFile(folder, "left half");
    EXPECT_EQ(file, folder / "left half.json");
    writeSubset(file, "left half", "demo:10", data, {3, 0});
    // The format, exactly: compact JSON with its keys in order, one line.
    EXPECT_EQ(readFile(file), "{\"count\":2,\"name\":\"left half\",\"paths\":[\"/f/group.jpg#face2\",\"/f/a.jpg\"],"
                              "\"source\":\"demo:10\"}\n");
    const SubsetSelection back = readSubset(file, data);
    EXPECT_EQ(back.mask, flags({1, 0, 0, 1}));
    EXPECT_EQ(back.listed, 2u);
    EXPECT_EQ(back.found, 2u);
    EXPECT_EQ(listSubsets(folder), std::vector<std::string>{"left half"});
    // Saved again under the same name: replaced whole.
    writeSubset(file, "left half", "demo:10", data, {1});
    EXPECT_EQ(readSubset(file, data).mask, flags({0, 1, 0, 0}));
}

// Another dataset with some of the faces: those are selected, the rest counted as missing; a path
// listed twice selects its face once.
TEST(SubsetsTest, OnlyTheFacesTheDatasetHoldsAreSelected)
{
    TempDir dir;
    const auto file = dir / "s.json";
    writeBytes(file, R"({"name":"s","source":"x","count":4,"paths":["/f/b.jpg","/gone.jpg","/f/b.jpg","/f/a.jpg"]})");
    const SubsetSelection s = readSubset(file, records({"/f/a.jpg", "/f/b.jpg", "/f/c.jpg"}));
    EXPECT_EQ(s.mask, flags({1, 1, 0}));
    EXPECT_EQ(s.listed, 4u);
    EXPECT_EQ(s.found, 2u);
    // An empty dataset: nothing found, nothing selected.
    const SubsetSelection none = readSubset(file, {});
    EXPECT_TRUE(none.mask.empty());
    EXPECT_EQ(none.found, 0u);
}

// A subset's "count" is not trusted: the list of paths alone decides (a count that disagrees with it,
// or none at all, changes nothing).
TEST(SubsetsTest, TheListOfPathsDecidesNotTheCount)
{
    TempDir dir;
    const std::vector<Record> data = records({"/f/a.jpg", "/f/b.jpg"});
    writeBytes(dir / "big.json", R"({"count":1000000000,"paths":["/f/a.jpg"]})");
    writeBytes(dir / "negative.json", R"({"count":-3,"paths":["/f/b.jpg"]})");
    writeBytes(dir / "none.json", R"({"paths":["/f/a.jpg","/f/b.jpg"]})");
    EXPECT_EQ(readSubset(dir / "big.json", data).mask, flags({1, 0}));
    EXPECT_EQ(readSubset(dir / "negative.json", data).mask, flags({0, 1}));
    EXPECT_EQ(readSubset(dir / "none.json", data).found, 2u);
}

// Hostile files: each refused with an Error naming the file and what is wrong, never a crash.
TEST(SubsetsTest, ABrokenSubsetFileIsRefusedNamingIt)
{
    TempDir dir;
    const std::vector<Record> data = records({"/f/a.jpg"});
    const auto refused = [&](const std::string& name, const std::string& text, const std::string& problem) {
        const auto file = dir / name;
        writeBytes(file, text);
        const std::string e = errorOf([&] { readSubset(file, data); });
        EXPECT_NE(e.find(displayPath(file)), std::string::npos) << name << ": " << e;
        EXPECT_NE(e.find(problem), std::string::npos) << name << ": " << e;
    };
    refused("truncated.json", R"({"paths":["/f/a.jpg")", ": invalid: ");
    refused("empty.json", "", ": invalid: ");
    refused("binary.json", std::string("\0\xff\xfe{", 4), ": invalid: ");
    refused("array.json", R"(["/f/a.jpg"])", ": no list of paths");
    refused("nopaths.json", R"({"name":"x","count":1})", ": no list of paths");
    refused("pathstext.json", R"({"paths":"/f/a.jpg"})", ": no list of paths");
    refused("pathsobject.json", R"({"paths":{"0":"/f/a.jpg"}})", ": no list of paths");
    refused("number.json", R"({"paths":["/f/a.jpg",7]})", ": a path that is not a string");
    refused("null.json", R"({"paths":[null]})", ": a path that is not a string");
    refused("nested.json", R"({"paths":[["/f/a.jpg"]]})", ": a path that is not a string");
    // A subset that is gone (deleted since the list was made) and a folder in a file's place.
    EXPECT_NE(errorOf([&] { readSubset(dir / "missing.json", data); }), "");
    std::filesystem::create_directories(dir / "folder.json");
    EXPECT_NE(errorOf([&] { readSubset(dir / "folder.json", data); }), "");
}

// A subset's name never leaves its folder: a slash, "..", and every other character but letters,
// digits, space, '_', '.' and '-' become '_' (one per character, however many bytes it takes).
TEST(SubsetsTest, ANameBecomesAFileNameInItsFolder)
{
    EXPECT_EQ(subsetFileName("left half"), "left half.json");
    EXPECT_EQ(subsetFileName("a/b"), "a_b.json");
    EXPECT_EQ(subsetFileName("../../etc/passwd"), ".._.._etc_passwd.json");
    EXPECT_EQ(subsetFileName("C:\\temp\\x"), "C__temp_x.json");
    EXPECT_EQ(subsetFileName("  spaced out\t\n"), "spaced out.json");
    EXPECT_EQ(subsetFileName("Zo\xc3\xab and \xe6\x97\xa5\xe6\x9c\xac"), "Zo_ and __.json"); // "Zoë and 日本"
    EXPECT_EQ(subsetFileName("smile \xf0\x9f\x98\x80"), "smile _.json");                     // an emoji: one character
    EXPECT_EQ(subsetFileName("\xc2\xa0no-break\xe3\x80\x80"), "no-break.json"); // Unicode spaces are trimmed too
    EXPECT_EQ(subsetFileName(std::string("nul\0byte", 8)), "nul_byte.json");
    EXPECT_EQ(subsetFileName(std::string(200, 'x')), std::string(80, 'x') + ".json");
    TempDir dir;
    const auto folder = dir / "subsets";
    for (const std::string name : {"a/b", "../escape", "/absolute", ".."}) {
        const auto file = subsetFile(folder, name);
        EXPECT_EQ(file.parent_path(), folder) << name;
        writeSubset(file, name, "demo:1", records({"/f/a.jpg"}), {0});
        EXPECT_TRUE(std::filesystem::is_regular_file(file)) << name;
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "escape.json"));
    EXPECT_FALSE(std::filesystem::exists(dir.path().parent_path() / "escape.json"));
}

// The list: regular files ending in ".json" in any case, by file name; hidden files, other files
// and folders left out; a folder that does not exist lists none.
TEST(SubsetsTest, TheListHoldsTheSubsetFilesByName)
{
    TempDir dir;
    const auto folder = dir / "subsets";
    EXPECT_TRUE(listSubsets(folder).empty());
    for (const std::string file :
         {"b.json", "a.json", "a-b.json", "UPPER.JSON", "two.dots.json", ".hidden.json", "notes.txt", "json", ".json~"})
        writeBytes(folder / file, "{}");
    std::filesystem::create_directories(folder / "dir.json");
    // By file name: "a-b.json" sorts before "a.json" ('-' before '.').
    EXPECT_EQ(listSubsets(folder), (std::vector<std::string>{"UPPER", "a-b", "a", "b", "two.dots"}));
    // In UTF-16's order: an emoji (beyond U+FFFF) before a fullwidth letter (U+FF41), though UTF-8's
    // bytes order them the other way.
    writeBytes(folder / "\xef\xbd\x81.json", "{}");
    writeBytes(folder / "\xf0\x9f\x98\x80.json", "{}");
    EXPECT_EQ(listSubsets(folder),
              (std::vector<std::string>{"UPPER", "a-b", "a", "b", "two.dots", "\xf0\x9f\x98\x80", "\xef\xbd\x81"}));
}
