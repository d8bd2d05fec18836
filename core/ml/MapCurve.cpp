#include "ml/Projection.h"
#include "util/Error.h"

#include <cmath>
#include <string>
#include <vector>

namespace faceatlas {

MapCurve mapCurve(double minDist, double spread)
{
    if (!(spread > 0) || !(minDist >= 0) || minDist > spread || !std::isfinite(spread))
        throw Error("the map's minimum distance must be between 0 and its spread (" + std::to_string(spread) + "), got "
                    + std::to_string(minDist));
    // Levenberg-Marquardt on the 300 points scipy's curve_fit sees in UMAP, from a = b = 1.
    constexpr int points = 300;
    std::vector<double> xs(points), ys(points);
    for (int i = 0; i < points; ++i) {
        xs[i] = 3 * spread * i / (points - 1);
        ys[i] = xs[i] < minDist ? 1.0 : std::exp(-(xs[i] - minDist) / spread);
    }
    const auto residuals = [&](double a, double b, double* jacobian) {
        double sum = 0;
        for (int i = 0; i < points; ++i) {
            const double u = xs[i] > 0 ? std::pow(xs[i], 2 * b) : 0.0, f = 1 / (1 + a * u), r = f - ys[i];
            sum += r * r;
            if (jacobian) {
                const double g = -f * f * u; // df/da; df/db = g * a * 2 ln x
                const double ja = g, jb = xs[i] > 0 ? g * a * 2 * std::log(xs[i]) : 0.0;
                jacobian[0] += ja * ja, jacobian[1] += ja * jb, jacobian[2] += jb * jb;
                jacobian[3] += ja * r, jacobian[4] += jb * r;
            }
        }
        return sum;
    };
    double a = 1, b = 1, lambda = 1e-3;
    double cost = residuals(a, b, nullptr);
    for (int it = 0; it < 500 && lambda < 1e12; ++it) {
        double j[5] = {0, 0, 0, 0, 0};
        residuals(a, b, j);
        const double m00 = j[0] * (1 + lambda), m11 = j[2] * (1 + lambda), m01 = j[1];
        const double det = m00 * m11 - m01 * m01;
        if (!(std::abs(det) > 0))
            break;
        const double da = -(m11 * j[3] - m01 * j[4]) / det, db = -(m00 * j[4] - m01 * j[3]) / det;
        const double next = (a + da > 0 && b + db > 0) ? residuals(a + da, b + db, nullptr) : cost + 1;
        if (next < cost) {
            const bool converged = cost - next < 1e-14 * std::max(1.0, cost);
            a += da, b += db, cost = next, lambda /= 10;
            if (converged)
                break;
        } else {
            lambda *= 10;
        }
    }
    return {a, b};
}

} // namespace faceatlas
