#pragma once

#include "data/CsvSource.h" // kMaxAge, parseAge: the csv: rows are read in faceatlas_base
#include "data/Record.h"

#include <filesystem>
#include <string>
#include <vector>

namespace faceatlas {

/**
 * Reads IMDB-WIKI metadata (`wiki.mat` / `imdb.mat`); image paths resolve against the .mat's
 * folder. Parsed records are kept in the record cache, so opening the same file again is fast.
 */
LoadedDataset readImdbWiki(const std::filesystem::path& matFile, bool useCache = true);

/** Reads a UTKFace folder: labels from `age_gender_race_datetime.jpg.chip.jpg` names. */
LoadedDataset readUtkFace(const std::filesystem::path& folder);

/**
 * Labels from one UTKFace file name; false with `problem` set when the name is not
 * age_gender_race_datetime (age 0-116, gender 0/1, race 0-4, 17 date digits).
 */
bool parseUtkFaceName(const std::string& name, int& age, Gender& gender, std::string& problem);

/** Reads a CSV with a header row: `path` (or `file`) required, `age` and `gender` optional. */
LoadedDataset readCsv(const std::filesystem::path& csvFile);

/**
 * Parses CSV text as readCsv does; relative paths resolve against `folder`, `what` names the file
 * in messages. Rows with an age that is not a decimal number from 0 to 116 are malformed, and so is
 * a row repeating an earlier row's picture (and face): the first row is kept, the repeat reported with both lines.
 */
LoadedDataset parseCsv(const std::string& text, const std::filesystem::path& folder, const std::string& what);

struct MatArray;
/**
 * Records from the variables of an IMDB-WIKI MAT-file (the struct `wiki` or `imdb`), as
 * readImdbWiki makes them; image paths resolve against `folder`. Throws Error naming `what`.
 */
LoadedDataset imdbWikiFromMat(const std::vector<MatArray>& variables, const std::filesystem::path& folder,
                              const std::string& what);

/** Lists the images of a folder (recursively), with no labels. */
LoadedDataset readFolder(const std::filesystem::path& folder);

/** True for file names with an image extension we decode (.jpg .jpeg .png .bmp .webp .tif .tiff). */
bool hasImageExtension(const std::filesystem::path& path);

/**
 * Opens a dataset from a SPEC: `imdb-wiki:PATH.mat`, `utkface:DIR`, `csv:FILE`, `folder:DIR`,
 * or `demo[:N]` (the built-in synthetic faces, drawn into the cache folder on first use).
 * A PATH that starts with `~` or `~/` starts in $HOME.
 * Throws Error with the file and the problem.
 */
LoadedDataset openSource(const std::string& spec);

/**
 * The folder a source SPEC reads its files from (a folder source's folder, a CSV's or a MAT-file's
 * folder), without reading anything; empty for the demo. Outputs must never be it nor hold it.
 */
std::filesystem::path sourceFolder(const std::string& spec);

} // namespace faceatlas
