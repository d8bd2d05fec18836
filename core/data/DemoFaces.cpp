#include "data/DemoFaces.h"

#include "util/Error.h"
#include "util/FileUtil.h"
#include "util/Parallel.h"
#include "util/ProgressThrottle.h"
#include "util/SplitMix.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace faceatlas {

namespace fs = std::filesystem;

namespace {

using Rng = SplitMix;

cv::Scalar mix(const cv::Scalar& a, const cv::Scalar& b, double t)
{
    t = std::clamp(t, 0.0, 1.0);
    return a * (1.0 - t) + b * t;
}

double clamp01(double v)
{
    return std::clamp(v, 0.0, 1.0);
}

/** The image being drawn, and its drawing primitives in coordinates relative to its side (0-1). */
struct Canvas {
    cv::Mat img;
    double S = 0;

    /** A point at (x, y) of the side, in the 4-bit subpixel units the drawing calls take. */
    cv::Point P(double x, double y) const { return cv::Point(cvRound(x * S * 16), cvRound(y * S * 16)); }
    /** A length of `v` sides in subpixel units, at least 1. */
    int L(double v) const { return std::max(1, cvRound(v * S * 16)); }
    /** An antialiased elliptic arc (or filled ellipse) centred at (x, y) with half-axes ax, ay. */
    void ellipse(double x, double y, double ax, double ay, double angle, double a0, double a1, const cv::Scalar& color,
                 int thickness)
    {
        cv::ellipse(img, P(x, y), cv::Size(L(ax), L(ay)), angle, a0, a1, color, thickness, cv::LINE_AA, 4);
    }
    /** An antialiased line from (x0, y0) to (x1, y1), `w` sides thick (at least 1 pixel). */
    void line(double x0, double y0, double x1, double y1, const cv::Scalar& color, double w)
    {
        cv::line(img, P(x0, y0), P(x1, y1), color, std::max(1, cvRound(w * S)), cv::LINE_AA, 4);
    }
};

/** What a face looks like, drawn once from its style seed: placement, proportions and colours. */
struct FaceLook {
    double age = 0;
    bool male = false;
    double cx = 0, cy = 0; // the head's centre
    double k = 1;          // the head's scale
    double child = 0;      // 1 for a small child, 0 from 16
    double older = 0;      // 0 at 25, 1 at 75
    cv::Scalar skin, hair, shirt;
    double grey = 0; // how grey the hair is
    bool longHair = false;
    double faceW = 0, faceH = 0;
    cv::Scalar line0; // wrinkles darken with age
};

/** Where the eyes are and how large, for the brows, glasses and what is drawn around them. */
struct EyeLayout {
    double eyeY = 0, eyeDx = 0, eyeW = 0, eyeH = 0;
};

/** A size x size canvas with the background: a random colour with a vertical gradient. */
Canvas drawBackground(Rng& rng, int size)
{
    Canvas canvas;
    canvas.S = size;
    const cv::Scalar bgTop(rng.uniform(30, 230), rng.uniform(30, 230), rng.uniform(30, 230));
    const cv::Scalar bgBottom = bgTop * rng.uniform(0.5, 1.1);
    canvas.img.create(size, size, CV_8UC3);
    for (int y = 0; y < size; ++y)
        canvas.img.row(y).setTo(mix(bgTop, bgBottom, y / canvas.S));
    return canvas;
}

/** Draws the pose, proportions and colours of a face of `face`'s age and gender. */
FaceLook chooseLook(Rng& rng, const DemoFace& face)
{
    FaceLook look;
    look.age = face.age;
    look.male = face.gender == Gender::Male;
    const double age = look.age;
    // Pose: the head sits off-centre and is scaled; a rotation is applied at the end.
    look.cx = 0.5 + rng.uniform(-0.06, 0.06), look.cy = 0.5 + rng.uniform(-0.04, 0.05);
    look.k = rng.uniform(0.88, 1.08);
    look.child = clamp01((16.0 - age) / 10.0); // rounder face, larger eyes
    look.older = clamp01((age - 25.0) / 50.0); // 0 at 25, 1 at 75
    const double k = look.k, child = look.child, older = look.older;

    static const cv::Scalar skins[] = {
        {190, 215, 245}, {160, 190, 230}, {120, 160, 210}, {90, 125, 175}, {60, 85, 130}};
    cv::Scalar skin = mix(skins[rng.next() % 5], skins[rng.next() % 5], rng.uniform());
    skin = mix(skin, cv::Scalar(150, 160, 175), 0.35 * older); // skin greys and yellows with age
    look.skin = skin;
    static const cv::Scalar hairs[] = {{20, 20, 25}, {30, 45, 70}, {40, 80, 130}, {90, 160, 210}, {30, 60, 150}};
    look.grey = clamp01((age - 32.0) / 30.0) * rng.uniform(0.6, 1.0);
    look.hair = mix(hairs[rng.next() % 5], cv::Scalar(205, 205, 210), look.grey);
    const cv::Scalar shirt(rng.uniform(20, 240), rng.uniform(20, 240), rng.uniform(20, 240));
    look.shirt = shirt;

    look.longHair = look.male ? rng.chance(0.12) : rng.chance(0.8);
    look.faceW = 0.24 * k * (1.0 + 0.06 * older), look.faceH = 0.31 * k * (1.0 - 0.12 * child);
    look.line0 = skin * (0.82 - 0.22 * older); // wrinkles darken with age
    return look;
}

/** Shoulders, neck, long hair behind the head, the face and jaw, the hair on top and the ears. */
void drawHead(Canvas& c, const FaceLook& f, Rng& rng)
{
    const double cx = f.cx, cy = f.cy, k = f.k, older = f.older, faceW = f.faceW, faceH = f.faceH, age = f.age;
    const cv::Scalar &skin = f.skin, &hair = f.hair;
    // Shoulders and neck, long hair behind the head.
    c.ellipse(cx, cy + faceH + 0.28, 0.36 * k, 0.2, 0, 0, 360, f.shirt, cv::FILLED);
    if (f.longHair)
        c.ellipse(cx, cy + 0.08 * k, faceW * 1.3, faceH * 1.35, 0, 0, 360, hair, cv::FILLED);
    cv::rectangle(c.img, c.P(cx - 0.09 * k, cy + faceH * 0.5), c.P(cx + 0.09 * k, cy + faceH + 0.12), skin * 0.85,
                  cv::FILLED, cv::LINE_AA, 4);
    // The face; the jaw widens and sags with age.
    c.ellipse(cx, cy, faceW, faceH, 0, 0, 360, skin, cv::FILLED);
    c.ellipse(cx, cy + faceH * 0.35, faceW * (0.9 + 0.12 * older), faceH * (0.62 + 0.06 * older), 0, 0, 180, skin,
              cv::FILLED);
    // Hair on top; men's hairline recedes with age.
    const double recede = f.male ? clamp01((age - 30.0) / 35.0) * rng.uniform(0.3, 1.0) : 0.0;
    if (recede < 0.85)
        c.ellipse(cx, cy - faceH * (0.45 + 0.25 * recede), faceW * 1.06, faceH * (0.62 - 0.45 * recede), 0, 180, 360,
                  hair, cv::FILLED);
    c.ellipse(cx - faceW, cy - 0.02, 0.03 * k, 0.06 * k, 0, 0, 360, skin * 0.92, cv::FILLED); // ears
    c.ellipse(cx + faceW, cy - 0.02, 0.03 * k, 0.06 * k, 0, 0, 360, skin * 0.92, cv::FILLED);
}

/** Forehead lines: none when young, up to five when old. */
void drawForeheadLines(Canvas& c, const FaceLook& f)
{
    const int foreheadLines = static_cast<int>(std::clamp((f.age - 28.0) / 9.0, 0.0, 5.0));
    for (int i = 0; i < foreheadLines; ++i)
        c.ellipse(f.cx, f.cy - f.faceH * (0.28 + 0.07 * i) + 0.25, f.faceW * 0.6, 0.25, 0, 256, 284, f.line0,
                  c.L(0.004) / 16 + 1);
}

/** Eyes: smaller openings, bags and crow's feet with age; big eyes for children. Returns where they are. */
EyeLayout drawEyes(Canvas& c, const FaceLook& f, Rng& rng)
{
    const double cx = f.cx, cy = f.cy, k = f.k, older = f.older, child = f.child, age = f.age;
    const cv::Scalar &skin = f.skin, &line0 = f.line0;
    EyeLayout e;
    e.eyeY = cy - f.faceH * 0.08, e.eyeDx = f.faceW * 0.42;
    e.eyeW = 0.045 * k * (1.0 + 0.25 * child), e.eyeH = (0.024 - 0.009 * older + 0.008 * child) * k;
    const double eyeY = e.eyeY, eyeW = e.eyeW, eyeH = e.eyeH;
    const cv::Scalar iris(rng.uniform(20, 140), rng.uniform(40, 120), rng.uniform(20, 90));
    for (int side : {-1, 1}) {
        const double ex = cx + side * e.eyeDx;
        c.ellipse(ex, eyeY, eyeW, eyeH, 0, 0, 360, cv::Scalar(235, 235, 235), cv::FILLED);
        c.ellipse(ex, eyeY, eyeH * 0.9, eyeH * 0.9, 0, 0, 360, iris, cv::FILLED);
        c.ellipse(ex, eyeY, eyeH * 0.4, eyeH * 0.4, 0, 0, 360, cv::Scalar(10, 10, 10), cv::FILLED);
        c.ellipse(ex, eyeY, eyeW, eyeH, 0, 180, 360, skin * 0.55, 1 + c.L(0.004) / 16);
        const cv::Scalar brow = mix(f.hair * 0.8, cv::Scalar(190, 190, 190), f.grey * 0.8);
        c.line(ex - eyeW, eyeY - eyeH - 0.03, ex + eyeW, eyeY - eyeH - 0.035 + 0.004 * side, brow, 0.012);
        if (age > 38)
            c.ellipse(ex, eyeY + eyeH + 0.012, eyeW * 0.8, 0.012 + 0.01 * older, 0, 20, 160, line0, 1);
        if (age > 35)
            for (int j = -1; j <= 1; ++j)
                c.line(ex + side * (eyeW + 0.005), eyeY + j * 0.01, ex + side * (eyeW + 0.02 + 0.02 * older),
                       eyeY + j * 0.02, line0, 0.005);
    }
    return e;
}

/** Nose, nasolabial folds, mouth (lips thin with age). */
void drawNoseAndMouth(Canvas& c, const FaceLook& f, const EyeLayout& e)
{
    const double cx = f.cx, cy = f.cy, k = f.k, older = f.older, faceH = f.faceH;
    const cv::Scalar& skin = f.skin;
    c.line(cx, e.eyeY + 0.02, cx - 0.015, cy + faceH * 0.3, skin * 0.75, 0.008);
    c.line(cx - 0.015, cy + faceH * 0.3, cx + 0.02, cy + faceH * 0.32, skin * 0.7, 0.008);
    const double mouthY = cy + faceH * 0.55;
    if (f.age > 30) {
        for (int side : {-1, 1})
            c.line(cx + side * 0.05, cy + faceH * 0.3, cx + side * (0.075 + 0.02 * older), mouthY + 0.02, f.line0,
                   0.004 + 0.006 * older);
    }
    const cv::Scalar lips = mix(cv::Scalar(90, 80, 185), skin * 0.7, older);
    c.ellipse(cx, mouthY, 0.06 * k, (0.018 - 0.012 * older) * k + 0.002, 0, 0, 360, lips, cv::FILLED);
}

/** A beard or stubble (some men), age spots (some of the old) and glasses (some of everyone). */
void drawExtras(Canvas& c, const FaceLook& f, const EyeLayout& e, Rng& rng)
{
    const double cx = f.cx, cy = f.cy, faceW = f.faceW, faceH = f.faceH;
    const cv::Scalar &skin = f.skin, &hair = f.hair;
    if (f.male && rng.chance(0.3)) // beard or stubble greys with the hair
        c.ellipse(cx, cy + faceH * 0.62, faceW * 0.85, faceH * 0.42, 0, 10, 170, hair * 0.9 + skin * 0.1,
                  c.L(0.03) / 16 + 2);
    if (f.age > 55 && rng.chance(0.7)) // age spots
        for (int i = 0; i < 6; ++i)
            c.ellipse(cx + rng.uniform(-faceW, faceW) * 0.8, cy + rng.uniform(-faceH, faceH) * 0.5, 0.006, 0.005, 0, 0,
                      360, skin * 0.7, cv::FILLED);
    if (rng.chance(0.15)) // glasses
        for (int side : {-1, 1})
            c.ellipse(cx + side * e.eyeDx, e.eyeY, e.eyeW * 1.5, e.eyeW * 1.2, 0, 0, 360, cv::Scalar(30, 30, 30), 1);
}

/** Pose rotation, then lighting from one side and a little sensor noise; returns the finished image. */
cv::Mat rotateAndLight(Canvas& c, const FaceLook& f, Rng& rng, std::uint64_t styleSeed)
{
    cv::Mat& img = c.img;
    const double S = c.S;
    const int size = img.rows;
    const double angle = rng.uniform(-10, 10);
    cv::Mat rotation = cv::getRotationMatrix2D(cv::Point2f(float(f.cx * S), float(f.cy * S)), angle, 1.0);
    cv::warpAffine(img, img, rotation, img.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    const double lightA = rng.uniform(0.55, 1.15), lightB = rng.uniform(0.55, 1.15);
    const bool horizontal = rng.chance(0.7);
    cv::Mat light(size, size, CV_32F);
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x)
            light.at<float>(y, x) = static_cast<float>(lightA + (lightB - lightA) * (horizontal ? x : y) / S);
    cv::Mat lit;
    img.convertTo(lit, CV_32FC3);
    cv::Mat light3;
    cv::merge(std::vector<cv::Mat>{light, light, light}, light3);
    lit = lit.mul(light3);
    cv::Mat noise(size, size, CV_32FC3);
    cv::theRNG().state = styleSeed | 1;
    cv::randn(noise, 0.0, 4.0);
    lit += noise;
    lit.convertTo(img, CV_8UC3);
    return img;
}

} // namespace

