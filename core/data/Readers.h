#pragma once

#include "data/Record.h"

#include <filesystem>
#include <string>

namespace faceatlas {

/**
 * Reads IMDB-WIKI metadata (`wiki.mat` / `imdb.mat`); image paths resolve against the .mat's
 * folder. Parsed records are kept in the record cache, so opening the same file again is fast.
 */
LoadedDataset readImdbWiki(const std::filesystem::path& matFile, bool useCache = true);

/** Reads a UTKFace folder: labels from `age_gender_race_datetime.jpg.chip.jpg` names. */
LoadedDataset readUtkFace(const std::filesystem::path& folder);

/** Reads a CSV with a header row: `path` (or `file`) required, `age` and `gender` optional. */
LoadedDataset readCsv(const std::filesystem::path& csvFile);

/** Lists the images of a folder (recursively), with no labels. */
LoadedDataset readFolder(const std::filesystem::path& folder);

/** True for file names with an image extension we decode (.jpg .jpeg .png .bmp .webp .tif .tiff). */
bool hasImageExtension(const std::filesystem::path& path);

/**
 * Opens a dataset from a SPEC: `imdb-wiki:PATH.mat`, `utkface:DIR`, `csv:FILE`, `folder:DIR`,
 * or `demo[:N]` (the built-in synthetic faces, drawn into the cache folder on first use).
 * Throws Error with the file and the problem.
 */
LoadedDataset openSource(const std::string& spec);

} // namespace faceatlas
