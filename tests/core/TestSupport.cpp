#include "TestSupport.h"

#include "data/DemoFaces.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <limits>
#include <matio.h>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace faceatlas::test {

TempDir::TempDir()
{
    std::random_device rd;
    m_path = std::filesystem::temp_directory_path()
             / ("faceatlas-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(m_path);
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
}

std::filesystem::path sharedData()
{
    if (const char* dir = std::getenv("FACEATLAS_SHARED_DATA"); dir && *dir)
        return dir;
    return FACEATLAS_SHARED_DATA;
}

std::filesystem::path sharedDataFolder(const std::string& sub)
{
    std::error_code ec;
    const auto folder = sharedData() / sub;
    return std::filesystem::is_directory(folder, ec) ? folder : std::filesystem::path();
}

long deadProcessId()
{
    const pid_t child = ::fork();
    if (child == 0)
        ::_exit(0);
    if (child < 0)
        throw std::runtime_error("fork failed");
    ::waitpid(child, nullptr, 0);
    return child;
}

void writeBytes(const std::filesystem::path& path, const std::string& bytes)
{
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string makeJpeg(int w, int h, int seed, bool gray)
{
    cv::Mat img(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((x * 255 / w + seed * 37) % 256),
                                                static_cast<uchar>((y * 255 / h + seed * 11) % 256),
                                                static_cast<uchar>((x + y + seed) % 256));
    if (gray)
        cv::cvtColor(img, img, cv::COLOR_BGR2GRAY);
    std::vector<uchar> bytes;
    cv::imencode(".jpg", img, bytes, {cv::IMWRITE_JPEG_QUALITY, 95});
    return std::string(bytes.begin(), bytes.end());
}

cv::Mat makeFacePhoto(int w, int h, int seed)
{
    const cv::Mat face = drawDemoFace(demoFace(kDemoSeed, static_cast<std::uint64_t>(seed)), 2 * std::max(w, h));
    cv::Mat photo;
    cv::resize(face, photo, cv::Size(w, h), 0, 0, cv::INTER_AREA);
    cv::rectangle(photo, cv::Rect(0, 0, w / 4, h / 6), cv::Scalar(30, 200, 240), cv::FILLED);
    cv::Mat noise(photo.size(), CV_16SC3), noisy;
    cv::RNG(static_cast<std::uint64_t>(seed) + 1).fill(noise, cv::RNG::NORMAL, 0, 4);
    photo.convertTo(noisy, CV_16SC3);
    noisy += noise;
    noisy.convertTo(photo, CV_8UC3);
    return photo;
}

std::vector<std::uint8_t> referenceSquareRgb(const std::string& bytes, int size)
{
    const cv::Mat bgr =
        cv::imdecode(cv::_InputArray(reinterpret_cast<const uchar*>(bytes.data()), static_cast<int>(bytes.size())),
                     cv::IMREAD_COLOR);
    if (bgr.empty())
        throw std::runtime_error("referenceSquareRgb: cv::imdecode failed");
    std::vector<std::uint8_t> rgb(static_cast<size_t>(size) * size * 3);
    cv::Mat resized, out(size, size, CV_8UC3, rgb.data());
    cv::resize(bgr, resized, cv::Size(size, size), 0, 0, cv::INTER_AREA);
    cv::cvtColor(resized, out, cv::COLOR_BGR2RGB);
    return rgb;
}

double psnr(const std::uint8_t* a, const std::uint8_t* b, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
        const double d = double(a[i]) - double(b[i]);
        sum += d * d;
    }
    return sum == 0 ? std::numeric_limits<double>::infinity() : 10 * std::log10(255.0 * 255.0 * n / sum);
}

namespace {

matvar_t* charVar(const std::string& text, bool utf16)
{
    if (!utf16) {
        size_t dims[2] = {1, text.size()};
        return Mat_VarCreate(nullptr, MAT_C_CHAR, MAT_T_UTF8, 2, dims, const_cast<char*>(text.data()), 0);
    }
    // UTF-16 code units, as MATLAB itself stores char arrays (only BMP characters used here).
    std::vector<std::uint16_t> units;
    for (size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        std::uint32_t cp = c;
        int extra = 0;
        if (c >= 0xE0) {
            cp = c & 0x0F;
            extra = 2;
        } else if (c >= 0xC0) {
            cp = c & 0x1F;
            extra = 1;
        }
        for (int k = 1; k <= extra; ++k)
            cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        units.push_back(static_cast<std::uint16_t>(cp));
        i += 1 + extra;
    }
    size_t dims[2] = {1, units.size()};
    return Mat_VarCreate(nullptr, MAT_C_CHAR, MAT_T_UINT16, 2, dims, units.data(), 0);
}

} // namespace

void writeImdbLikeMat(const std::filesystem::path& path, size_t n, bool compressed, bool utf16Names)
{
    mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
    if (!mat)
        throw std::runtime_error("cannot create " + path.string());
    std::vector<std::int32_t> dob(n);
    std::vector<std::uint16_t> photoTaken(n);
    std::vector<double> gender(n), faceScore(n), secondFaceScore(n);
    size_t dims[2] = {1, n};
    matvar_t* fullPath = Mat_VarCreate("full_path", MAT_C_CELL, MAT_T_CELL, 2, dims, nullptr, 0);
    matvar_t* name = Mat_VarCreate("name", MAT_C_CELL, MAT_T_CELL, 2, dims, nullptr, 0);
    matvar_t* faceLocation = Mat_VarCreate("face_location", MAT_C_CELL, MAT_T_CELL, 2, dims, nullptr, 0);
    for (size_t i = 0; i < n; ++i) {
        dob[i] = static_cast<std::int32_t>(700000 + i);
        photoTaken[i] = static_cast<std::uint16_t>(1990 + i % 30);
        gender[i] = i % 5 == 4 ? std::nan("") : static_cast<double>(i % 2);
        faceScore[i] = i % 50 == 0 ? -std::numeric_limits<double>::infinity() : static_cast<double>(i % 7) - 1.0;
        secondFaceScore[i] = i % 10 == 0 ? 1.5 : std::nan("");
        const std::string file = std::to_string(i % 100) + "/" + std::to_string(i) + "_x.jpg";
        Mat_VarSetCell(fullPath, static_cast<int>(i), charVar(file, false));
        const std::string person = i % 3 == 0 ? "P\xC3\xA9rson " + std::to_string(i) : "Person " + std::to_string(i);
        Mat_VarSetCell(name, static_cast<int>(i), charVar(person, utf16Names));
        double box[4] = {1.0 * i, 2.0, 3.0, 4.5};
        size_t boxDims[2] = {1, 4};
        Mat_VarSetCell(faceLocation, static_cast<int>(i),
                       Mat_VarCreate(nullptr, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, boxDims, box, 0));
    }
    const char* fields[] = {"dob",  "photo_taken",   "full_path",  "gender",
                            "name", "face_location", "face_score", "second_face_score"};
    size_t one[2] = {1, 1};
    matvar_t* root = Mat_VarCreateStruct("imdb", 2, one, fields, 8);
    Mat_VarSetStructFieldByName(root, "dob", 0,
                                Mat_VarCreate(nullptr, MAT_C_INT32, MAT_T_INT32, 2, dims, dob.data(), 0));
    Mat_VarSetStructFieldByName(root, "photo_taken", 0,
                                Mat_VarCreate(nullptr, MAT_C_UINT16, MAT_T_UINT16, 2, dims, photoTaken.data(), 0));
    Mat_VarSetStructFieldByName(root, "full_path", 0, fullPath);
    Mat_VarSetStructFieldByName(root, "gender", 0,
                                Mat_VarCreate(nullptr, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, gender.data(), 0));
    Mat_VarSetStructFieldByName(root, "name", 0, name);
    Mat_VarSetStructFieldByName(root, "face_location", 0, faceLocation);
    Mat_VarSetStructFieldByName(root, "face_score", 0,
                                Mat_VarCreate(nullptr, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, faceScore.data(), 0));
    Mat_VarSetStructFieldByName(root, "second_face_score", 0,
                                Mat_VarCreate(nullptr, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, secondFaceScore.data(), 0));
    const int rc = Mat_VarWrite(mat, root, compressed ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE);
    Mat_VarFree(root);
    Mat_Close(mat);
    if (rc != 0)
        throw std::runtime_error("matio could not write " + path.string());
}

} // namespace faceatlas::test