DemoFace demoFace(std::uint64_t seed, std::uint64_t index)
{
    Rng rng(seed * 0x100000001B3ULL + index * 0x9E3779B97F4A7C15ULL + 17);
    DemoFace face;
    face.age = static_cast<int>(rng.uniform(8, 79.999));
    face.gender = rng.chance(0.5) ? Gender::Male : Gender::Female;
    // Detector-like metadata, so the cleaning steps have something to remove in the demo too.
    face.faceScore = rng.chance(0.06) ? -std::numeric_limits<double>::infinity() : rng.normal(3.4, 1.1);
    if (rng.chance(0.05))
        face.secondFaceScore = rng.uniform(0.5, 3.0);
    face.styleSeed = rng.next();
    return face;
}

cv::Mat drawDemoFace(const DemoFace& face, int size)
{
    // The random draws are taken in this order; every face depends on it, so it must not change.
    Rng rng(face.styleSeed);
    Canvas canvas = drawBackground(rng, size);
    const FaceLook look = chooseLook(rng, face);
    drawHead(canvas, look, rng);
    drawForeheadLines(canvas, look);
    const EyeLayout eyes = drawEyes(canvas, look, rng);
    drawNoseAndMouth(canvas, look, eyes);
    drawExtras(canvas, look, eyes, rng);
    return rotateAndLight(canvas, look, rng, face.styleSeed);
}

LoadedDataset makeDemoDataset(int count, std::uint64_t seed, const fs::path& folder, const CancelToken& cancel,
                              const std::function<void(const JobProgress&)>& onProgress)
{
    if (count < 1)
        throw Error("demo: the face count must be at least 1 (got " + std::to_string(count) + ")");
    LoadedDataset dataset;
    dataset.kind = SourceKind::Demo;
    dataset.location = fs::absolute(folder).lexically_normal().string();
    dataset.records.resize(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
        const DemoFace face = demoFace(seed, static_cast<std::uint64_t>(i));
        Record& r = dataset.records[static_cast<size_t>(i)];
        char name[64];
        std::snprintf(name, sizeof name, "demo_%06d.jpg", i);
        r.path = (fs::path(dataset.location) / name).string();
        r.age = face.age;
        r.gender = face.gender;
        r.faceScore = face.faceScore;
        r.secondFaceScore = face.secondFaceScore;
    }
    const fs::path marker = folder / ".complete";
    if (fs::exists(marker))
        return dataset;
    fs::create_directories(folder);
    std::atomic<long long> done{0};
    ProgressThrottle throttle(onProgress);
    // cv::imwrite runs single-threaded per call; several faces are drawn at once on all cores.
    parallelFor(dataset.records.size(), 0, [&](size_t i) {
        if (cancel.isCancelled())
            return;
        const cv::Mat img = drawDemoFace(demoFace(seed, i), kDemoImageSize);
        std::vector<uchar> jpeg;
        cv::imencode(".jpg", img, jpeg, {cv::IMWRITE_JPEG_QUALITY, 92});
        writeFileAtomic(dataset.records[i].path,
                        std::string_view(reinterpret_cast<const char*>(jpeg.data()), jpeg.size()),
                        /*durable=*/false);
        throttle("drawing demo faces", ++done, count);
    });
    if (cancel.isCancelled())
        return dataset;
    writeFileAtomic(marker, std::to_string(count) + "\n");
    return dataset;
}

} // namespace faceatlas
